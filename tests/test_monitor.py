"""The monitor against a real local pirate web (tests/web_world.py): every planted copy found,
no hit on a clean page, every trap handled and reported, nothing forbidden fetched (the
forbidden server's own log), evidence sealed, recrawls conditional, runs resumable after a
real kill, reviews and re-uploads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from jianwang import Jianwang, SiteInput
from jianwang.crawl.extract import canonical
from jianwang.domain import Conflict, InvalidInput, RunState
from jianwang.store.models import CaptureRow, FrontierRow, HitRow

from .web_world import SiteSpec, World

pytestmark = pytest.mark.slow

SETTINGS: dict[str, Any] = {
    "crawl_allow_networks": "127.0.0.1/32",  # never 127.0.0.2: the forbidden server lives there
    "crawl_timeout_seconds": 2,
    "crawl_page_seconds": 3,
    "crawl_page_max_bytes": 1024 * 1024,
    "crawl_media_max_bytes": 64 * 1024 * 1024,
    "crawl_media_max_seconds": 60,
    "crawl_backoff_seconds": "0.05",
    "crawl_retries": 2,
    "chromium": "",
}


def _open(home: Path, **extra: Any) -> Jianwang:
    return Jianwang.open(home=home, **{**SETTINGS, **extra})


def _add_site(jw: Jianwang, spec: SiteSpec, **plan: Any) -> str:
    site = jw.sites.add(SiteInput(spec.name, [f"{spec.key}.test"], spec.category, "national"))
    jw.monitor.set_plan(
        site.id,
        seeds=spec.seeds,
        sitemaps=spec.sitemaps,
        search_templates=spec.search_templates,
        include=spec.include,
        exclude=spec.exclude,
        max_depth=plan.pop("max_depth", 6),
        max_pages=plan.pop("max_pages", 600),
        crawl_delay=plan.pop("crawl_delay", 0.0),
        concurrency=plan.pop("concurrency", 4),
        **plan,
    )
    return site.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with World(tmp_path_factory.mktemp("world"), filler_pages=8) as w:
        yield w


@pytest.fixture(scope="module")
def crawled(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every site of the world crawled once, screenshots on when Chromium is here."""
    home = tmp_path_factory.mktemp("monitor") / "home"
    chromium = os.environ.get("JIANWANG_CHROMIUM", "/usr/bin/chromium")
    jw = _open(home, chromium=chromium if Path(chromium).exists() else "")
    ids = world.register(jw)
    sites = {key: _add_site(jw, spec) for key, spec in world.sites.items()}
    world.reset_logs()
    runs = {key: jw.monitor.run(sid) for key, sid in sites.items()}
    yield {"jw": jw, "ids": ids, "sites": sites, "runs": runs, "home": home}
    jw.close()


def _hits_by_url(jw: Jianwang) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for h in jw.monitor.hits(limit=10_000):
        out.setdefault(h.url, set()).add(h.work_id)
    return out


def _frontier(jw: Jianwang, run_id: str) -> dict[str, dict[str, Any]]:
    return {u["url"]: u for u in jw.monitor.run_urls(run_id, limit=100_000)}


def test_every_run_finishes_within_its_budget(crawled: dict[str, Any]) -> None:
    for key, run in crawled["runs"].items():
        assert run.state == RunState.FINISHED, (key, run.summary)
        assert run.pages <= 600 and run.queued == 0


def test_every_planted_copy_is_found(world: World, crawled: dict[str, Any]) -> None:
    found = _hits_by_url(crawled["jw"])
    missed = [
        (p.media, p.url)
        for p in world.planted
        if crawled["ids"][p.work] not in found.get(canonical(p.url) or "", set())
    ]
    assert not missed, missed
    media = {p.media for p in world.planted}
    assert media == {"text", "video", "file"}  # every method that exists has a planted copy


def test_no_hits_on_clean_pages(world: World, crawled: dict[str, Any]) -> None:
    found = _hits_by_url(crawled["jw"])
    planted = {canonical(p.url) for p in world.planted}
    assert not [u for u in found if u not in planted]
    clean_fetched = [u for u in world.clean_urls if canonical(u) in _all_done(crawled)]
    assert len(clean_fetched) >= len(world.clean_urls) // 2  # the clean pages were looked at
    assert not {canonical(u) for u in world.clean_urls} & set(found)


