"""What the API and the dashboard need of the monitor beyond `services.monitor`: crawls
started in a background thread of the server process, and a few read-only counts and
look-ups the service does not offer yet (totals for paginated lists, the hits that point
at a capture). Everything here is shared by `api` and `dashboard`."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..app import Jianwang
from ..domain import Capture, Conflict, Hit, NotFound, Run, User
from . import policy

log = logging.getLogger("jianwang.web.monitor")

#: how long starting a run waits for the service to create (or resume) its record
START_WAIT_SECONDS = 20.0


class Runner:
    """Crawls started from the API or the dashboard, each in a thread of this process; one
    at a time per site (the service's per-site lock also keeps out a CLI run of the same
    site in another process: its Conflict becomes a 409)."""

    def __init__(self, jw: Jianwang):
        self.jw = jw
        self.lock = threading.Lock()
        self.threads: dict[str, threading.Thread] = {}
        self.stops: dict[str, threading.Event] = {}

    def running(self, site_id: str) -> bool:
        with self.lock:
            t = self.threads.get(site_id)
            return t is not None and t.is_alive()

    def start(self, site: str, max_pages: int | None, trigger: str) -> Run:
        """Start (or resume) a crawl of `site` and return its run as soon as the service
        has recorded it; the crawl goes on in the background."""
        plan = self.jw.monitor.get_plan(site)  # NotFound: no plan
        site_id = plan.site_id
        before = {r.id: r.resumed for r in self.jw.monitor.runs(site_id, limit=5)}
        outcome: dict[str, Any] = {}
        stop = threading.Event()

        def crawl() -> None:
            try:
                outcome["run"] = self.jw.monitor.run(
                    site_id, max_pages=max_pages, trigger=trigger, stop=stop
                )
            except BaseException as exc:  # reported to the caller, or logged
                outcome["error"] = exc
                if not isinstance(exc, Conflict):
                    log.exception("run of site %s failed", site_id)

        with self.lock:
            t = self.threads.get(site_id)
            if t is not None and t.is_alive():
                raise Conflict(f"a run of site {site_id} is already in progress", site=site_id)
            thread = threading.Thread(target=crawl, name=f"run-{site_id}", daemon=True)
            self.threads[site_id] = thread
            self.stops[site_id] = stop
            thread.start()
        deadline = time.monotonic() + START_WAIT_SECONDS
        while True:
            done = not thread.is_alive()
            for r in self.jw.monitor.runs(site_id, limit=5):
                if r.id not in before or r.resumed > before[r.id]:
                    return r
            if done:
                error = outcome.get("error")
                if isinstance(error, Exception):
                    raise error
                run = outcome.get("run")
                if isinstance(run, Run):
                    return run
                raise Conflict(f"the run of site {site_id} ended before it started")
            if time.monotonic() > deadline:
                raise Conflict(f"the run of site {site_id} did not start in time")
            time.sleep(0.02)

    def stop(self, site_id: str, wait: float = 30.0) -> bool:
        """Ask the site's run in this process to stop (it ends as interrupted, resumable)
        and wait for it; False when none runs here."""
        with self.lock:
            t = self.threads.get(site_id)
            e = self.stops.get(site_id)
            if t is None or e is None or not t.is_alive():
                return False
            e.set()
        t.join(wait)
        return True

    def stop_all(self, wait: float = 10.0) -> None:
        """Ask every run to stop (each ends as interrupted, resumable) and wait a while."""
        with self.lock:
            threads = list(self.threads.values())
            for e in self.stops.values():
                e.set()
        end = time.monotonic() + wait
        for t in threads:
            t.join(max(0.0, end - time.monotonic()))


def runner(app_state: Any) -> Runner:
    r: Runner | None = getattr(app_state, "runner", None)
    if r is None:
        r = app_state.runner = Runner(app_state.jw)
    return r


# ---------------------------------------------------------------- visibility


def visible_hits(
    jw: Jianwang,
    user: User,
    state: str | None,
    site: str | None,
    work: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Hit], int]:
    """The hits `user` may see under the filters, newest first, and their total."""
    scope = policy.hits_scope(user)
    if scope.nothing or (scope.site is not None and site is not None and site != scope.site):
        if site is not None:
            jw.sites.get(site)  # an unknown site is still a 404
        return [], 0
    if scope.site is not None:
        site = scope.site
    if site is not None:
        site = jw.sites.get(site).id
    hits = jw.monitor.hits(state, site, work, scope.owner_id, limit, offset)
    total = jw.monitor.count_hits(state, site, work, scope.owner_id)
    return hits, total


def visible_hit(jw: Jianwang, user: User, hit_id: str) -> Hit:
    scope = policy.hits_scope(user)
    if scope.nothing:
        raise NotFound(f"no hit {hit_id}", hit_id=hit_id)
    return policy.check_hit(user, jw.monitor.get_hit(hit_id, scope.owner_id))


def visible_capture(jw: Jianwang, user: User, capture_id: str) -> tuple[Capture, list[str]]:
    """A capture and the ids of its hits that `user` may see. The regulator sees every
    capture (a lead's too); anyone else a capture one of whose hits they may see."""
    capture = jw.monitor.get_capture(capture_id)
    hits = []
    for hid in jw.monitor.hits_of_capture(capture.id):
        try:
            hit = jw.monitor.get_hit(hid)
        except NotFound:
            continue
        if policy.may_see_hit(user, hit):
            hits.append(hit.id)
    if not hits and not user.is_regulator:
        raise NotFound(f"no capture {capture.id}", capture_id=capture.id)
    return capture, hits


def review(jw: Jianwang, user: User, via: str, hit_id: str, action: str, reason: str | None) -> Hit:
    """Confirm, reject (a reason is needed) or reopen a hit, and record it."""
    visible_hit(jw, user, hit_id)
    hit = jw.monitor.review(hit_id, action, user.username, reason)
    jw.accounts.record(
        user,
        via,
        f"hit.{action}",
        hit.id,
        {"work_id": hit.work_id, "site_id": hit.site_id, "reason": (reason or "").strip() or None},
    )
    return hit


def start_run(
    jw: Jianwang, app_state: Any, user: User, via: str, site: str, max_pages: int | None
) -> Run:
    run = runner(app_state).start(site, max_pages, trigger=via)
    jw.accounts.record(
        user, via, "run.start", run.id, {"site_id": run.site_id, "max_pages": max_pages}
    )
    return run


def stop_run(jw: Jianwang, app_state: Any, user: User, via: str, run_id: str) -> Run:
    """Stop a run this server started; 409 when it is not running here (a CLI run is stopped
    with Ctrl-C where it runs)."""
    run = jw.monitor.get_run(run_id)
    if run.state.value != "running" or not runner(app_state).stop(run.site_id):
        raise Conflict(f"run {run.id} is not running in this server", state=run.state.value)
    jw.accounts.record(user, via, "run.stop", run.id, {"site_id": run.site_id})
    return jw.monitor.get_run(run.id)
