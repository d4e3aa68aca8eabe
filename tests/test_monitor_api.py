"""Monitoring through the REST API, against a real local web site (a stdlib HTTP server on
127.0.0.1): crawl plans, runs started in the server's background, the run's failed and
skipped URLs, hits and their review, evidence captures (body download, hash, verification),
network-disk leads, and who may see and do what."""

from __future__ import annotations

import fcntl
import hashlib
import html
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jianwang import Jianwang
from jianwang.demo import load_service_demo
from jianwang.fingerprint.base import methods
from jianwang.web import create_app

from .conftest import DEMO
from .service_fixtures import ACCOUNT, Service

CORPUS = DEMO / "corpus"
CLEAN = "今天天气很好，我们去公园散步，看见很多人在放风筝。孩子们在草地上奔跑，老人们在树下下棋。"


def _page(title: str, text: str, extra: str = "") -> bytes:
    paras = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><div id='content'>{paras}</div>{extra}"
        "</body></html>"
    ).encode()


@dataclass
class World:
    """A pirate site on 127.0.0.1: under /a/ a copy of a Tang Poetry Press chapter, a copy
    of an Old Light Scripture Society chapter, a clean page, a missing page (404), a link
    robots.txt forbids and a network-disk share link; under /b/ another copy and a slow
    page. Every request is logged."""

    server: ThreadingHTTPServer
    log: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def start_world() -> World:
    tang1 = (CORPUS / "tang_poetry-01.txt").read_text(encoding="utf-8")
    tang2 = (CORPUS / "tang_poetry-02.txt").read_text(encoding="utf-8")
    genesis = (CORPUS / "scripture-01.txt").read_text(encoding="utf-8")
    pages = {
        "/robots.txt": (b"User-agent: *\nDisallow: /private/\n", "text/plain"),
        "/a/": (
            _page(
                "小说站",
                "最新章节",
                "<a href='/a/copy.html'>唐诗</a> <a href='/a/genesis.html'>Genesis</a> "
                "<a href='/a/clean.html'>散文</a> <a href='/a/missing.html'>缺</a> "
                "<a href='/private/secret.html'>秘密</a>"
                "<p>全集下载 链接: https://pan.baidu.com/s/1AbCdEfGh 提取码: x7k2</p>",
            ),
            "text/html; charset=utf-8",
        ),
        "/a/copy.html": (_page("唐诗三百首 第一章", tang1), "text/html; charset=utf-8"),
        "/a/genesis.html": (_page("Genesis", genesis), "text/html; charset=utf-8"),
        "/a/clean.html": (_page("散文", CLEAN), "text/html; charset=utf-8"),
        "/private/secret.html": (_page("秘密", tang2), "text/html; charset=utf-8"),
        "/b/": (
            _page(
                "另一站", "目录", "<a href='/b/copy.html'>唐诗</a> <a href='/b/slow.html'>慢</a>"
            ),
            "text/html; charset=utf-8",
        ),
        "/b/copy.html": (_page("唐诗 第二章", tang2), "text/html; charset=utf-8"),
        "/b/slow.html": (_page("慢", CLEAN), "text/html; charset=utf-8"),
    }
    world: World

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            world.log.append(self.path)
            if self.path == "/b/slow.html":
                time.sleep(1.5)
            found = pages.get(self.path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, ctype = found
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Pirate", "yes")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    world = World(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return world


def open_monitoring_service(home: Path, chromium: str = "") -> Service:
    """The demo platform with the monitor allowed to crawl 127.0.0.1 (screenshots off
    unless `chromium` names a browser)."""
    jw = Jianwang.open(home=home, crawl_allow_networks="127.0.0.1/32", chromium=chromium)
    creds = load_service_demo(jw)
    # pick up the demo registration now, from one thread: an index reloading itself while
    # crawl workers look it up concurrently misses copies silently (reported: the reload in
    # `ExactIndex.refresh` is not thread-safe)
    for method in methods().values():
        jw.indexes.for_method(method).refresh(max_age=0)
    svc = Service(jw, TestClient(create_app(jw)), {u: p for u, p, _ in creds})
    for role, username in ACCOUNT.items():
        user = jw.accounts.find_user(username)
        svc.tokens[role] = jw.accounts.create_token(user.id, f"test {role}")[1]
    return svc


def wait_for_run(svc: Service, run_id: str, timeout: float = 30.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        run = svc.client.get(f"/api/v1/runs/{run_id}", headers=svc.auth("staff")).json()
        if run["state"] != "running":
            return run
        assert time.monotonic() < end, f"run {run_id} still running: {run}"
        time.sleep(0.05)


def crawl_world(svc: Service, world: World) -> dict[str, Any]:
    """Site A (a new key website) and site B (the operator's 示例小说站) crawled through the
    API; returns their ids and finished runs."""
    c, staff = svc.client, svc.auth("staff")
    r = c.post(
        "/api/v1/sites",
        headers=staff,
        json={"name": "某盗版小说站", "domains": ["pirate.example"], "category": "literature"},
    )
    assert r.status_code == 201, r.text
    site_a = r.json()["id"]
    site_b = c.get("/api/v1/sites", params={"q": "示例小说站"}, headers=staff).json()["items"][0][
        "id"
    ]
    for site, seed in ((site_a, "/a/"), (site_b, "/b/")):
        r = c.put(
            f"/api/v1/sites/{site}/plan",
            headers=staff,
            json={"seeds": [world.base + seed], "crawl_delay": 0, "concurrency": 4},
        )
        assert r.status_code == 201, r.text
    runs = {}
    for site in (site_a, site_b):
        r = c.post(f"/api/v1/sites/{site}/runs", headers=staff)
        assert r.status_code == 202, r.text
        runs[site] = r.json()
        assert runs[site]["id"].startswith("R") and runs[site]["site_id"] == site
    # the slow page keeps site B's run going: a second start is refused
    again = c.post(f"/api/v1/sites/{site_b}/runs", headers=staff)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict", again.text
    done = {site: wait_for_run(svc, run["id"]) for site, run in runs.items()}
    return {"a": site_a, "b": site_b, "runs": done}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = start_world()
    yield w
    w.server.shutdown()
    w.server.server_close()


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = open_monitoring_service(tmp_path_factory.mktemp("monitor-api") / "home")
    yield s
    s.jw.close()


@pytest.fixture(scope="module")
def crawled(svc: Service, world: World) -> dict[str, Any]:
    return crawl_world(svc, world)


def _error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return body["error"]


def _hits(svc: Service, role: str, **params: Any) -> dict[str, Any]:
    r = svc.client.get("/api/v1/hits", params={"limit": 100, **params}, headers=svc.auth(role))
    assert r.status_code == 200, r.text
    return r.json()


def _hit_of(svc: Service, title_part: str) -> dict[str, Any]:
    items = _hits(svc, "admin")["items"]
    return next(h for h in items if title_part in h["title"])


# ---------------------------------------------------------------- plans


def test_plans_are_created_changed_and_listed(svc: Service, crawled: dict[str, Any]) -> None:
    c, staff, site = svc.client, svc.auth("staff"), crawled["a"]
    plan = c.get(f"/api/v1/sites/{site}/plan", headers=staff).json()
    assert plan["site_id"] == site and plan["seeds"][0].endswith("/a/")
    assert plan["crawl_delay"] == 0 and plan["max_depth"] == 3 and plan["obey_robots"] is True
    assert plan["last_run_at"] is not None and plan["next_due_at"] > plan["last_run_at"]
    r = c.put(
        f"/api/v1/sites/{site}/plan",
        headers=svc.auth("admin"),
        json={"recrawl_minutes": 60, "exclude": [r"\?sid="]},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["recrawl_minutes"] == 60 and changed["exclude"] == [r"\?sid="]
    assert changed["seeds"] == plan["seeds"]  # fields left out keep their value
    listed = c.get("/api/v1/plans", headers=staff).json()
    assert listed["total"] == 2 and {p["site_id"] for p in listed["items"]} == {site, crawled["b"]}
    # invalid plans: a bad URL, a bad pattern, an unknown field, out of bounds
    _error(
        c.put(f"/api/v1/sites/{site}/plan", headers=staff, json={"seeds": ["ftp://x/"]}),
        422,
        "invalid_input",
    )
    _error(
        c.put(f"/api/v1/sites/{site}/plan", headers=staff, json={"include": ["("]}),
        422,
        "invalid_input",
    )
    _error(
        c.put(f"/api/v1/sites/{site}/plan", headers=staff, json={"seed": ["http://x/"]}),
        422,
        "validation_error",
    )
    _error(
        c.put(f"/api/v1/sites/{site}/plan", headers=staff, json={"concurrency": 99}),
        422,
        "validation_error",
    )
    _error(
        c.put("/api/v1/sites/S000001/plan", headers=staff, json={"max_depth": 2}),
        422,
        "invalid_input",
    )
    _error(c.get("/api/v1/sites/S000001/plan", headers=staff), 404, "not_found")
    _error(c.get("/api/v1/sites/S999999/plan", headers=staff), 404, "not_found")
    # the regulator only
    for role in ("holder", "operator"):
        _error(c.get(f"/api/v1/sites/{site}/plan", headers=svc.auth(role)), 403, "forbidden")
        _error(
            c.put(f"/api/v1/sites/{site}/plan", headers=svc.auth(role), json={"max_depth": 1}),
            403,
            "forbidden",
        )
        _error(c.get("/api/v1/plans", headers=svc.auth(role)), 403, "forbidden")
    _error(c.put(f"/api/v1/sites/{site}/plan", json={"max_depth": 1}), 401, "unauthenticated")
    audit = c.get("/api/v1/audit", params={"target": site, "limit": 100}, headers=staff).json()
    assert {"site.create", "plan.create", "plan.update"} == {e["action"] for e in audit["items"]}
    run_id = crawled["runs"][site]["id"]
    started = c.get("/api/v1/audit", params={"target": run_id}, headers=staff).json()["items"]
    assert [(e["action"], e["actor"], e["details"]["site_id"]) for e in started] == [
        ("run.start", "inspector", site)
    ]
    # deleting disables: listed as such, never due
    gone = c.delete(f"/api/v1/sites/{crawled['b']}/plan", headers=staff)
    assert gone.status_code == 200 and gone.json()["enabled"] is False
    assert c.get("/api/v1/plans", params={"enabled": "false"}, headers=staff).json()["total"] == 1
    assert (
        c.put(
            f"/api/v1/sites/{crawled['b']}/plan", headers=staff, json={"enabled": True}
        ).status_code
        == 200
    )


# ---------------------------------------------------------------- runs


def test_a_run_through_the_api_finds_the_copies_and_reports_errors_and_skips(
    svc: Service, world: World, crawled: dict[str, Any]
) -> None:
    c, staff = svc.client, svc.auth("staff")
    run = crawled["runs"][crawled["a"]]
    assert run["state"] == "finished" and run["trigger"] == "api", run
    assert run["hits"] == 2 and run["leads"] == 1 and run["errors"] == 1 and run["skipped"] == 1, (
        run
    )
    assert run["pages"] == 5 and run["queued"] == 0 and run["fetched_bytes"] > 5000
    assert run["summary"]["message"] == "crawl complete"
    assert run["summary"]["counts"]["skipped.robots"] == 1
    failed = c.get(
        f"/api/v1/runs/{run['id']}/urls", params={"state": "failed"}, headers=staff
    ).json()
    assert failed["total"] == 1
    assert (
        failed["items"][0]["url"].endswith("/a/missing.html")
        and failed["items"][0]["status"] == 404
    )
    assert failed["items"][0]["error"] == "HTTP 404"
    skipped = c.get(
        f"/api/v1/runs/{run['id']}/urls", params={"state": "skipped"}, headers=staff
    ).json()
    assert [u["url"].rsplit("/", 2)[-2:] for u in skipped["items"]] == [["private", "secret.html"]]
    assert "disallowed by robots.txt" in skipped["items"][0]["error"]
    every = c.get(
        f"/api/v1/runs/{run['id']}/urls", params={"limit": 2, "offset": 1}, headers=staff
    ).json()
    assert every["total"] == 6 and len(every["items"]) == 2
    # the robots.txt refusal is real: the server never saw the request
    assert not [p for p in world.log if p.startswith("/private/")]
    listed = c.get("/api/v1/runs", params={"site": crawled["a"]}, headers=staff).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == run["id"]
    assert c.get("/api/v1/runs", headers=staff).json()["total"] == 2
    _error(c.get("/api/v1/runs/R999999", headers=staff), 404, "not_found")
    _error(
        c.get("/api/v1/runs/R1/urls", params={"state": "lost"}, headers=staff),
        422,
        "validation_error",
    )
    _error(c.post("/api/v1/sites/S000001/runs", headers=staff), 404, "not_found")  # no plan
    for role in ("holder", "operator"):
        _error(
            c.post(f"/api/v1/sites/{crawled['a']}/runs", headers=svc.auth(role)), 403, "forbidden"
        )
        _error(c.get("/api/v1/runs", headers=svc.auth(role)), 403, "forbidden")
    _error(c.post(f"/api/v1/sites/{crawled['a']}/runs"), 401, "unauthenticated")


def test_a_run_of_a_site_locked_by_another_process_is_a_conflict(
    svc: Service, crawled: dict[str, Any]
) -> None:
    """The service's per-site lock (what a CLI run in another process holds) refuses it."""
    from jianwang.domain import parse_id

    lock = svc.jw.settings.home / "locks" / f"site-{parse_id('site', crawled['a'])}.lock"
    with open(lock, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        r = svc.client.post(
            f"/api/v1/sites/{crawled['a']}/runs", headers=svc.auth("admin"), json={"max_pages": 3}
        )
    _error(r, 409, "conflict")


# ---------------------------------------------------------------- hits


def test_hits_are_listed_per_role(svc: Service, crawled: dict[str, Any]) -> None:
    every = _hits(svc, "admin")
    assert every["total"] == 3
    assert {(h["site_id"], h["owner"]) for h in every["items"]} == {
        (crawled["a"], "Tang Poetry Press"),
        (crawled["a"], "Old Light Scripture Society"),
        (crawled["b"], "Tang Poetry Press"),
    }
    for h in every["items"]:
        assert h["verdict"] == "match" and h["score"] > 0.9 and h["media"] == "text"
        assert h["segments"] and h["capture_id"].startswith("C") and h["id"].startswith("HIT")
    assert not [h for h in every["items"] if "clean" in h["url"]]
    assert _hits(svc, "staff", site=crawled["b"])["total"] == 1
    tang = _hit_of(svc, "唐诗三百首选读（1）")
    assert _hits(svc, "staff", work=tang["work_id"])["total"] == 1
    page = _hits(svc, "staff", limit=1, offset=1)
    assert page["total"] == 3 and len(page["items"]) == 1 and page["offset"] == 1
    # a rights holder: its own works only
    mine = _hits(svc, "holder")
    assert mine["total"] == 2 and {h["owner"] for h in mine["items"]} == {"Tang Poetry Press"}
    theirs = _hits(svc, "other_holder")
    assert theirs["total"] == 1 and theirs["items"][0]["owner"] == "Old Light Scripture Society"
    genesis = theirs["items"][0]
    _error(
        svc.client.get(f"/api/v1/hits/{genesis['id']}", headers=svc.auth("holder")),
        404,
        "not_found",
    )
    assert _hits(svc, "holder", work=genesis["work_id"])["total"] == 0
    # a site operator: its own site only
    ops = _hits(svc, "operator")
    assert ops["total"] == 1 and ops["items"][0]["site_id"] == crawled["b"]
    assert _hits(svc, "operator", site=crawled["a"])["total"] == 0
    _error(
        svc.client.get(f"/api/v1/hits/{tang['id']}", headers=svc.auth("operator")), 404, "not_found"
    )
    _error(
        svc.client.get("/api/v1/hits", params={"site": "S999999"}, headers=svc.auth("admin")),
        404,
        "not_found",
    )
    _error(
        svc.client.get("/api/v1/hits", params={"state": "open"}, headers=svc.auth("admin")),
        422,
        "validation_error",
    )
    _error(svc.client.get("/api/v1/hits"), 401, "unauthenticated")
    one = svc.client.get(f"/api/v1/hits/{tang['id']}", headers=svc.auth("holder")).json()
    assert [e["action"] for e in one["events"]] == ["found"] and one["events"][0][
        "actor"
    ] == "monitor"


def test_hits_are_reviewed_by_the_regulator_only(svc: Service, crawled: dict[str, Any]) -> None:
    c = svc.client
    hit = next(h for h in _hits(svc, "admin", site=crawled["b"])["items"])
    url = f"/api/v1/hits/{hit['id']}"
    for role in ("holder", "operator"):
        _error(c.post(f"{url}/confirm", headers=svc.auth(role)), 403, "forbidden")
    _error(c.post(f"{url}/confirm"), 401, "unauthenticated")
    _error(c.post(f"{url}/reject", headers=svc.auth("staff"), json={}), 422, "invalid_input")
    _error(
        c.post(f"{url}/reject", headers=svc.auth("staff"), json={"reason": " "}),
        422,
        "invalid_input",
    )
    rejected = c.post(f"{url}/reject", headers=svc.auth("staff"), json={"reason": "licensed copy"})
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert (
        body["state"] == "rejected"
        and body["reviewer"] == "inspector"
        and body["reason"] == "licensed copy"
    )
    _error(c.post(f"{url}/confirm", headers=svc.auth("staff")), 409, "conflict")
    reopened = c.post(f"{url}/reopen", headers=svc.auth("admin")).json()
    assert reopened["state"] == "new" and reopened["reviewer"] is None
    _error(c.post(f"{url}/reopen", headers=svc.auth("admin")), 409, "conflict")
    confirmed = c.post(
        f"{url}/confirm", headers=svc.auth("admin"), json={"reason": "a copy"}
    ).json()
    assert confirmed["state"] == "confirmed" and confirmed["reviewer"] == "admin"
    assert [e["action"] for e in confirmed["events"]] == [
        "found",
        "rejected",
        "reopened",
        "confirmed",
    ]
    assert (
        confirmed["events"][1]["reason"] == "licensed copy"
        and confirmed["events"][1]["actor"] == "inspector"
    )
    assert _hits(svc, "operator", state="confirmed")["total"] == 1  # operators read it
    audit = c.get("/api/v1/audit", params={"target": hit["id"]}, headers=svc.auth("staff")).json()
    assert [e["action"] for e in audit["items"]] == ["hit.confirm", "hit.reopen", "hit.reject"]
    assert (
        audit["items"][2]["details"]["reason"] == "licensed copy"
        and audit["items"][2]["via"] == "api"
    )
    _error(c.post("/api/v1/hits/HIT999999/confirm", headers=svc.auth("admin")), 404, "not_found")
    _error(c.post("/api/v1/hits/X1/confirm", headers=svc.auth("admin")), 422, "validation_error")


# ---------------------------------------------------------------- captures and leads


def test_a_capture_is_sealed_evidence_served_as_an_attachment(
    svc: Service, crawled: dict[str, Any]
) -> None:
    c = svc.client
    hit = _hit_of(svc, "唐诗三百首选读（1）")
    r = c.get(f"/api/v1/captures/{hit['capture_id']}", headers=svc.auth("staff"))
    assert r.status_code == 200, r.text
    cap = r.json()
    assert (
        cap["url"].endswith("/a/copy.html")
        and cap["final_url"] == cap["url"]
        and cap["redirects"] == []
    )
    assert cap["ip"] == "127.0.0.1" and cap["status"] == 200 and cap["content_type"] == "text/html"
    assert ["x-pirate", "yes"] in cap["headers"] and cap["media"] == "text"
    assert (
        cap["verified"] is True and cap["hits"] == [hit["id"]] and cap["screenshot_sha256"] is None
    )
    assert cap["run_id"] == crawled["runs"][crawled["a"]]["id"]
    assert cap["fetched_at"].endswith(("Z", "+00:00"))
    body = c.get(f"/api/v1/captures/{cap['id']}/body", headers=svc.auth("staff"))
    assert body.status_code == 200
    assert body.headers["content-type"] == "application/octet-stream"
    assert body.headers["content-disposition"].startswith("attachment")
    assert body.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in body.headers["content-security-policy"]
    assert (
        body.headers["x-content-sha256"]
        == cap["body_sha256"]
        == hashlib.sha256(body.content).hexdigest()
    )
    assert len(body.content) == cap["body_size"] and "唐诗三百首 第一章".encode() in body.content
    _error(
        c.get(f"/api/v1/captures/{cap['id']}/screenshot", headers=svc.auth("staff")),
        404,
        "not_found",
    )
    # visibility follows the capture's hits
    assert c.get(f"/api/v1/captures/{cap['id']}", headers=svc.auth("holder")).status_code == 200
    assert (
        c.get(f"/api/v1/captures/{cap['id']}/body", headers=svc.auth("holder")).status_code == 200
    )
    for role in ("other_holder", "operator"):
        _error(c.get(f"/api/v1/captures/{cap['id']}", headers=svc.auth(role)), 404, "not_found")
        _error(
            c.get(f"/api/v1/captures/{cap['id']}/body", headers=svc.auth(role)), 404, "not_found"
        )
    b_hit = _hits(svc, "operator")["items"][0]
    assert (
        c.get(f"/api/v1/captures/{b_hit['capture_id']}", headers=svc.auth("operator")).status_code
        == 200
    )
    _error(c.get("/api/v1/captures/C999999", headers=svc.auth("admin")), 404, "not_found")
    _error(c.get(f"/api/v1/captures/{cap['id']}/body"), 401, "unauthenticated")


def test_a_tampered_capture_body_fails_verification(svc: Service, crawled: dict[str, Any]) -> None:
    hit = _hit_of(svc, "Genesis")
    cap = svc.client.get(f"/api/v1/captures/{hit['capture_id']}", headers=svc.auth("admin")).json()
    path = svc.jw.blobs.path(cap["body_sha256"])
    original = path.read_bytes()
    mode = path.stat().st_mode
    path.chmod(0o600)
    try:
        path.write_bytes(original.replace(b"Genesis", b"Exodus!"))
        after = svc.client.get(f"/api/v1/captures/{cap['id']}", headers=svc.auth("admin")).json()
        assert after["verified"] is False
        served = svc.client.get(f"/api/v1/captures/{cap['id']}/body", headers=svc.auth("admin"))
        # the recorded hash is what the download claims: the recipient sees the mismatch
        assert served.headers["x-content-sha256"] != hashlib.sha256(served.content).hexdigest()
    finally:
        path.write_bytes(original)
        path.chmod(mode)
    again = svc.client.get(f"/api/v1/captures/{cap['id']}", headers=svc.auth("admin")).json()
    assert again["verified"] is True


def test_network_disk_leads(svc: Service, crawled: dict[str, Any]) -> None:
    c = svc.client
    leads = c.get("/api/v1/leads", headers=svc.auth("staff")).json()
    assert leads["total"] == 1
    lead = leads["items"][0]
    assert lead["url"] == "https://pan.baidu.com/s/1AbCdEfGh" and lead["code"] == "x7k2"
    assert lead["site_id"] == crawled["a"] and lead["page_url"].endswith("/a/")
    assert (
        c.get("/api/v1/leads", params={"site": crawled["b"]}, headers=svc.auth("staff")).json()[
            "total"
        ]
        == 0
    )
    # the capture of a page with a lead only: the regulator's
    assert (
        c.get(f"/api/v1/captures/{lead['capture_id']}", headers=svc.auth("staff")).json()["hits"]
        == []
    )
    _error(
        c.get(f"/api/v1/captures/{lead['capture_id']}", headers=svc.auth("holder")),
        404,
        "not_found",
    )
    for role in ("holder", "operator"):
        _error(c.get("/api/v1/leads", headers=svc.auth(role)), 403, "forbidden")


def test_the_schema_documents_the_monitoring_routes(svc: Service) -> None:
    schema = svc.client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for p in (
        "/api/v1/plans",
        "/api/v1/sites/{site_id}/plan",
        "/api/v1/sites/{site_id}/runs",
        "/api/v1/runs",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/urls",
        "/api/v1/hits",
        "/api/v1/hits/{hit_id}",
        "/api/v1/hits/{hit_id}/confirm",
        "/api/v1/hits/{hit_id}/reject",
        "/api/v1/hits/{hit_id}/reopen",
        "/api/v1/captures/{capture_id}",
        "/api/v1/captures/{capture_id}/body",
        "/api/v1/captures/{capture_id}/screenshot",
        "/api/v1/leads",
    ):
        assert p in paths, p
    assert "202" in paths["/api/v1/sites/{site_id}/runs"]["post"]["responses"]
    assert (
        "application/octet-stream"
        in paths["/api/v1/captures/{capture_id}/body"]["get"]["responses"]["200"]["content"]
    )
    docs = svc.client.get("/api/v1/docs")
    assert "/api/v1/hits/{hit_id}/confirm" in docs.text


def test_a_run_is_stopped_and_resumed_through_the_api(
    svc: Service, crawled: dict[str, Any]
) -> None:
    c, staff = svc.client, svc.auth("staff")
    site_b = crawled["b"]
    started = c.post(f"/api/v1/sites/{site_b}/runs", headers=staff)
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    holder = c.post(f"/api/v1/runs/{run_id}/stop", headers=svc.auth("holder"))
    assert holder.status_code == 403
    stopped = c.post(f"/api/v1/runs/{run_id}/stop", headers=staff)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["state"] == "interrupted"
    _error(c.post(f"/api/v1/runs/{run_id}/stop", headers=staff), 409, "conflict")
    resumed = c.post(f"/api/v1/sites/{site_b}/runs", headers=staff)
    assert resumed.status_code == 202 and resumed.json()["id"] == run_id
    assert wait_for_run(svc, run_id)["state"] == "finished"