def _all_done(crawled: dict[str, Any]) -> set[str]:
    jw = crawled["jw"]
    out: set[str] = set()
    for run in crawled["runs"].values():
        out |= {u for u, r in _frontier(jw, run.id).items() if r["state"] == "done"}
    return out


def test_nothing_forbidden_is_fetched(world: World, crawled: dict[str, Any]) -> None:
    assert world.forbidden_requests() == []
    disallowed = world.traps["robots_disallowed"].split("/", 3)[3]
    assert not [r for r in world.requests("novels") if r.path.lstrip("/") == disallowed]
    for r in world.requests():
        assert not r.path.startswith("/secret")


def test_every_trap_is_a_clear_error_or_skip(world: World, crawled: dict[str, Any]) -> None:
    jw = crawled["jw"]
    rows = _frontier(jw, crawled["runs"]["traps"].id)
    t = {k: rows[canonical(u) or ""] for k, u in world.traps.items() if canonical(u) in rows}

    def failed(name: str, pattern: str) -> None:
        row = t[name]
        assert row["state"] == "failed", (name, row)
        assert pattern in row["error"], (name, row["error"])

    failed("slow", "not complete within 3 s")
    failed("hang", "stalled for 2 s")
    failed("hang_no_headers", "timed out after 2 s")
    failed("error_500", "HTTP 500")
    failed("oversized", "over the 1,048,576-byte limit")
    failed("oversized_chunked", "over the 1,048,576-byte limit")
    failed("gzip_bomb", "decompresses to over")
    failed("redirect_metadata", "169.254.169.254 is a cloud metadata address")
    failed("redirect_private", "127.0.0.2 is a loopback address")
    failed("redirect_private_10", "10.0.0.1 is a private address")
    failed("redirect_loop", "more than 10 redirects")
    assert t["busy_429"]["state"] == "done" and t["busy_429"]["status"] == 200
    assert t["malformed"]["state"] == "done"
    # the 500 was retried, then given up
    errors = [r for r in world.requests("traps") if r.path == "/error"]
    assert len(errors) == 1 + SETTINGS["crawl_retries"]
    # the infinite calendar and the session loop end (depth, and session ids stripped)
    calendar = [r for r in world.requests("traps") if r.path.startswith("/calendar")]
    assert 0 < len(calendar) < 120
    session = [r for r in world.requests("traps") if "session" in r.path]
    assert 0 < len(session) <= 6
    summary = crawled["runs"]["traps"].summary["counts"]
    assert summary["error.refused"] == 3 and summary["error.timeout"] >= 2
    assert summary["skipped.depth"] > 0


def test_leads_keep_their_extraction_codes(world: World, crawled: dict[str, Any]) -> None:
    leads = {x.url: x for x in crawled["jw"].monitor.leads()}
    assert len(world.netdisk_leads) >= 2
    for text in world.netdisk_leads:
        url = next(u for u in leads if u in text)
        if "提取码" in text or "密码" in text:
            assert leads[url].code and leads[url].code in text
        assert leads[url].page_url == canonical(world.traps["netdisk_leads"])


def test_captures_are_sealed_evidence(crawled: dict[str, Any]) -> None:
    jw = crawled["jw"]
    hits = jw.monitor.hits(limit=10_000)
    assert hits
    shots = 0
    for h in hits:
        cap = jw.monitor.get_capture(h.capture_id)
        assert cap.url == h.url and cap.ip == "127.0.0.1" and cap.status == 200
        assert cap.fetched_at.tzinfo is not None
        assert any(k.lower() == "content-type" for k, _ in cap.headers)
        assert jw.monitor.verify_capture(cap.id)
        assert jw.blobs.exists(cap.body_sha256)
        shots += cap.screenshot_sha256 is not None
        if cap.screenshot_sha256:
            assert jw.blobs.get(cap.screenshot_sha256).startswith(b"\x89PNG")
    if jw.monitor.screenshotter is not None:
        assert shots >= sum(1 for h in hits if h.media == "text")
    with jw.sessions.begin() as s, pytest.raises(ValueError, match="evidence"):
        row = s.scalars(select(CaptureRow)).first()
        assert row is not None
        row.url = "http://tampered.example/"
        s.flush()


