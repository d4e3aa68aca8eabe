"""Monitoring key websites: crawl plans, runs with a persisted frontier, evidence captures,
hits and leads.

A run walks one site's plan. Worker threads fetch (through the address guard, robots.txt and
per-host politeness), extract and identify; the calling thread alone writes the database, one
transaction per finished URL, so a run killed at any moment resumes from its frontier: URLs
done are never fetched again and hits are unique per (URL, work).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import shutil
import tempfile
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlsplit

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..crawl import extract as ex
from ..crawl.fetch import Fetched, Fetcher, FetchError
from ..crawl.robots import Robots
from ..crawl.screenshot import Screenshotter
from ..domain import (
    Capture,
    Conflict,
    Hit,
    HitEvent,
    HitState,
    Identification,
    InvalidInput,
    JianwangError,
    Lead,
    Match,
    NotFound,
    Plan,
    Run,
    RunState,
    Segment,
    format_id,
    parse_id,
)
from ..store.blobs import BlobStore
from ..store.models import (
    CaptureRow,
    FrontierRow,
    HitEventRow,
    HitRow,
    LeadRow,
    PageRow,
    PlanRow,
    RunRow,
    WorkRow,
)
from .sites import Sites

PLAN_FIELDS = (
    "seeds",
    "sitemaps",
    "search_templates",
    "include",
    "exclude",
    "max_depth",
    "max_pages",
    "recrawl_minutes",
    "crawl_delay",
    "concurrency",
    "user_agent",
    "obey_robots",
    "enabled",
)
MAX_CONCURRENCY = 16
MAX_DELAY = 120.0
REMOVED_STATUSES = frozenset({404, 410, 451})
#: finished URLs are written together: at most this many, at most this long after the first
BATCH_MAX = 64
BATCH_SECONDS = 0.1
#: pages remembered per run (response without body) to capture the page behind a media hit
PAGES_REMEMBERED = 5000


def url_key(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime | None) -> datetime | None:
    return t if t is None or t.tzinfo else t.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Limits:
    """What one fetch may cost (from the settings)."""

    media_max_bytes: int
    media_max_seconds: float
    media_deadline: float
    search_titles: int


@dataclass
class Item:
    id: int
    url: str
    kind: str
    depth: int
    found_on: str | None
    etag: str | None = None
    last_modified: str | None = None
    cached_body: str | None = None  # blob of the last 200 body, for a 304
    page_known: bool = False  # the site's crawl_pages has a row for this URL


@dataclass
class Outcome:
    """What a worker learnt about one URL; the run's thread turns it into rows."""

    item: Item
    fetched: Fetched | None = None
    error: str | None = None
    error_kind: str | None = None
    skipped: str | None = None
    media: str = ""
    body_sha256: str | None = None  # in the blob store
    matches: tuple[Match, ...] = ()
    found: list[tuple[str, str, int]] = field(default_factory=list)  # (url, kind, depth)
    leads: list[ex.Lead] = field(default_factory=list)
    screenshot_sha256: str | None = None
    size: int = 0
    #: for a media file or download with a hit: the page that offered it, as fetched
    #: earlier in this run (response without body, body blob, screenshot blob)
    page: tuple[Fetched, str, str | None] | None = None


@dataclass
class Progress:
    """Live counters of a run, passed to the progress callback after every URL."""

    run_id: str
    site: str
    pages: int = 0
    fetched_bytes: int = 0
    hits: int = 0
    leads: int = 0
    errors: int = 0
    skipped: int = 0
    queued: int = 0
    last_url: str = ""


class _Host:
    """Per-host politeness: at most `concurrency` requests at once, starts `delay` apart."""

    def __init__(self, concurrency: int):
        self.sem = threading.Semaphore(concurrency)
        self.lock = threading.Lock()
        self.next_at = 0.0

    @contextlib.contextmanager
    def slot(self, delay: float, stop: threading.Event) -> Iterator[None]:
        with self.sem:
            with self.lock:
                now = time.monotonic()
                start = max(now, self.next_at)
                self.next_at = start + delay
            if start > now and stop.wait(start - now):
                raise _Stopped
            yield


class _Stopped(Exception):
    pass


