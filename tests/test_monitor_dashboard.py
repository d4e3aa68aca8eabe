"""The monitoring pages of the dashboard through the real app, after a real crawl of a local
web site: the Monitoring page with "run now", the run page, the hits list, the hit page's
capture viewer (screenshot when Chromium is installed, URLs, time, address, status,
headers, the body's hash and its verification, the matched passages) and review; CSRF on
every form, and who sees what."""

from __future__ import annotations

import fcntl
import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jianwang.domain import HitState, RunState, parse_id
from jianwang.web import i18n

from .service_fixtures import Service, dashboard_client
from .test_monitor_api import World, crawl_world, open_monitoring_service, start_world

#: one module keeps screenshots on (about 2 s per captured page) when a browser is there
CHROMIUM = shutil.which("chromium") or ""


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = start_world()
    yield w
    w.server.shutdown()
    w.server.server_close()


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = open_monitoring_service(tmp_path_factory.mktemp("monitor-dash") / "home", CHROMIUM)
    yield s
    s.jw.close()


@pytest.fixture(scope="module")
def crawled(svc: Service, world: World) -> dict[str, Any]:
    return crawl_world(svc, world)


def _hit_id(svc: Service, title_part: str) -> str:
    hits = svc.jw.monitor.hits(limit=100)
    return next(h.id for h in hits if title_part in h.title)


def test_dynamic_keys_are_translated() -> None:
    for lang in i18n.LANGUAGES:
        messages = i18n.MESSAGES[lang]
        for state in HitState:
            assert f"hitstate.{state.value}" in messages
        for run_state in RunState:
            assert f"runstate.{run_state.value}" in messages
        actions = (
            "found",
            "reupload",
            "seen",
            "removed",
            "reappeared",
            "confirmed",
            "rejected",
            "reopened",
        )
        for action in actions:
            assert f"hitevent.{action}" in messages
        assert "capture.undecodable" in messages