def test_the_page_offering_a_matched_file_is_captured_too(crawled: dict[str, Any]) -> None:
    jw = crawled["jw"]
    files = [h for h in jw.monitor.hits(limit=10_000) if h.media in ("video", "file")]
    assert len(files) >= 6
    for h in files:
        full = jw.monitor.get_hit(h.id)
        pages = [e.capture_id for e in full.events if e.action == "page"]
        assert pages, (h.url, [e.action for e in full.events])
        page = jw.monitor.get_capture(pages[0])
        assert page.url == h.found_on and page.status in (200, 304)
        assert page.media == "text" and jw.monitor.verify_capture(page.id)
        assert b"<" in jw.blobs.get(page.body_sha256)[:2048]
        if jw.monitor.screenshotter is not None:
            assert page.screenshot_sha256 is not None
    # one capture per offering page and run, however many files it offered
    pages_by_url: dict[tuple[str, str | None], set[str]] = {}
    for h in files:
        for e in jw.monitor.get_hit(h.id).events:
            if e.action == "page" and e.capture_id:
                cap = jw.monitor.get_capture(e.capture_id)
                pages_by_url.setdefault((cap.url, cap.run_id), set()).add(cap.id)
    assert all(len(ids) == 1 for ids in pages_by_url.values()), pages_by_url


def test_text_hits_say_where(crawled: dict[str, Any]) -> None:
    text_hits = [h for h in crawled["jw"].monitor.hits(limit=10_000) if h.media == "text"]
    assert text_hits and all(h.segments for h in text_hits)
    video = [h for h in crawled["jw"].monitor.hits(limit=10_000) if h.media == "video"]
    assert video and all(g.query[1] > g.query[0] for h in video for g in h.segments)


def test_recrawl_is_conditional_and_adds_no_duplicate_hits(
    world: World, crawled: dict[str, Any]
) -> None:
    jw = crawled["jw"]
    before = {h.id: h.seen_count for h in jw.monitor.hits(site=crawled["sites"]["novels"])}
    world.reset_logs()
    run = jw.monitor.run(crawled["sites"]["novels"])
    assert run.state == RunState.FINISHED and run.hits == 0
    reqs = [r for r in world.requests("novels") if not r.path.startswith("/robots")]
    conditional = [r for r in reqs if "if-none-match" in r.headers]
    assert len(conditional) >= len(reqs) // 2
    after = {h.id: h.seen_count for h in jw.monitor.hits(site=crawled["sites"]["novels"])}
    assert after.keys() == before.keys()
    assert all(after[k] == before[k] + 1 for k in before)


def test_review_states_and_reupload(world: World, crawled: dict[str, Any]) -> None:
    jw = crawled["jw"]
    site = crawled["sites"]["downloads"]
    hit = jw.monitor.hits(site=site)[0]
    with pytest.raises(InvalidInput, match="needs a reason"):
        jw.monitor.review(hit.id, "reject", "inspector")
    confirmed = jw.monitor.review(hit.id, "confirm", "inspector", "整包盗版")
    assert confirmed.state.value == "confirmed" and confirmed.reviewer == "inspector"
    with pytest.raises(Conflict, match="already confirmed"):
        jw.monitor.review(hit.id, "reject", "inspector", "no")
    path = hit.url.split("/", 3)[3]
    world.take_down("/" + path)
    try:
        jw.monitor.run(site)
        gone = jw.monitor.get_hit(hit.id)
        assert gone.removed_at is not None and not gone.reupload
    finally:
        world.put_back("/" + path)
    jw.monitor.run(site)
    back = jw.monitor.get_hit(hit.id)
    assert back.removed_at is None and back.reupload
    actions = [e.action for e in back.events]
    assert actions[0] == "found" and "confirmed" in actions
    assert actions.index("removed") < actions.index("reappeared")
    reopened = jw.monitor.review(hit.id, "reopen", "inspector")
    assert reopened.state.value == "new" and reopened.reviewer is None