class Monitor:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        blobs: BlobStore,
        sites: Sites,
        identify_bytes: Callable[[bytes, str], Identification],
        identify_path: Callable[[Path, str], Identification],
        make_fetcher: Callable[[str], Fetcher],
        limits: Limits,
        home: Path,
        screenshotter: Screenshotter | None = None,
    ):
        self.sessions = sessions
        self.blobs = blobs
        self.sites = sites
        self.identify_bytes = identify_bytes
        self.identify_path = identify_path
        self.make_fetcher = make_fetcher
        self.limits = limits
        self.home = home
        self.screenshotter = screenshotter

    # ------------------------------------------------------------ plans

    def set_plan(self, site: str, **changes: Any) -> Plan:
        """Create the site's plan or change the given fields of it."""
        unknown = set(changes) - set(PLAN_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown plan fields: {', '.join(sorted(unknown))}")
        changes = {k: v for k, v in changes.items() if v is not None}
        _validate_plan(changes)
        site_id = self._site_key(site)
        with self.sessions.begin() as s:
            row = s.scalar(select(PlanRow).where(PlanRow.site_id == site_id))
            if row is None:
                row = PlanRow(site_id=site_id)
                for name in PLAN_FIELDS:
                    if name not in changes:
                        setattr(row, name, _default(name))
                s.add(row)
            for name, value in changes.items():
                setattr(row, name, list(value) if isinstance(value, tuple | list) else value)
            if not (row.seeds or row.sitemaps or row.search_templates):
                raise InvalidInput("a plan needs at least one seed, sitemap or search template")
            row.updated_at = _now()
            if row.next_due_at is None:
                row.next_due_at = _now()
            s.flush()
            return _to_plan(row)

    def get_plan(self, site: str) -> Plan:
        site_id = self._site_key(site)
        with self.sessions() as s:
            row = s.scalar(select(PlanRow).where(PlanRow.site_id == site_id))
            if row is None:
                raise NotFound(f"site {format_id('site', site_id)} has no crawl plan")
            return _to_plan(row)

    def list_plans(self) -> list[Plan]:
        with self.sessions() as s:
            rows = s.scalars(select(PlanRow).order_by(PlanRow.site_id)).all()
            return [_to_plan(r) for r in rows]

    def delete_plan(self, site: str) -> None:
        site_id = self._site_key(site)
        with self.sessions.begin() as s:
            row = s.scalar(select(PlanRow).where(PlanRow.site_id == site_id))
            if row is None:
                raise NotFound(f"site {format_id('site', site_id)} has no crawl plan")
            row.enabled = False  # runs keep pointing at it; a disabled plan is never due

    def due_plans(self, now: datetime | None = None) -> list[Plan]:
        now = now or _now()
        with self.sessions() as s:
            rows = s.scalars(
                select(PlanRow)
                .where(PlanRow.enabled.is_(True))
                .where((PlanRow.next_due_at.is_(None)) | (PlanRow.next_due_at <= now))
                .order_by(PlanRow.next_due_at, PlanRow.id)
            ).all()
            return [_to_plan(r) for r in rows]

    # ------------------------------------------------------------ runs

    def runs(self, site: str | None = None, limit: int = 50) -> list[Run]:
        with self.sessions() as s:
            q = select(RunRow).order_by(RunRow.id.desc()).limit(limit)
            if site:
                q = q.where(RunRow.site_id == self._site_key(site))
            return [self._to_run(s, r) for r in s.scalars(q).all()]

    def get_run(self, run_id: str) -> Run:
        with self.sessions() as s:
            row = s.get(RunRow, parse_id("run", run_id))
            if row is None:
                raise NotFound(f"no run {run_id}")
            return self._to_run(s, row)

    def run_urls(
        self, run_id: str, state: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """The run's frontier (URL, kind, depth, state, status, error), errors first."""
        rid = parse_id("run", run_id)
        with self.sessions() as s:
            q = select(FrontierRow).where(FrontierRow.run_id == rid)
            if state:
                q = q.where(FrontierRow.state == state)
            q = q.order_by(FrontierRow.id).limit(limit)
            return [
                {
                    "url": r.url,
                    "kind": r.kind,
                    "depth": r.depth,
                    "state": r.state,
                    "status": r.status,
                    "error": r.error,
                    "size": r.size,
                    "found_on": r.found_on,
                }
                for r in s.scalars(q).all()
            ]

    def run(
        self,
        site: str,
        max_pages: int | None = None,
        trigger: str = "cli",
        progress: Callable[[Progress], None] | None = None,
        stop: threading.Event | None = None,
        fresh: bool = False,
    ) -> Run:
        """Crawl one site under its plan, resuming its unfinished run if there is one
        (unless `fresh`). Ctrl-C (KeyboardInterrupt) or `stop` ends it as interrupted."""
        plan = self.get_plan(site)
        site_id = parse_id("site", plan.site_id)
        locks = self.home / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"site-{site_id}.lock", "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Conflict(
                    f"a run of site {plan.site_id} is already in progress", site=plan.site_id
                ) from None
            crawl = _Crawl(
                self, plan, site_id, max_pages, trigger, progress, stop or threading.Event()
            )
            return crawl.execute(fresh)

    def run_due(
        self,
        progress: Callable[[Progress], None] | None = None,
        stop: threading.Event | None = None,
        on_error: Callable[[Plan, Exception], None] | None = None,
    ) -> list[Run]:
        """Run every due plan once; one site's failure never stops the others."""
        out = []
        for plan in self.due_plans():
            if stop is not None and stop.is_set():
                break
            try:
                out.append(self.run(plan.site_id, trigger="schedule", progress=progress, stop=stop))
            except Conflict:
                continue  # another process is running it
            except Exception as exc:  # recorded, and the others go on
                self._plan_failed(plan)
                if on_error is not None:
                    on_error(plan, exc)
        return out

    def _plan_failed(self, plan: Plan) -> None:
        site_id = parse_id("site", plan.site_id)
        with self.sessions.begin() as s:
            row = s.scalar(select(PlanRow).where(PlanRow.site_id == site_id))
            if row is not None:
                row.next_due_at = _now() + timedelta(minutes=max(5, row.recrawl_minutes // 4))

    def _to_run(self, s: Session, row: RunRow) -> Run:
        queued = s.scalar(
            select(func.count())
            .select_from(FrontierRow)
            .where(FrontierRow.run_id == row.id, FrontierRow.state == "queued")
        )
        return Run(
            id=format_id("run", row.id),
            site_id=format_id("site", row.site_id),
            site_name=row.site.name,
            state=RunState(row.state),
            trigger=row.trigger,
            max_pages=row.max_pages,
            started_at=_aware(row.started_at),  # type: ignore[arg-type]
            finished_at=_aware(row.finished_at),
            pages=row.pages,
            fetched_bytes=row.fetched_bytes,
            hits=row.hits,
            leads=row.leads,
            errors=row.errors,
            skipped=row.skipped,
            resumed=row.resumed,
            queued=int(queued or 0),
            summary=dict(row.summary or {}),
        )

    # ------------------------------------------------------------ hits

    def hits(
        self,
        state: str | None = None,
        site: str | None = None,
        work: str | None = None,
        owner_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Hit]:
        q = select(HitRow).order_by(HitRow.id.desc()).limit(limit).offset(offset)
        q = self._hit_filters(q, state, site, work, owner_id)
        with self.sessions() as s:
            return [_to_hit(r) for r in s.scalars(q).unique().all()]

    def count_hits(
        self,
        state: str | None = None,
        site: str | None = None,
        work: str | None = None,
        owner_id: int | None = None,
    ) -> int:
        q = self._hit_filters(select(func.count()).select_from(HitRow), state, site, work, owner_id)
        with self.sessions() as s:
            return int(s.scalar(q) or 0)

    def _hit_filters(
        self,
        q: Any,
        state: str | None,
        site: str | None,
        work: str | None,
        owner_id: int | None,
    ) -> Any:
        if state:
            q = q.where(HitRow.state == HitState(state).value)
        if site:
            q = q.where(HitRow.site_id == self._site_key(site))
        if work:
            q = q.where(HitRow.work_id == parse_id("work", work))
        if owner_id is not None:
            q = q.join(WorkRow, WorkRow.id == HitRow.work_id).where(WorkRow.owner_id == owner_id)
        return q

    def _site_key(self, site: str) -> int:
        """The database id of a site given by public id or name (NotFound otherwise)."""
        return parse_id("site", self.sites.get(site).id)

    def count_runs(self, site: str | None = None) -> int:
        with self.sessions() as s:
            q = select(func.count()).select_from(RunRow)
            if site:
                q = q.where(RunRow.site_id == self._site_key(site))
            return int(s.scalar(q) or 0)

    def count_run_urls(self, run_id: str, state: str | None = None) -> int:
        with self.sessions() as s:
            q = (
                select(func.count())
                .select_from(FrontierRow)
                .where(FrontierRow.run_id == parse_id("run", run_id))
            )
            if state:
                q = q.where(FrontierRow.state == state)
            return int(s.scalar(q) or 0)

    def count_leads(self, site: str | None = None) -> int:
        with self.sessions() as s:
            q = select(func.count()).select_from(LeadRow)
            if site:
                q = q.where(LeadRow.site_id == self._site_key(site))
            return int(s.scalar(q) or 0)

    def hits_of_capture(self, capture_id: str) -> list[str]:
        """Ids of the hits that point at a capture: found with it, last seen with it, or
        seen again with it (an event)."""
        cid = parse_id("capture", capture_id)
        with self.sessions() as s:
            ids = set(
                s.scalars(
                    select(HitRow.id).where(
                        (HitRow.capture_id == cid) | (HitRow.last_capture_id == cid)
                    )
                )
            )
            ids |= set(s.scalars(select(HitEventRow.hit_id).where(HitEventRow.capture_id == cid)))
        return [format_id("hit", i) for i in sorted(ids)]

    def get_hit(self, hit_id: str, owner_id: int | None = None) -> Hit:
        with self.sessions() as s:
            row = s.get(HitRow, parse_id("hit", hit_id))
            if row is None or (owner_id is not None and row.work.owner_id != owner_id):
                raise NotFound(f"no hit {hit_id}")
            events = s.scalars(
                select(HitEventRow).where(HitEventRow.hit_id == row.id).order_by(HitEventRow.id)
            ).all()
            return _to_hit(row, events)

    def review(self, hit_id: str, verdict: str, reviewer: str, reason: str | None = None) -> Hit:
        """confirm, reject, or reopen (back to new) a hit; each is an event."""
        target = {
            "confirm": HitState.CONFIRMED,
            "reject": HitState.REJECTED,
            "reopen": HitState.NEW,
        }
        if verdict not in target:
            raise InvalidInput(f"unknown review action {verdict!r}: confirm, reject or reopen")
        reason = (reason or "").strip() or None
        if verdict == "reject" and not reason:
            raise InvalidInput("rejecting a hit needs a reason")
        with self.sessions.begin() as s:
            row = s.get(HitRow, parse_id("hit", hit_id), with_for_update=True)
            if row is None:
                raise NotFound(f"no hit {hit_id}")
            new = target[verdict]
            if verdict == "reopen" and row.state == HitState.NEW.value:
                raise Conflict(f"hit {hit_id} is already open")
            if verdict != "reopen" and row.state != HitState.NEW.value:
                raise Conflict(
                    f"hit {hit_id} is already {row.state}; reopen it first", state=row.state
                )
            row.state = new.value
            row.reviewer = reviewer if verdict != "reopen" else None
            row.reason = reason if verdict != "reopen" else None
            row.reviewed_at = _now() if verdict != "reopen" else None
            action = {"confirm": "confirmed", "reject": "rejected", "reopen": "reopened"}[verdict]
            s.add(HitEventRow(hit_id=row.id, actor=reviewer, action=action, reason=reason))
        return self.get_hit(hit_id)

    def get_capture(self, capture_id: str) -> Capture:
        with self.sessions() as s:
            row = s.get(CaptureRow, parse_id("capture", capture_id))
            if row is None:
                raise NotFound(f"no capture {capture_id}")
            return _to_capture(row)

    def verify_capture(self, capture_id: str) -> bool:
        """Whether the capture's body in the blob store still has its recorded SHA-256."""
        cap = self.get_capture(capture_id)
        try:
            path = self.blobs.path(cap.body_sha256)
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        except OSError:
            return False
        return h.hexdigest() == cap.body_sha256

    def leads(self, site: str | None = None, limit: int = 200) -> list[Lead]:
        with self.sessions() as s:
            q = select(LeadRow).order_by(LeadRow.id.desc()).limit(limit)
            if site:
                q = q.where(LeadRow.site_id == self._site_key(site))
            return [
                Lead(
                    id=r.id,
                    site_id=format_id("site", r.site_id),
                    provider=r.provider,
                    url=r.url,
                    code=r.code,
                    page_url=r.page_url,
                    context=r.context,
                    capture_id=format_id("capture", r.capture_id),
                    first_seen_at=_aware(r.first_seen_at),  # type: ignore[arg-type]
                )
                for r in s.scalars(q).all()
            ]

    def search_titles(self) -> list[str]:
        with self.sessions() as s:
            rows = s.scalars(
                select(WorkRow.title)
                .where(WorkRow.status == "active")
                .order_by(WorkRow.id.desc())
                .limit(self.limits.search_titles)
            ).all()
            return list(dict.fromkeys(rows))


# ---------------------------------------------------------------- one run


class _Crawl:
    def __init__(
        self,
        monitor: Monitor,
        plan: Plan,
        site_id: int,
        max_pages: int | None,
        trigger: str,
        progress: Callable[[Progress], None] | None,
        stop: threading.Event,
    ):
        self.m = monitor
        self.plan = plan
        self.site_id = site_id
        self.max_pages = max_pages if max_pages is not None else plan.max_pages
        if self.max_pages < 1:
            raise InvalidInput("--max-pages must be at least 1")
        self.trigger = trigger
        self.progress_cb = progress
        self.stop = stop
        self.include = [re.compile(p) for p in plan.include]
        self.exclude = [re.compile(p) for p in plan.exclude]
        site = monitor.sites.get(plan.site_id)
        self.domains = set(site.domains)
        self.hosts: set[str] = set()
        for u in (*plan.seeds, *plan.sitemaps, *plan.search_templates):
            c = ex.canonical(u.replace("{title}", "x"))
            if c:
                self.hosts.add(urlsplit(c).netloc)  # host[:port], as canonical writes it
        self.host_slots: dict[str, _Host] = {}
        self.host_lock = threading.Lock()
        self.seen: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}
        ua = plan.user_agent or ""
        self.fetcher = monitor.make_fetcher(ua)
        self.agent = self.fetcher.user_agent
        self.robots = Robots(self.fetcher, plan.obey_robots)
        self.tmp = Path(tempfile.mkdtemp(prefix="crawl-", dir=_tmp_root(monitor.home)))
        self.pages_seen: OrderedDict[str, tuple[Fetched, str]] = OrderedDict()
        self.pages_lock = threading.Lock()
        self.page_captures: dict[str, int] = {}  # page URL -> its capture in this run

    # -------------------------------------------------------- set-up

    def execute(self, fresh: bool) -> Run:
        try:
            run_id = self._start(fresh)
            self.run_id = run_id
            self.prog = Progress(format_id("run", run_id), self.plan.site_name)
            self._load_counts()
            state, message = self._loop()
            self._finish(state, message)
        except BaseException:
            if hasattr(self, "run_id"):
                with contextlib.suppress(Exception):
                    self._finish(RunState.INTERRUPTED, "stopped by an error or Ctrl-C")
            raise
        finally:
            self.fetcher.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
        return self.m.get_run(format_id("run", run_id))

    def _start(self, fresh: bool) -> int:
        with self.m.sessions.begin() as s:
            plan_row = s.scalar(select(PlanRow).where(PlanRow.site_id == self.site_id))
            assert plan_row is not None
            open_run = s.scalar(
                select(RunRow)
                .where(RunRow.plan_id == plan_row.id)
                .where(RunRow.state.in_([RunState.RUNNING.value, RunState.INTERRUPTED.value]))
                .order_by(RunRow.id.desc())
            )
            if open_run is not None and fresh:
                open_run.state = RunState.FINISHED.value
                open_run.finished_at = _now()
                open_run.summary = {
                    **(open_run.summary or {}),
                    "message": "abandoned by a fresh run",
                }
                open_run = None
            if open_run is not None:
                open_run.state = RunState.RUNNING.value
                open_run.resumed += 1
                open_run.max_pages = open_run.pages + self.max_pages
                open_run.trigger = self.trigger
                s.flush()
                self.resumed = True
                return open_run.id
            run = RunRow(
                plan_id=plan_row.id,
                site_id=self.site_id,
                state=RunState.RUNNING.value,
                trigger=self.trigger,
                max_pages=self.max_pages,
                summary={},
            )
            s.add(run)
            s.flush()
            self.resumed = False
            seeds: list[tuple[str, str, int]] = []
            for u in self.plan.seeds:
                c = ex.canonical(u)
                if c:
                    seeds.append((c, ex.kind_of(c), 0))
            for u in self.plan.sitemaps:
                c = ex.canonical(u)
                if c:
                    seeds.append((c, "sitemap", 0))
            titles = self.m.search_titles() if self.plan.search_templates else []
            for template in self.plan.search_templates:
                for title in titles:
                    c = ex.canonical(template.replace("{title}", quote(title)))
                    if c:
                        seeds.append((c, "page", 0))
            rows = self._fresh(run.id, seeds, None)
            if rows:
                s.execute(insert(FrontierRow), rows)
            return run.id

    def _load_counts(self) -> None:
        with self.m.sessions() as s:
            run = s.get(RunRow, self.run_id)
            assert run is not None
            self.pages = run.pages
            self.budget = run.max_pages
            self.prog.pages = run.pages
            self.prog.fetched_bytes = run.fetched_bytes
            self.prog.hits = run.hits
            self.prog.leads = run.leads
            self.prog.errors = run.errors
            self.prog.skipped = run.skipped
            summary = dict(run.summary or {})
            self.counts.update(summary.get("counts", {}))
            self.examples = {k: list(v) for k, v in summary.get("examples", {}).items()}
            for key in s.scalars(select(FrontierRow.url_key).where(FrontierRow.run_id == run.id)):
                self.seen.add(key)

    def _queued(self, limit: int) -> list[Item]:
        with self.m.sessions() as s:
            rows = s.scalars(
                select(FrontierRow)
                .where(FrontierRow.run_id == self.run_id, FrontierRow.state == "queued")
                .order_by(FrontierRow.depth, FrontierRow.id)
                .limit(limit)
            ).all()
            items = [Item(r.id, r.url, r.kind, r.depth, r.found_on) for r in rows]
            keys = [url_key(i.url) for i in items if i.kind == "page"]
            if keys:
                pages = {
                    p.url_key: p
                    for p in s.scalars(
                        select(PageRow).where(
                            PageRow.site_id == self.site_id, PageRow.url_key.in_(keys)
                        )
                    )
                }
                for i in items:
                    p = pages.get(url_key(i.url))
                    i.page_known = p is not None
                    if p is not None and p.status == 200 and p.body_sha256:
                        i.etag, i.last_modified, i.cached_body = (
                            p.etag,
                            p.last_modified,
                            p.body_sha256,
                        )
            return items

    # -------------------------------------------------------- the loop

    def _loop(self) -> tuple[RunState, str]:
        workers = max(1, min(MAX_CONCURRENCY, self.plan.concurrency * max(1, len(self.hosts)) + 2))
        inflight: dict[Future[Outcome], Item] = {}
        taken: set[int] = set()  # queued in the database, but in a worker or in `batch`
        pending: list[Item] = []
        batch: list[Outcome] = []
        first_at = 0.0
        exhausted = False

        def flush() -> None:
            # finished URLs are written together, at most BATCH_SECONDS after the first of
            # them finished: one transaction per URL cost more than the crawl's other work
            if batch:
                self._record(batch)
                for o in batch:
                    taken.discard(o.item.id)
                batch.clear()

        pool = ThreadPoolExecutor(workers, thread_name_prefix="crawl")
        try:
            while True:
                if self.stop.is_set():
                    flush()
                    return RunState.INTERRUPTED, "stopped"
                room = workers * 2 - len(inflight)
                if room > 0 and not pending:
                    flush()  # the URLs it found must be in the database to be queued
                    pending = [
                        i for i in self._queued(workers * 4 + len(taken)) if i.id not in taken
                    ]
                while (
                    room > 0 and pending and self.pages + len(batch) + len(inflight) < self.budget
                ):
                    item = pending.pop(0)
                    taken.add(item.id)
                    inflight[pool.submit(self._work, item)] = item
                    room -= 1
                if not inflight:
                    if batch:
                        flush()
                        continue
                    if pending or self._queued(1):
                        exhausted = True
                    break
                timeout = (
                    0.5 if not batch else max(0.0, first_at + BATCH_SECONDS - time.monotonic())
                )
                done, _ = wait(list(inflight), timeout=timeout, return_when=FIRST_COMPLETED)
                for fut in done:
                    item = inflight.pop(fut)
                    try:
                        outcome = fut.result()
                    except _Stopped:
                        taken.discard(item.id)
                        continue
                    except JianwangError as exc:
                        outcome = Outcome(item, error=exc.message, error_kind="error")
                    except Exception as exc:  # a bug on one URL fails that URL
                        outcome = Outcome(
                            item, error=f"{type(exc).__name__}: {exc}", error_kind="bug"
                        )
                    if not batch:
                        first_at = time.monotonic()
                    batch.append(outcome)
                if batch and (
                    len(batch) >= BATCH_MAX or time.monotonic() - first_at >= BATCH_SECONDS
                ):
                    flush()
            if exhausted:
                return (
                    RunState.INTERRUPTED,
                    f"page budget of {self.budget} reached; the next run resumes",
                )
            return RunState.FINISHED, "crawl complete"
        except KeyboardInterrupt:
            self.stop.set()
            with contextlib.suppress(Exception):
                flush()  # what finished before Ctrl-C is kept
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    # -------------------------------------------------------- the worker side

    def _host(self, url: str) -> _Host:
        host = urlsplit(url).netloc
        with self.host_lock:
            h = self.host_slots.get(host)
            if h is None:
                h = self.host_slots[host] = _Host(
                    max(1, min(MAX_CONCURRENCY, self.plan.concurrency))
                )
            return h

    def _work(self, item: Item) -> Outcome:
        if self.stop.is_set():
            raise _Stopped
        out = Outcome(item)
        if self.plan.obey_robots:
            rules = self.robots.rules(item.url)
            if rules.refused:  # the host itself is refused: an error, not a robots skip
                out.error, out.error_kind = rules.problem, "refused"
                return out
            if rules.problem and rules.parser is None and not rules.allow_all:
                out.skipped = "robots"
                out.error = rules.problem
                return out
            if not rules.allowed(item.url, self.agent):
                out.skipped = "robots"
                out.error = "disallowed by robots.txt"
                return out
            delay = min(MAX_DELAY, max(self.plan.crawl_delay, rules.delay(self.agent)))
            if item.depth == 0 and item.kind == "page" and item.found_on is None:
                origin_maps = [(u, "sitemap", 0) for u in rules.sitemaps()]
                out.found.extend(origin_maps)
        else:
            delay = self.plan.crawl_delay
        with self._host(item.url).slot(delay, self.stop):
            try:
                if item.kind == "hls":
                    self._hls(item, out)
                elif item.kind in ("media", "download"):
                    self._file(item, out)
                elif item.kind == "sitemap":
                    self._sitemap(item, out)
                else:
                    self._page(item, out)
            except FetchError as exc:
                out.error, out.error_kind = exc.message, exc.kind
        return out

    def _page(self, item: Item, out: Outcome) -> None:
        cached = bool(item.cached_body) and self.m.blobs.exists(item.cached_body or "")
        got = self.fetcher.fetch(
            item.url,
            etag=item.etag if cached else None,
            last_modified=item.last_modified if cached else None,
            to_file=self.tmp / f"{item.id}.body",
            max_bytes=self.m.limits.media_max_bytes,
            deadline=self.m.limits.media_deadline,
        )
        out.fetched = got
        out.size = got.size
        if got.not_modified and cached:
            if got.path is not None:
                got.path.unlink(missing_ok=True)
                got.path = None
            body = self.m.blobs.get(item.cached_body or "")
        elif got.path is not None:  # not a page after all: a file behind a page-looking URL
            self._identify_file(item, out, got)
            return
        else:
            body = got.body or b""
        if got.not_modified and not cached:
            out.error, out.error_kind = "HTTP 304 without a cached body", "http_3xx"
            return
        if got.status >= 400:
            _http_failed(out, got.status)
            return
        sha, _ = self.m.blobs.put_bytes(body, sync=False)  # synced if it becomes evidence
        out.body_sha256 = sha
        if got.status in (200, 304):
            with self.pages_lock:
                self.pages_seen[item.url] = (replace(got, body=None, path=None), sha)
                while len(self.pages_seen) > PAGES_REMEMBERED:
                    self.pages_seen.popitem(last=False)
        kind_ct = got.content_type
        if kind_ct in ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl"):
            item.kind = "hls"
            self._hls(item, out, playlist=body)
            return
        links = ex.outlinks(body, got.final_url) if _htmlish(kind_ct, body) else ex.Outlinks()
        for u in links.pages:
            out.found.append((u, "page", item.depth + 1))
        for u in links.media:
            out.found.append(
                (u, ex.kind_of(u) if ex.kind_of(u) != "page" else "media", item.depth + 1)
            )
        for u in links.downloads:
            out.found.append((u, "download", item.depth + 1))
        out.leads = links.leads
        try:
            ident = self.m.identify_bytes(body, got.final_url)
        except JianwangError:
            # a page without text (a bare player, an image map) still has its links and media
            out.media = "text"
        else:
            out.media = ident.media.value
            out.matches = ident.matches
        if (out.matches or out.leads) and self.m.screenshotter is not None:
            out.screenshot_sha256 = self.m.screenshotter.take(body, self.m.blobs)

    def _identify_file(self, item: Item, out: Outcome, got: Fetched) -> None:
        assert got.path is not None
        try:
            if got.status >= 400:
                _http_failed(out, got.status)
                return
            ident = self.m.identify_path(got.path, got.final_url)
            out.media = ident.media.value
            out.matches = ident.matches
            if out.matches:
                with open(got.path, "rb") as fh:
                    out.body_sha256, _ = self.m.blobs.put_file(fh)
                self._offering_page(item, out)
        except JianwangError as exc:
            out.error, out.error_kind = exc.message, "media"
        finally:
            got.path.unlink(missing_ok=True)

    def _offering_page(self, item: Item, out: Outcome) -> None:
        """The page a matched file was found on, to be captured beside it (the page is what
        a notice names); known when this run fetched it."""
        if item.kind not in ("media", "hls", "download") or not item.found_on:
            return
        with self.pages_lock:
            seen = self.pages_seen.get(item.found_on)
        if seen is None:
            return
        meta, sha = seen
        shot = None
        if self.m.screenshotter is not None and self.m.blobs.exists(sha):
            shot = self.m.screenshotter.take(self.m.blobs.get(sha), self.m.blobs)
        out.page = (meta, sha, shot)

    def _file(self, item: Item, out: Outcome) -> None:
        path = self.tmp / f"{item.id}.media"
        got = self.fetcher.fetch(
            item.url,
            to_file=path,
            max_bytes=self.m.limits.media_max_bytes,
            deadline=self.m.limits.media_deadline,
            allow_truncated=item.kind == "media",
        )
        out.fetched = got
        out.size = got.size
        if got.path is None:  # a page where a file was expected
            if got.status >= 400:
                _http_failed(out, got.status)
                return
            body = got.body or b""
            if got.content_type in ("application/vnd.apple.mpegurl", "application/x-mpegurl"):
                self._hls(item, out, playlist=body)
                return
            tmp = self.tmp / f"{item.id}.inline"
            tmp.write_bytes(body)
            got.path = tmp
        self._identify_file(item, out, got)

    def _hls(self, item: Item, out: Outcome, playlist: bytes | None = None) -> None:
        lim = self.m.limits
        started = time.monotonic()
        url = item.url
        if playlist is None:
            got = self.fetcher.fetch(url)
            out.fetched = got
            if got.status >= 400:
                _http_failed(out, got.status)
                return
            playlist = got.body or b""
            url = got.final_url
        pl = ex.hls_playlist(playlist.decode("utf-8", "replace"), url)
        if pl.variants and not pl.segments:
            variant = min(pl.variants, key=lambda v: v[1] or 1 << 60)[0]
            sub = self.fetcher.fetch(variant)
            pl = ex.hls_playlist((sub.body or b"").decode("utf-8", "replace"), sub.final_url)
        if pl.encrypted:
            out.error, out.error_kind = "encrypted HLS stream: not fingerprinted", "media"
            return
        if not pl.segments:
            out.error, out.error_kind = "HLS playlist without segments", "media"
            return
        path = self.tmp / f"{item.id}.ts"
        seconds = 0.0
        size = 0
        truncated = False
        h = hashlib.sha256()
        with open(path, "wb") as fh:
            parts = ([(pl.init, 0.0)] if pl.init else []) + pl.segments
            for seg_url, dur in parts:
                if seconds >= lim.media_max_seconds or size >= lim.media_max_bytes:
                    truncated = True
                    break
                if time.monotonic() - started > lim.media_deadline:
                    truncated = True
                    break
                seg = self.fetcher.fetch(
                    seg_url,
                    to_file=self.tmp / f"{item.id}.seg",
                    max_bytes=lim.media_max_bytes - size,
                    deadline=lim.media_deadline,
                )
                if seg.status >= 400:
                    raise FetchError("http", f"HLS segment {seg_url}: HTTP {seg.status}")
                if seg.path is not None:
                    with open(seg.path, "rb") as part:
                        while chunk := part.read(1 << 20):
                            fh.write(chunk)
                            h.update(chunk)
                    seg.path.unlink(missing_ok=True)
                else:
                    fh.write(seg.body or b"")
                    h.update(seg.body or b"")
                size += seg.size
                seconds += dur
        out.size = size + len(playlist)
        if out.fetched is None:
            out.fetched = Fetched(
                url=item.url,
                final_url=url,
                redirects=[],
                status=200,
                headers=[],
                ip="",
                fetched_at=_now(),
            )
        out.fetched = replace(
            out.fetched, size=size, sha256=h.hexdigest(), truncated=truncated, path=path
        )
        self._identify_file(item, out, out.fetched)

    def _sitemap(self, item: Item, out: Outcome) -> None:
        got = self.fetcher.fetch(item.url)
        out.fetched = got
        out.size = got.size
        if got.status >= 400:
            _http_failed(out, got.status)
            return
        try:
            pages, nested = ex.sitemap_urls(got.body or b"")
        except ValueError as exc:
            out.error, out.error_kind = f"{item.url}: {exc}", "sitemap"
            return
        for u in pages:
            c = ex.canonical(u)
            if c:
                out.found.append((c, ex.kind_of(c), item.depth))
        for u in nested:
            c = ex.canonical(u)
            if c:
                out.found.append((c, "sitemap", item.depth))

    # -------------------------------------------------------- the writer side

    def _in_scope(self, url: str, kind: str) -> str | None:
        """None when the URL may be queued, else the reason it is skipped."""
        if any(p.search(url) for p in self.exclude):
            return "excluded"
        if kind in ("page", "sitemap"):
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            on_site = parts.netloc in self.hosts or any(
                host == d or host.endswith("." + d) for d in self.domains
            )
            if not on_site:
                return "off_site"
            if self.include and kind == "page" and not any(p.search(url) for p in self.include):
                return "not_included"
        return None

    def _fresh(
        self, run_id: int, found: Sequence[tuple[str, str, int]], found_on: str | None
    ) -> list[dict[str, Any]]:
        """Frontier rows for the URLs not seen in this run and in scope; skips are counted."""
        rows = []
        for url, kind, depth in found:
            key = url_key(url)
            if key in self.seen:
                continue
            limit = self.plan.max_depth + (1 if kind in ("media", "hls", "download") else 0)
            why = self._in_scope(url, kind)
            if why is None and depth > limit:
                why = "depth"
            if why is not None:
                self._count(f"skipped.{why}", url)
                continue
            self.seen.add(key)
            rows.append(
                {
                    "run_id": run_id,
                    "url_key": key,
                    "url": url,
                    "kind": kind,
                    "depth": depth,
                    "found_on": found_on,
                    "state": "queued",
                    "size": 0,
                }
            )
        return rows

    def _count(self, what: str, example: str) -> None:
        self.counts[what] += 1
        ex_list = self.examples.setdefault(what, [])
        if len(ex_list) < 5 and example not in ex_list:
            ex_list.append(example)

    def _record(self, outcomes: Sequence[Outcome]) -> None:
        """Write what workers finished, in one transaction: until it commits, those URLs are
        still queued (a crash refetches them), after it they are never fetched again."""
        now = _now()
        p = self.prog
        fresh: list[dict[str, Any]] = []
        finished: list[dict[str, Any]] = []
        with self.m.sessions.begin() as s:
            for o in outcomes:
                item = o.item
                f = o.fetched
                if o.skipped:
                    state = "skipped"
                    p.skipped += 1
                    self._count(f"skipped.{o.skipped}", item.url)
                else:
                    self.pages += 1
                    p.pages += 1
                    p.fetched_bytes += o.size
                    if o.error:
                        state = "failed"
                        p.errors += 1
                        said = o.error if item.url in o.error else f"{item.url}: {o.error}"
                        self._count(f"error.{o.error_kind}", said)
                    else:
                        state = "done"
                        self._count(f"fetched.{item.kind}", item.url)
                finished.append(
                    {
                        "row": item.id,
                        "state": state,
                        "error": o.error,
                        "status": f.status if f is not None else None,
                        "size": o.size,
                        "done_at": now,
                    }
                )
                if (
                    f is not None
                    and item.kind == "page"
                    and f.status in (200, 304)
                    and o.body_sha256
                ):
                    self._remember_page(s, item, f, o.body_sha256)
                if f is not None and f.status in REMOVED_STATUSES:
                    self._removed(s, item.url, now)
                if o.matches or o.leads:
                    capture = self._capture(s, o)
                    page_capture = self._page_capture(s, o) if o.page is not None else None
                    p.hits += self._hits(s, o, capture, now, page_capture)
                    p.leads += self._leads(s, o, capture)
                fresh += self._fresh(self.run_id, o.found, item.url)
                p.last_url = item.url
            table = cast(Table, FrontierRow.__table__)
            s.connection().execute(  # one executemany, not an ORM update per URL
                update(table)
                .where(table.c.id == bindparam("row"))
                .values(
                    state=bindparam("state"),
                    error=bindparam("error"),
                    status=bindparam("status"),
                    size=bindparam("size"),
                    done_at=bindparam("done_at"),
                ),
                finished,
            )
            if fresh:
                s.connection().execute(insert(table), fresh)
            s.execute(
                update(RunRow)
                .where(RunRow.id == self.run_id)
                .values(
                    pages=p.pages,
                    fetched_bytes=p.fetched_bytes,
                    hits=p.hits,
                    leads=p.leads,
                    errors=p.errors,
                    skipped=p.skipped,
                    summary={"counts": dict(self.counts), "examples": self.examples},
                )
            )
        if self.progress_cb is not None:
            self.progress_cb(p)

    def _remember_page(self, s: Session, item: Item, f: Fetched, body_sha: str) -> None:
        values: dict[str, Any] = {"status": 200, "fetched_at": f.fetched_at}
        if f.status == 200:
            values.update(
                etag=f.header("etag") or None,
                last_modified=f.header("last-modified") or None,
                body_sha256=body_sha,
            )
        key = url_key(item.url)
        if item.page_known:
            s.execute(
                update(PageRow)
                .where(PageRow.site_id == self.site_id, PageRow.url_key == key)
                .values(**values)
            )
        else:
            s.execute(
                insert(PageRow),
                [{"site_id": self.site_id, "url_key": key, "url": item.url, **values}],
            )

    def _capture(self, s: Session, o: Outcome) -> CaptureRow:
        f = o.fetched
        assert f is not None
        return self._write_capture(
            s,
            o.item.url,
            o.item.found_on,
            f,
            o.media or "file",
            o.body_sha256 or f.sha256,
            o.screenshot_sha256,
        )

    def _page_capture(self, s: Session, o: Outcome) -> int:
        """The capture of the page that offered a matched file (one per page and run)."""
        assert o.page is not None and o.item.found_on is not None
        url = o.item.found_on
        if url not in self.page_captures:
            f, sha, shot = o.page
            self.page_captures[url] = self._write_capture(s, url, None, f, "text", sha, shot).id
        return self.page_captures[url]

    def _write_capture(
        self,
        s: Session,
        url: str,
        found_on: str | None,
        f: Fetched,
        media: str,
        sha: str,
        screenshot: str | None,
    ) -> CaptureRow:
        self.m.blobs.sync(sha)  # evidence is durable before its record is
        cap = CaptureRow(
            site_id=self.site_id,
            run_id=self.run_id,
            url=url,
            final_url=f.final_url,
            found_on=found_on,
            redirects=list(f.redirects),
            fetched_at=f.fetched_at,
            ip=f.ip,
            status=f.status,
            headers=[list(h) for h in f.headers],
            content_type=f.content_type,
            media=media,
            body_sha256=sha,
            body_size=self.m.blobs.path(sha).stat().st_size,  # the body kept (a 304's: cached)
            truncated=f.truncated,
            screenshot_sha256=screenshot,
        )
        s.add(cap)
        s.flush()
        return cap

    def _hits(
        self,
        s: Session,
        o: Outcome,
        cap: CaptureRow,
        now: datetime,
        page_capture: int | None = None,
    ) -> int:
        new = 0
        key = url_key(o.item.url)
        for m in o.matches:
            work_id = parse_id("work", m.work_id)
            segments = [
                {"query": list(g.query), "reference": list(g.reference)} for g in m.segments
            ]
            hit = s.scalar(select(HitRow).where(HitRow.url_key == key, HitRow.work_id == work_id))
            if hit is not None:
                hit.last_seen_at = now
                hit.seen_count += 1
                hit.last_capture_id = cap.id
                if m.score > hit.score:
                    hit.score, hit.verdict, hit.segments = m.score, m.verdict.value, segments
                action = "seen"
                if hit.removed_at is not None:
                    hit.removed_at = None
                    action = "reappeared"
                    if hit.state == HitState.CONFIRMED.value:
                        hit.reupload = True
                s.add(HitEventRow(hit_id=hit.id, actor="monitor", action=action, capture_id=cap.id))
                if page_capture is not None:
                    s.add(
                        HitEventRow(
                            hit_id=hit.id, actor="monitor", action="page", capture_id=page_capture
                        )
                    )
                continue
            reupload = (
                s.scalar(
                    select(func.count())
                    .select_from(HitRow)
                    .where(
                        HitRow.site_id == self.site_id,
                        HitRow.work_id == work_id,
                        HitRow.state == HitState.CONFIRMED.value,
                        HitRow.removed_at.is_not(None),
                    )
                )
                or 0
            ) > 0
            hit = HitRow(
                site_id=self.site_id,
                work_id=work_id,
                capture_id=cap.id,
                last_capture_id=cap.id,
                run_id=self.run_id,
                url_key=key,
                url=o.item.url,
                found_on=o.item.found_on,
                media=o.media or "file",
                member=m.member,
                score=m.score,
                verdict=m.verdict.value,
                method=m.method,
                segments=segments,
                state=HitState.NEW.value,
                reupload=reupload,
                first_seen_at=now,
                last_seen_at=now,
            )
            s.add(hit)
            s.flush()
            s.add(
                HitEventRow(
                    hit_id=hit.id,
                    actor="monitor",
                    action="reupload" if reupload else "found",
                    capture_id=cap.id,
                )
            )
            if page_capture is not None:
                s.add(
                    HitEventRow(
                        hit_id=hit.id, actor="monitor", action="page", capture_id=page_capture
                    )
                )
            new += 1
        return new

    def _leads(self, s: Session, o: Outcome, cap: CaptureRow) -> int:
        new = 0
        for lead in o.leads:
            exists = s.scalar(
                select(LeadRow.id).where(LeadRow.site_id == self.site_id, LeadRow.url == lead.url)
            )
            if exists is not None:
                continue
            s.add(
                LeadRow(
                    site_id=self.site_id,
                    run_id=self.run_id,
                    capture_id=cap.id,
                    page_url=o.item.url,
                    provider=lead.provider,
                    url=lead.url[:1000],
                    code=lead.code,
                    context=lead.context,
                )
            )
            new += 1
        return new

    def _removed(self, s: Session, url: str, now: datetime) -> None:
        rows = s.scalars(
            select(HitRow).where(HitRow.url_key == url_key(url), HitRow.removed_at.is_(None))
        ).all()
        for hit in rows:
            hit.removed_at = now
            s.add(HitEventRow(hit_id=hit.id, actor="monitor", action="removed"))

    def _finish(self, state: RunState, message: str) -> None:
        with self.m.sessions.begin() as s:
            run = s.get(RunRow, self.run_id)
            assert run is not None
            run.state = state.value
            run.finished_at = _now()
            run.summary = {
                **(run.summary or {}),
                "counts": dict(self.counts),
                "examples": self.examples,
                "message": message,
            }
            if state == RunState.FINISHED:
                s.execute(
                    update(PlanRow)
                    .where(PlanRow.id == run.plan_id)
                    .values(
                        last_run_at=run.finished_at,
                        next_due_at=run.finished_at
                        + timedelta(minutes=max(1, self.plan.recrawl_minutes)),
                    )
                )


# ---------------------------------------------------------------- helpers


def _http_failed(out: Outcome, status: int) -> None:
    out.error, out.error_kind = f"HTTP {status}", f"http_{status // 100}xx"


def _tmp_root(home: Path) -> Path:
    root = home / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _htmlish(content_type: str, body: bytes) -> bool:
    if content_type in ("text/html", "application/xhtml+xml"):
        return True
    if content_type and not content_type.startswith("text/"):
        return False
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<a " in body[:65536].lower()


_DEFAULTS: dict[str, Any] = {
    "seeds": [],
    "sitemaps": [],
    "search_templates": [],
    "include": [],
    "exclude": [],
    "max_depth": 3,
    "max_pages": 1000,
    "recrawl_minutes": 1440,
    "crawl_delay": 1.0,
    "concurrency": 2,
    "user_agent": "",
    "obey_robots": True,
    "enabled": True,
}


def _default(name: str) -> Any:
    v = _DEFAULTS[name]
    return list(v) if isinstance(v, list) else v


def _validate_plan(changes: dict[str, Any]) -> None:
    for name in ("seeds", "sitemaps"):
        for u in changes.get(name, ()):
            if ex.canonical(u) is None:
                raise InvalidInput(f"not an http(s) URL in {name}: {u!r}")
    for t in changes.get("search_templates", ()):
        if "{title}" not in t:
            raise InvalidInput(f"a search template needs {{title}}: {t!r}")
        if ex.canonical(t.replace("{title}", "x")) is None:
            raise InvalidInput(f"not an http(s) URL template: {t!r}")
    for name in ("include", "exclude"):
        for p in changes.get(name, ()):
            try:
                re.compile(p)
            except re.error as exc:
                raise InvalidInput(f"bad {name} pattern {p!r}: {exc}") from None
    bounds = {
        "max_depth": (0, 50),
        "max_pages": (1, 10_000_000),
        "recrawl_minutes": (1, 525_600),
        "concurrency": (1, MAX_CONCURRENCY),
    }
    for name, (lo, hi) in bounds.items():
        if name in changes and not lo <= int(changes[name]) <= hi:
            raise InvalidInput(f"{name.replace('_', '-')} must be between {lo} and {hi}")
    if "crawl_delay" in changes and not 0 <= float(changes["crawl_delay"]) <= MAX_DELAY:
        raise InvalidInput(f"crawl-delay must be between 0 and {MAX_DELAY:g} seconds")


def _to_plan(row: PlanRow) -> Plan:
    return Plan(
        site_id=format_id("site", row.site_id),
        site_name=row.site.name,
        seeds=tuple(row.seeds or ()),
        sitemaps=tuple(row.sitemaps or ()),
        search_templates=tuple(row.search_templates or ()),
        include=tuple(row.include or ()),
        exclude=tuple(row.exclude or ()),
        max_depth=row.max_depth,
        max_pages=row.max_pages,
        recrawl_minutes=row.recrawl_minutes,
        crawl_delay=row.crawl_delay,
        concurrency=row.concurrency,
        user_agent=row.user_agent,
        obey_robots=row.obey_robots,
        enabled=row.enabled,
        last_run_at=_aware(row.last_run_at),
        next_due_at=_aware(row.next_due_at),
    )


def _to_capture(row: CaptureRow) -> Capture:
    return Capture(
        id=format_id("capture", row.id),
        site_id=format_id("site", row.site_id) if row.site_id else None,
        run_id=format_id("run", row.run_id) if row.run_id else None,
        url=row.url,
        final_url=row.final_url,
        found_on=row.found_on,
        redirects=tuple(row.redirects or ()),
        fetched_at=_aware(row.fetched_at),  # type: ignore[arg-type]
        ip=row.ip,
        status=row.status,
        headers=tuple((str(k), str(v)) for k, v in row.headers or ()),
        content_type=row.content_type,
        media=row.media,
        body_sha256=row.body_sha256,
        body_size=row.body_size,
        truncated=row.truncated,
        screenshot_sha256=row.screenshot_sha256,
    )


def _to_hit(row: HitRow, events: Sequence[HitEventRow] = ()) -> Hit:
    return Hit(
        id=format_id("hit", row.id),
        site_id=format_id("site", row.site_id) if row.site_id else None,
        site_name=row.site.name if row.site is not None else None,
        work_id=format_id("work", row.work_id),
        title=row.work.title,
        owner=row.work.owner.name,
        url=row.url,
        found_on=row.found_on,
        media=row.media,
        member=row.member,
        score=row.score,
        verdict=row.verdict,
        method=row.method,
        segments=tuple(
            Segment(tuple(g["query"]), tuple(g["reference"])) for g in row.segments or ()
        ),
        state=HitState(row.state),
        reviewer=row.reviewer,
        reason=row.reason,
        reupload=row.reupload,
        removed_at=_aware(row.removed_at),
        first_seen_at=_aware(row.first_seen_at),  # type: ignore[arg-type]
        last_seen_at=_aware(row.last_seen_at),  # type: ignore[arg-type]
        seen_count=row.seen_count,
        capture_id=format_id("capture", row.capture_id),
        last_capture_id=format_id("capture", row.last_capture_id),
        events=tuple(
            HitEvent(
                at=_aware(e.at),  # type: ignore[arg-type]
                actor=e.actor,
                action=e.action,
                reason=e.reason,
                capture_id=format_id("capture", e.capture_id) if e.capture_id else None,
            )
            for e in events
        ),
    )