def test_monitoring_page_lists_plans_and_runs_now(svc: Service, crawled: dict[str, Any]) -> None:
    client, csrf = dashboard_client(svc, "staff")
    page = client.get("/monitor")
    assert page.status_code == 200
    assert 'id="nav-monitor"' in page.text and 'id="nav-hits"' in page.text
    assert crawled["a"] in page.text and "某盗版小说站" in page.text and "示例小说站" in page.text
    run_a = crawled["runs"][crawled["a"]]["id"]
    assert f'href="/runs/{run_a}"' in page.text and page.text.count('class="run-now"') == 2
    leads = page.text.split('id="leads"')[1].split("</table>")[0]
    assert "https://pan.baidu.com/s/1AbCdEfGh" in leads and "<code>x7k2</code>" in leads
    # "run now" needs the CSRF token
    denied = client.post(f"/monitor/{crawled['a']}/run", data={})
    assert denied.status_code == 403
    r = client.post(f"/monitor/{crawled['a']}/run", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/runs/R"), r.text[:500]
    new_run = r.headers["location"].rsplit("/", 1)[1]
    assert new_run != run_a
    end = time.monotonic() + 30
    while svc.jw.monitor.get_run(new_run).state == RunState.RUNNING:
        assert time.monotonic() < end
        time.sleep(0.05)
    run = svc.jw.monitor.get_run(new_run)
    assert run.trigger == "dashboard" and run.hits == 0  # the same copies: no new hits
    audit = svc.jw.accounts.audit_log(action="run.start", target=new_run)[0]
    assert audit[0].via == "dashboard" and audit[0].actor == "inspector"
    # a run of the site in progress elsewhere (a CLI run holds the site's lock): the page says so
    lock = svc.jw.settings.home / "locks" / f"site-{parse_id('site', crawled['a'])}.lock"
    with open(lock, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        busy = client.post(f"/monitor/{crawled['a']}/run", data={"csrf": csrf})
    assert busy.status_code == 409 and 'id="monitor-error"' in busy.text
    assert crawled["a"] in busy.text.split('id="monitor-error"')[1].split("</p>")[0]
    # other roles have no monitoring page and cannot start runs
    for role in ("holder", "operator"):
        other, other_csrf = dashboard_client(svc, role)
        assert 'id="nav-monitor"' not in other.get("/").text
        assert other.get("/monitor").status_code == 403
        assert (
            other.post(f"/monitor/{crawled['a']}/run", data={"csrf": other_csrf}).status_code == 403
        )


def test_run_page_shows_counters_and_failed_and_skipped_urls(
    svc: Service, crawled: dict[str, Any]
) -> None:
    client, _ = dashboard_client(svc, "admin")
    run = crawled["runs"][crawled["a"]]
    page = client.get(f"/runs/{run['id']}")
    assert page.status_code == 200
    assert re.search(r'id="run-pages">5<', page.text) and re.search(r'id="run-hits">2<', page.text)
    assert re.search(r'id="run-errors">1<', page.text) and re.search(
        r'id="run-skipped">1<', page.text
    )
    failed = page.text.split('id="failed-urls"')[1].split("</table>")[0]
    assert "/a/missing.html" in failed and "HTTP 404" in failed
    skipped = page.text.split('id="skipped-urls"')[1].split("</table>")[0]
    assert "/private/secret.html" in skipped and "robots.txt" in skipped
    assert "skipped.robots" in page.text and "crawl complete" in page.text
    assert 'hx-trigger="every 2s"' not in page.text  # finished: no polling
    live = client.get(f"/runs/{run['id']}", headers={"HX-Request": "true", "HX-Target": "run-live"})
    assert "<html" not in live.text and 'id="run-live"' in live.text
    assert client.get("/runs/R999999").status_code == 404


def test_hits_page_filters_and_scopes(svc: Service, crawled: dict[str, Any]) -> None:
    client, _ = dashboard_client(svc, "staff")
    page = client.get("/hits")
    assert page.status_code == 200 and page.text.count('<tr class="hit">') == 3
    assert "唐诗三百首选读（1）" in page.text and "Genesis" in page.text
    only_b = client.get("/hits", params={"site": crawled["b"]})
    assert only_b.text.count('<tr class="hit">') == 1
    partial = client.get(
        "/hits",
        params={"state": "rejected"},
        headers={"HX-Request": "true", "HX-Target": "hits-table"},
    )
    assert "<html" not in partial.text and '<tr class="hit">' not in partial.text
    holder, _ = dashboard_client(svc, "holder")
    mine = holder.get("/hits").text
    assert mine.count('<tr class="hit">') == 2 and "Genesis" not in mine
    genesis = _hit_id(svc, "Genesis")
    assert holder.get(f"/hits/{genesis}").status_code == 404
    operator, _ = dashboard_client(svc, "operator")
    ops = operator.get("/hits").text
    assert ops.count('<tr class="hit">') == 1 and "/b/copy.html" in ops


def test_hit_page_shows_the_capture_viewer(svc: Service, crawled: dict[str, Any]) -> None:
    client, _ = dashboard_client(svc, "staff")
    hit = svc.jw.monitor.get_hit(_hit_id(svc, "唐诗三百首选读（1）"))
    cap = svc.jw.monitor.get_capture(hit.capture_id)
    page = client.get(f"/hits/{hit.id}")
    assert page.status_code == 200
    text = page.text
    assert f'id="body-sha256">{cap.body_sha256}<' in text and 'id="verified"' in text
    assert f'id="cap-url">{cap.url}<' in text and f'id="cap-final-url">{cap.final_url}<' in text
    assert 'id="cap-ip">127.0.0.1<' in text and 'id="cap-status">200<' in text
    assert cap.fetched_at.strftime("%Y-%m-%d %H:%M:%S") in text and "UTC" in text
    headers = text.split('id="headers"')[1].split("</table>")[0]
    assert "<code>x-pirate</code>" in headers and "<code>yes</code>" in headers
    assert f'href="/captures/{cap.id}/body"' in text
    # the matched passages: the captured page's text with the copy highlighted, beside the work
    assert (
        'id="spans"' in text
        and 'class="passage query"' in text
        and 'class="passage reference"' in text
    )
    assert "兰叶春葳蕤，桂华秋皎洁。" in text.split('class="passage query"')[1].split("</pre>")[0]
    assert 'data-segment="1"' in text
    # the screenshot, when Chromium made one
    if CHROMIUM and cap.screenshot_sha256:  # a browser that fails to start leaves none
        assert f'id="screenshot" src="/captures/{cap.id}/screenshot"' in text
        png = client.get(f"/captures/{cap.id}/screenshot")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert 'id="no-screenshot"' in text
    # the body downloads as an attachment, never as a page
    body = client.get(f"/captures/{cap.id}/body")
    assert body.status_code == 200 and body.headers["content-type"] == "application/octet-stream"
    assert body.headers["content-disposition"].startswith("attachment")
    assert body.headers["x-content-sha256"] == cap.body_sha256
    # a holder sees its own hit's capture; the other holder neither the hit nor the body
    holder, _ = dashboard_client(svc, "holder")
    mine = holder.get(f"/hits/{hit.id}")
    assert (
        mine.status_code == 200 and cap.body_sha256 in mine.text and 'id="review"' not in mine.text
    )
    other, _ = dashboard_client(svc, "other_holder")
    assert other.get(f"/hits/{hit.id}").status_code == 404
    assert other.get(f"/captures/{cap.id}/body").status_code == 404


def test_review_from_the_hit_page(svc: Service, crawled: dict[str, Any]) -> None:
    hit_id = _hit_id(svc, "Genesis")
    client, csrf = dashboard_client(svc, "staff")
    page = client.get(f"/hits/{hit_id}").text
    assert 'id="confirm"' in page and 'id="reject"' in page and 'id="reopen"' not in page
    # CSRF is required
    assert client.post(f"/hits/{hit_id}/review", data={"action": "confirm"}).status_code == 403
    assert svc.jw.monitor.get_hit(hit_id).state == HitState.NEW
    # a rejection needs a reason: the page says so and nothing changes
    r = client.post(f"/hits/{hit_id}/review", data={"action": "reject", "reason": "", "csrf": csrf})
    assert r.status_code == 422 and 'id="review-error"' in r.text
    assert svc.jw.monitor.get_hit(hit_id).state == HitState.NEW
    r = client.post(
        f"/hits/{hit_id}/review",
        data={"action": "reject", "reason": "public domain text", "csrf": csrf},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/hits/{hit_id}"
    page = client.get(f"/hits/{hit_id}").text
    assert 'id="reopen"' in page and "public domain text" in page
    r = client.post(f"/hits/{hit_id}/review", data={"action": "confirm", "csrf": csrf})
    assert r.status_code == 409 and 'id="review-error"' in r.text
    r = client.post(f"/hits/{hit_id}/review", data={"action": "reopen", "csrf": csrf})
    assert r.status_code == 303
    r = client.post(f"/hits/{hit_id}/review", data={"action": "confirm", "csrf": csrf})
    assert r.status_code == 303 and svc.jw.monitor.get_hit(hit_id).state == HitState.CONFIRMED
    events = [e.action for e in svc.jw.monitor.get_hit(hit_id).events]
    assert events[-3:] == ["rejected", "reopened", "confirmed"]
    entries, _ = svc.jw.accounts.audit_log(target=hit_id)
    assert {e.action for e in entries} == {"hit.reject", "hit.reopen", "hit.confirm"}
    assert {e.via for e in entries} == {"dashboard"}
    # holders and operators read, never review
    for role in ("holder", "operator", "other_holder"):
        other, other_csrf = dashboard_client(svc, role)
        r = other.post(f"/hits/{hit_id}/review", data={"action": "reopen", "csrf": other_csrf})
        assert r.status_code == 403
    anonymous, token = dashboard_client(svc, None)
    r = anonymous.post(f"/hits/{hit_id}/review", data={"action": "reopen", "csrf": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_run_is_stopped_from_its_page(svc: Service, crawled: dict[str, Any]) -> None:
    c, csrf = dashboard_client(svc, "staff")
    site_b = crawled["b"]
    started = c.post(f"/monitor/{site_b}/run", data={"csrf": csrf}, follow_redirects=False)
    assert started.status_code == 303
    run_path = started.headers["location"]
    page = c.get(run_path)
    assert "run-stop" in page.text or "run-state" in page.text
    no_csrf = c.post(run_path + "/stop", data={}, follow_redirects=False)
    assert no_csrf.status_code in (400, 403)
    stopped = c.post(run_path + "/stop", data={"csrf": csrf}, follow_redirects=True)
    assert stopped.status_code == 200
    assert "run-stop" not in stopped.text  # no longer running
    again = c.post(run_path + "/stop", data={"csrf": csrf})
    assert again.status_code == 200 and "run-error" in again.text
    resumed = c.post(f"/monitor/{site_b}/run", data={"csrf": csrf}, follow_redirects=False)
    assert resumed.headers["location"] == run_path
    holder, hcsrf = dashboard_client(svc, "holder")
    assert holder.post(run_path + "/stop", data={"csrf": hcsrf}).status_code in (403, 404)
    run_id = run_path.rsplit("/", 1)[1]
    end = time.monotonic() + 30
    while svc.jw.monitor.get_run(run_id).state.value == "running":
        assert time.monotonic() < end
        time.sleep(0.05)