def _cli(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JIANWANG_HOME": str(home)}
    env.update({f"JIANWANG_{k.upper()}": str(v) for k, v in SETTINGS.items()})
    code = "import sys; from jianwang.cli import main; sys.argv[0] = 'jianwang'; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # a test run started in the background of a non-interactive shell inherits SIGINT
        # ignored, and Python then never raises KeyboardInterrupt: give the CLI the default,
        # as a terminal would
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_killed_run_resumes_without_refetching_or_duplicating(
    world: World, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with _open(home) as jw:
        world.register(jw)
        spec = world.sites["novels"]
        site = _add_site(jw, spec, crawl_delay=0.05, concurrency=1)
    world.reset_logs()
    proc = _cli(home, "monitor", "run", "--site", site)
    deadline = time.monotonic() + 120
    while len(world.requests("novels")) < 25:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with _open(home) as jw:
        [run] = jw.monitor.runs(site)
        assert run.state == RunState.RUNNING  # killed: nobody marked it
        with jw.sessions() as s:
            done = set(
                s.scalars(select(FrontierRow.url).where(FrontierRow.state.in_(["done", "failed"])))
            )
        assert len(done) >= 10
        world.reset_logs()
        resumed = jw.monitor.run(site)
        assert resumed.id == run.id and resumed.resumed == 1
        assert resumed.state == RunState.FINISHED
        again = {
            canonical(spec.base_url + r.path)
            for r in world.requests("novels")
            if not r.path.startswith("/robots.txt")
        }
        assert not again & done
        with jw.sessions() as s:
            rows = s.execute(select(HitRow.url, HitRow.work_id)).all()
        assert len(rows) == len(set(rows))
        planted = {canonical(p.url) for p in world.planted if p.site == "novels"}
        assert {u for u, _ in rows} == planted


def test_ctrl_c_leaves_an_interrupted_run_that_the_cli_resumes(
    world: World, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with _open(home) as jw:
        world.register(jw)
        site = _add_site(jw, world.sites["downloads"], crawl_delay=0.05, concurrency=1)
    world.reset_logs()
    # every response takes 0.2 s: the crawl lasts seconds after the 8th request, so Ctrl-C
    # lands mid-run even when a loaded machine is slow to notice the 8th (without it the
    # run could finish first: exit 0, not 130)
    world.latency = 0.2
    try:
        proc = _cli(home, "monitor", "run", "--site", site)
        while len(world.requests("downloads")) < 8:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        world.latency = 0.0
    assert proc.returncode == 130, stderr
    assert b"re-run the same command to resume" in stderr
    proc = _cli(home, "monitor", "run", "--site", site, "--json")
    out, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    [printed] = json.loads(out)
    assert printed["state"] == "finished" and printed["resumed"] == 1
    with _open(home) as jw:
        [run] = jw.monitor.runs(site)
        assert run.state == RunState.FINISHED and run.resumed == 1
        planted = {canonical(p.url) for p in world.planted if p.site == "downloads"}
        assert {h.url for h in jw.monitor.hits()} == planted


def test_schedule_runs_due_plans_and_one_failing_site_stops_nothing(
    world: World, tmp_path: Path
) -> None:
    with _open(tmp_path / "home") as jw:
        world.register(jw)
        broken = jw.sites.add(SiteInput("失联站点", ["gone.test"], "video", "national"))
        # its only seed is on the forbidden server: refused, and the run still ends
        jw.monitor.set_plan(broken.id, seeds=[world.forbidden_urls[0]], crawl_delay=0)
        good = _add_site(jw, world.sites["downloads"])
        runs = jw.monitor.run_due()
        assert {r.site_id for r in runs} == {broken.id, good}
        by_site = {r.site_id: r for r in runs}
        assert by_site[broken.id].errors == 1 and by_site[broken.id].summary["counts"]
        assert by_site[good].hits >= 3
        assert jw.monitor.due_plans() == []  # both are due again only after their interval
        assert world.forbidden_requests() == []


def test_plans_are_validated(tmp_path: Path) -> None:
    with _open(tmp_path / "home") as jw:
        site = jw.sites.add(SiteInput("站", ["zhan.test"], "video", "national"))
        with pytest.raises(InvalidInput, match="at least one seed"):
            jw.monitor.set_plan(site.id, max_pages=5)
        with pytest.raises(InvalidInput, match="needs \\{title\\}"):
            jw.monitor.set_plan(site.id, search_templates=["http://x.test/s?q="])
        with pytest.raises(InvalidInput, match="not an http"):
            jw.monitor.set_plan(site.id, seeds=["ftp://x.test/"])
        with pytest.raises(InvalidInput, match="bad exclude pattern"):
            jw.monitor.set_plan(site.id, seeds=["http://x.test/"], exclude=["("])
        plan = jw.monitor.set_plan(site.id, seeds=["http://x.test/"], concurrency=3)
        assert plan.concurrency == 3 and plan.max_pages == 1000
        assert jw.monitor.set_plan(site.id, max_pages=5).seeds == ("http://x.test/",)


def test_the_monitor_on_postgresql(world: World, tmp_path: Path, pg_url: str) -> None:
    with _open(tmp_path / "home", database_url=pg_url) as jw:
        ids = world.register(jw)
        site = _add_site(jw, world.sites["downloads"])
        run = jw.monitor.run(site)
        assert run.state == RunState.FINISHED
        found = _hits_by_url(jw)
        for p in world.planted:
            if p.site == "downloads":
                assert ids[p.work] in found[canonical(p.url) or ""]


def _jianwang(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JIANWANG_HOME": str(home), "COLUMNS": "200"}
    env.update({f"JIANWANG_{k.upper()}": str(v) for k, v in SETTINGS.items()})
    code = "import sys; from jianwang.cli import main; sys.argv[0] = 'jianwang'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_command_line_shows_and_reviews(crawled: dict[str, Any]) -> None:
    home = crawled["home"]
    novels = crawled["sites"]["novels"]
    plans = json.loads(_jianwang(home, "monitor", "plans", "--json").stdout)
    assert {p["site_id"] for p in plans} == set(crawled["sites"].values())
    runs = json.loads(_jianwang(home, "monitor", "runs", "--site", novels, "--json").stdout)
    assert runs and runs[-1]["state"] == "finished"
    shown = _jianwang(home, "monitor", "show", crawled["runs"]["traps"].id, "--urls", "failed")
    assert shown.returncode == 0 and "169.254.169.254 is a cloud metadata address" in shown.stdout
    listed = json.loads(_jianwang(home, "hits", "list", "--site", novels, "--json").stdout)
    assert listed["total"] == len(listed["items"]) >= 7
    hit = listed["items"][-1]
    detail = _jianwang(home, "hits", "show", hit["id"])
    assert "SHA-256" in detail.stdout and "segment: copy" in detail.stdout
    done = json.loads(
        _jianwang(
            home, "hits", "reject", hit["id"], "--reason", "授权转载", "--by", "inspector", "--json"
        ).stdout
    )
    assert done["state"] == "rejected" and done["reason"] == "授权转载"
    again = _jianwang(home, "hits", "confirm", hit["id"])
    assert again.returncode == 1 and again.stderr.startswith("error: hit ")
    assert _jianwang(home, "hits", "show", "HIT999999").stderr.strip() == "error: no hit HIT999999"
    bad = _jianwang(home, "hits", "show", "W12")
    assert bad.returncode == 1 and "invalid hit id" in bad.stderr
    verified = _jianwang(home, "captures", "verify", hit["capture_id"])
    assert verified.returncode == 0 and "body matches SHA-256" in verified.stdout
    leads = json.loads(_jianwang(home, "monitor", "leads", "--json").stdout)
    assert any(x["code"] for x in leads)
    plan = _jianwang(home, "monitor", "plan", novels, "--max-pages", "50", "--exclude", "(")
    assert plan.returncode == 1 and "bad exclude pattern" in plan.stderr


def test_hls_is_read_for_its_first_seconds_only(world: World, tmp_path: Path) -> None:
    with _open(tmp_path / "home", crawl_media_max_seconds=5) as jw:
        ids = world.register(jw)
        site = _add_site(jw, world.sites["videos"])
        world.reset_logs()
        jw.monitor.run(site)
        stream = next(p for p in world.planted if p.url.endswith(".m3u8"))
        [hit] = [h for h in jw.monitor.hits() if h.url == canonical(stream.url)]
        assert hit.work_id == ids[stream.work]
        cap = jw.monitor.get_capture(hit.capture_id)
        assert cap.truncated and cap.media == "video"
        segments = [r.path for r in world.requests("videos") if r.path.endswith(".ts")]
        assert len(segments) == 2  # 3 s segments: two reach 5 s, the rest are never fetched
        assert jw.monitor.verify_capture(cap.id)


def test_schedule_once_runs_nothing_before_it_is_due(crawled: dict[str, Any]) -> None:
    res = _jianwang(crawled["home"], "monitor", "schedule", "--once")
    assert res.returncode == 0, res.stderr
    assert "R0" not in res.stdout  # every plan ran minutes ago; none is due for a day
