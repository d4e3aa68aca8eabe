"""The authorisation matrix, role × route, through the real app: every route of the app has a
rule in `policy.RULES` and an example request here (a new route without either fails), and
every role gets exactly what the rule says: allowed (neither 401 nor 403), or 403; without
credentials 401 (API) or a redirect to sign in (dashboard)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jianwang.web import policy, route_keys

from .service_fixtures import ROLES, Service, dashboard_client, open_service

_seq = itertools.count(1)

Example = Callable[[Service], tuple[str, str, dict[str, Any]]]


def _import_example() -> tuple[str, str, dict[str, Any]]:
    n = next(_seq)
    manifest = f"file,type,title,owner\nm{n}.txt,literature,import {n},Tang Poetry Press\n"
    return (
        "POST",
        "/api/v1/imports/works",
        {
            "files": [
                ("manifest", ("m.csv", manifest.encode())),
                ("files", (f"m{n}.txt", b"imported " * 60 + str(n).encode() * 300)),
            ]
        },
    )


#: one request per route: (method, url, keyword arguments of the client call)
EXAMPLES: dict[str, Example] = {
    "GET /api/v1/me": lambda s: ("GET", "/api/v1/me", {}),
    "GET /api/v1/overview": lambda s: ("GET", "/api/v1/overview", {}),
    "GET /api/v1/works": lambda s: ("GET", "/api/v1/works", {}),
    "POST /api/v1/works": lambda s: (
        "POST",
        "/api/v1/works",
        {
            "files": {"files": ("c.txt", b"matrix " * 50 + str(next(_seq)).encode() * 300)},
            "data": {
                "type": "literature",
                "title": f"matrix {next(_seq)}",
                "owner": "Tang Poetry Press",
            },
        },
    ),
    "POST /api/v1/imports/works": lambda s: _import_example(),
    "POST /api/v1/imports/sites": lambda s: (
        "POST",
        "/api/v1/imports/sites",
        {
            "files": {
                "csv_file": (
                    "s.csv",
                    f"name,domains,category,tier\nimp {next(_seq)},imp{next(_seq)}.example.com,video,national\n".encode(),
                )
            }
        },
    ),
    "GET /api/v1/config": lambda s: ("GET", "/api/v1/config", {}),
    "GET /api/v1/works/{work_id}": lambda s: (
        "GET",
        f"/api/v1/works/{s.work_of('Tang Poetry Press')}",
        {},
    ),
    "POST /api/v1/works/{work_id}/withdraw": lambda s: (
        "POST",
        "/api/v1/works/W999999/withdraw",
        {},
    ),
    "GET /api/v1/works/{work_id}/assets": lambda s: (
        "GET",
        f"/api/v1/works/{s.work_of('Tang Poetry Press')}/assets",
        {},
    ),
    "GET /api/v1/works/{work_id}/assets/{sha256}": lambda s: (
        "GET",
        f"/api/v1/works/{s.work_of('Tang Poetry Press')}/assets/"
        + s.jw.registry.get_work(s.work_of("Tang Poetry Press")).assets[0].sha256,
        {},
    ),
    "GET /api/v1/holders": lambda s: ("GET", "/api/v1/holders", {}),
    "POST /api/v1/holders": lambda s: (
        "POST",
        "/api/v1/holders",
        {"json": {"name": f"Holder {next(_seq)}"}},
    ),
    "GET /api/v1/sites": lambda s: ("GET", "/api/v1/sites", {}),
    "POST /api/v1/sites": lambda s: (
        "POST",
        "/api/v1/sites",
        {
            "json": {
                "name": f"site {next(_seq)}",
                "domains": [f"m{next(_seq)}.example.com"],
                "category": "video",
            }
        },
    ),
    "GET /api/v1/sites/{site_id}": lambda s: ("GET", "/api/v1/sites/S000002", {}),
    "POST /api/v1/identify": lambda s: (
        "POST",
        "/api/v1/identify",
        {"data": {"text": "床前明月光，疑是地上霜。"}},
    ),
    "GET /api/v1/users": lambda s: ("GET", "/api/v1/users", {}),
    "POST /api/v1/users": lambda s: (
        "POST",
        "/api/v1/users",
        {
            "json": {
                "username": f"u{next(_seq)}",
                "password": "long enough password",
                "role": "staff",
            }
        },
    ),
    "PATCH /api/v1/users/{user_id}": lambda s: (
        "PATCH",
        "/api/v1/users/2",
        {"json": {"active": True}},
    ),
    "GET /api/v1/tokens": lambda s: ("GET", "/api/v1/tokens", {}),
    "POST /api/v1/tokens": lambda s: ("POST", "/api/v1/tokens", {"json": {"name": "matrix"}}),
    "DELETE /api/v1/tokens/{token_id}": lambda s: ("DELETE", "/api/v1/tokens/999999", {}),
    "GET /api/v1/audit": lambda s: ("GET", "/api/v1/audit", {}),
    "GET /api/v1/index/stats": lambda s: ("GET", "/api/v1/index/stats", {}),
    "POST /api/v1/index/compact": lambda s: ("POST", "/api/v1/index/compact", {}),
    "POST /api/v1/index/rebuild": lambda s: ("POST", "/api/v1/index/rebuild", {}),
    # monitoring: the matrix's home has no plans until the PUT example makes one; ids that do
    # not exist answer 404 to those allowed (crawls are exercised in test_monitor_api.py)
    "GET /api/v1/plans": lambda s: ("GET", "/api/v1/plans", {}),
    "GET /api/v1/sites/{site_id}/plan": lambda s: ("GET", "/api/v1/sites/S000003/plan", {}),
    "PUT /api/v1/sites/{site_id}/plan": lambda s: (
        "PUT",
        "/api/v1/sites/S000003/plan",
        {"json": {"seeds": ["https://music.example.net/"], "max_pages": 10}},
    ),
    "DELETE /api/v1/sites/{site_id}/plan": lambda s: ("DELETE", "/api/v1/sites/S000004/plan", {}),
    "POST /api/v1/sites/{site_id}/runs": lambda s: ("POST", "/api/v1/sites/S000001/runs", {}),
    "GET /api/v1/runs": lambda s: ("GET", "/api/v1/runs", {}),
    "POST /api/v1/runs/{run_id}/stop": lambda s: ("POST", "/api/v1/runs/R999999/stop", {}),
    "GET /api/v1/runs/{run_id}": lambda s: ("GET", "/api/v1/runs/R999999", {}),
    "GET /api/v1/runs/{run_id}/urls": lambda s: ("GET", "/api/v1/runs/R999999/urls", {}),
    "GET /api/v1/hits": lambda s: ("GET", "/api/v1/hits", {}),
    "GET /api/v1/hits/{hit_id}": lambda s: ("GET", "/api/v1/hits/HIT999999", {}),
    "POST /api/v1/hits/{hit_id}/confirm": lambda s: ("POST", "/api/v1/hits/HIT999999/confirm", {}),
    "POST /api/v1/hits/{hit_id}/reject": lambda s: (
        "POST",
        "/api/v1/hits/HIT999999/reject",
        {"json": {"reason": "matrix"}},
    ),
    "POST /api/v1/hits/{hit_id}/reopen": lambda s: ("POST", "/api/v1/hits/HIT999999/reopen", {}),
    "GET /api/v1/captures/{capture_id}": lambda s: ("GET", "/api/v1/captures/C999999", {}),
    "GET /api/v1/captures/{capture_id}/body": lambda s: (
        "GET",
        "/api/v1/captures/C999999/body",
        {},
    ),
    "GET /api/v1/captures/{capture_id}/screenshot": lambda s: (
        "GET",
        "/api/v1/captures/C999999/screenshot",
        {},
    ),
    "GET /api/v1/leads": lambda s: ("GET", "/api/v1/leads", {}),
    "GET /api/v1/openapi.json": lambda s: ("GET", "/api/v1/openapi.json", {}),
    "GET /api/v1/docs": lambda s: ("GET", "/api/v1/docs", {}),
    "GET /login": lambda s: ("GET", "/login", {}),
    "POST /login": lambda s: ("POST", "/login", {"data": {"username": "nobody", "password": "x"}}),
    "POST /logout": lambda s: ("POST", "/logout", {}),
    "GET /lang/{code}": lambda s: ("GET", "/lang/en", {}),
    "GET /static": lambda s: ("GET", "/static/htmx.min.js", {}),
    "GET /": lambda s: ("GET", "/", {}),
    "GET /works": lambda s: ("GET", "/works", {}),
    "GET /works/new": lambda s: ("GET", "/works/new", {}),
    "POST /works/new": lambda s: (
        "POST",
        "/works/new",
        {
            "files": {"files": ("d.txt", b"dashboard " * 50 + str(next(_seq)).encode() * 300)},
            "data": {
                "type": "literature",
                "title": f"dash {next(_seq)}",
                "owner": "Tang Poetry Press",
            },
        },
    ),
    "GET /works/{work_id}": lambda s: ("GET", f"/works/{s.work_of('Tang Poetry Press')}", {}),
    "POST /works/{work_id}/remove": lambda s: ("POST", "/works/W999999/remove", {}),
    "GET /sites": lambda s: ("GET", "/sites", {}),
    "GET /sites/{site_id}": lambda s: ("GET", "/sites/S000002", {}),
    "GET /identify": lambda s: ("GET", "/identify", {}),
    "POST /identify": lambda s: (
        "POST",
        "/identify",
        {"data": {"text": "床前明月光，疑是地上霜。"}},
    ),
    "GET /monitor": lambda s: ("GET", "/monitor", {}),
    "POST /monitor/{site_id}/run": lambda s: ("POST", "/monitor/S000001/run", {}),
    "GET /runs/{run_id}": lambda s: ("GET", "/runs/R999999", {}),
    "POST /runs/{run_id}/stop": lambda s: ("POST", "/runs/R999999/stop", {}),
    "GET /hits": lambda s: ("GET", "/hits", {}),
    "GET /hits/{hit_id}": lambda s: ("GET", "/hits/HIT999999", {}),
    "POST /hits/{hit_id}/review": lambda s: (
        "POST",
        "/hits/HIT999999/review",
        {"data": {"action": "confirm"}},
    ),
    "GET /captures/{capture_id}/body": lambda s: ("GET", "/captures/C999999/body", {}),
    "GET /captures/{capture_id}/screenshot": lambda s: ("GET", "/captures/C999999/screenshot", {}),
}


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = open_service(tmp_path_factory.mktemp("matrix") / "home")
    yield s
    s.jw.close()


def test_every_route_has_a_rule_and_an_example(svc: Service) -> None:
    routes = route_keys(svc.client.app)  # type: ignore[arg-type]
    assert len(routes) > 30
    assert routes - set(policy.RULES) == set(), "routes without a rule in policy.RULES"
    assert set(policy.RULES) - routes == set(), "rules for routes that do not exist"
    assert routes - set(EXAMPLES) == set(), "routes without an example in this matrix"


#: object-level outcomes on top of the route rules: another rights holder's work is "not
#: found" (404, existence does not leak), registering in another's name is 403
OBJECT_RULES: dict[tuple[str, str], int] = {
    ("other_holder", "GET /api/v1/works/{work_id}"): 404,
    ("other_holder", "GET /api/v1/works/{work_id}/assets"): 404,
    ("other_holder", "GET /api/v1/works/{work_id}/assets/{sha256}"): 404,
    ("other_holder", "POST /api/v1/works"): 403,
    ("other_holder", "POST /api/v1/imports/works"): 403,
    ("other_holder", "GET /works/{work_id}"): 404,
}


def _role_of_user(role: str) -> str:
    return "holder" if role == "other_holder" else role


def _expect(role: str | None, key: str) -> str:
    roles = policy.RULES[key]
    if not roles:
        return "allowed"
    if role is None:
        return "login"
    return "allowed" if _role_of_user(role) in {r.value for r in roles} else "denied"


@pytest.mark.parametrize("role", [None, *ROLES])
def test_matrix(svc: Service, role: str | None) -> None:
    client, csrf = dashboard_client(svc, role)
    keys = sorted(EXAMPLES, key=lambda k: (k == "POST /logout", k))  # sign out last
    failures = []
    for key in keys:
        method, url, kwargs = EXAMPLES[key](svc)
        headers = {"X-CSRF-Token": csrf}
        if role is not None and url.startswith("/api/"):
            headers.update(svc.auth(role))
        r = client.request(method, url, headers=headers, **kwargs)
        expected = _expect(role, key)
        api = url.startswith("/api/")
        if role is not None and (role, key) in OBJECT_RULES:
            if r.status_code != OBJECT_RULES[role, key]:
                failures.append(
                    f"{role} {key}: expected {OBJECT_RULES[role, key]}, got {r.status_code}"
                )
            continue
        to_login = r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        if expected == "allowed":
            # a failed sign-in is a 401 page, not a denial
            ok = r.status_code != 403 and r.status_code < 500 and not to_login
            ok = ok and not (api and r.status_code == 401)
        elif expected == "denied":
            ok = r.status_code == 403
            if ok and api:
                ok = r.json()["error"]["code"] == "forbidden"
        else:
            ok = (
                (r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated")
                if api
                else (to_login)
            )
        if not ok:
            failures.append(
                f"{role} {key}: expected {expected}, got {r.status_code} {r.text[:200]}"
            )
    assert not failures, "\n".join(failures)


def test_denied_api_requests_share_one_error_shape(svc: Service) -> None:
    r = svc.client.get("/api/v1/users", headers=svc.auth("holder"))
    assert r.status_code == 403
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "forbidden" and body["error"]["details"] == {"role": "holder"}


def test_rules_are_checked_before_the_route_runs(svc: Service, tmp_path: Path) -> None:
    """A forbidden POST changes nothing: the operator's work registration never happens."""
    before = svc.jw.registry.list_works(status="all")[1]
    r = svc.client.post(
        "/api/v1/works",
        headers=svc.auth("operator"),
        files={"files": ("x.txt", b"operator text " * 100)},
        data={"type": "literature", "title": "not allowed", "owner": "Tang Poetry Press"},
    )
    assert r.status_code == 403
    assert svc.jw.registry.list_works(status="all")[1] == before
