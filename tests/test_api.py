"""The REST API through the real FastAPI app on a real home (SQLite; the last tests also on
PostgreSQL): works, assets, holders, sites, identify, users, tokens, the audit table,
pagination, filtering, sorting and the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jianwang import Jianwang

from .conftest import demo_chapters
from .service_fixtures import PAGES, Service, open_service


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = open_service(tmp_path_factory.mktemp("api") / "home")
    yield s
    s.jw.close()


def _error(r: object, status: int, code: str) -> dict:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def test_works_list_paginates_filters_and_sorts(svc: Service) -> None:
    c, h = svc.client, svc.auth("admin")
    r = c.get("/api/v1/works", params={"limit": 5, "offset": 0}, headers=h)
    page1 = r.json()
    assert r.status_code == 200 and page1["total"] == 14 and len(page1["items"]) == 5
    page3 = c.get("/api/v1/works", params={"limit": 5, "offset": 10}, headers=h).json()
    assert len(page3["items"]) == 4 and page3["offset"] == 10
    ids = [w["id"] for w in page1["items"]]
    assert ids == sorted(ids)
    by_title = c.get("/api/v1/works", params={"sort": "-title", "limit": 100}, headers=h).json()
    titles = [w["title"] for w in by_title["items"]]
    assert titles == sorted(titles, reverse=True)
    found = c.get("/api/v1/works", params={"q": "Genesis"}, headers=h).json()
    assert found["total"] == 1 and found["items"][0]["owner"] == "Old Light Scripture Society"
    owned = c.get("/api/v1/works", params={"owner": "Tang Poetry Press", "limit": 100}, headers=h)
    assert owned.json()["total"] == 8
    _error(c.get("/api/v1/works", params={"sort": "size"}, headers=h), 422, "validation_error")
    _error(c.get("/api/v1/works", params={"limit": 0}, headers=h), 422, "validation_error")
    _error(c.get("/api/v1/works", params={"type": "poem"}, headers=h), 422, "validation_error")


def test_a_rights_holder_sees_only_its_own_works(svc: Service) -> None:
    c = svc.client
    mine = c.get("/api/v1/works", params={"limit": 100}, headers=svc.auth("holder")).json()
    assert mine["total"] == 8
    assert {w["owner"] for w in mine["items"]} == {"Tang Poetry Press"}
    # asking for another owner's works gives nothing, not their works
    theirs = c.get(
        "/api/v1/works", params={"owner": "Old Light Scripture Society"}, headers=svc.auth("holder")
    ).json()
    assert theirs["total"] == 0
    other = svc.work_of("Old Light Scripture Society")
    _error(c.get(f"/api/v1/works/{other}", headers=svc.auth("holder")), 404, "not_found")
    _error(c.post(f"/api/v1/works/{other}/withdraw", headers=svc.auth("holder")), 404, "not_found")
    holders = c.get("/api/v1/holders", headers=svc.auth("holder")).json()
    assert [h["name"] for h in holders["items"]] == ["Tang Poetry Press"]
    _error(c.get("/api/v1/works", headers=svc.auth("operator")), 403, "forbidden")


def test_a_site_operator_sees_only_its_own_site(svc: Service) -> None:
    c = svc.client
    sites = c.get("/api/v1/sites", headers=svc.auth("operator")).json()
    assert sites["total"] == 1 and sites["items"][0]["name"] == "示例小说站"
    own = sites["items"][0]["id"]
    assert c.get(f"/api/v1/sites/{own}", headers=svc.auth("operator")).status_code == 200
    _error(c.get("/api/v1/sites/S000001", headers=svc.auth("operator")), 404, "not_found")
    every = c.get("/api/v1/sites", params={"sort": "-name"}, headers=svc.auth("staff")).json()
    assert every["total"] == 4
    names = [s["name"] for s in every["items"]]
    assert names == sorted(names, reverse=True)
    prov = c.get("/api/v1/sites", params={"tier": "provincial"}, headers=svc.auth("staff")).json()
    assert {s["province"] for s in prov["items"]} == {"浙江", "广东"}


def test_register_show_download_and_withdraw_a_work(svc: Service) -> None:
    c, h = svc.client, svc.auth("holder")
    chapter = demo_chapters()[0].read_bytes()
    text = chapter.decode("utf-8")[::-1].encode("utf-8")  # a new text of the same letters
    r = c.post(
        "/api/v1/works",
        headers=h,
        files=[("files", ("reversed.txt", text))],
        data={"type": "literature", "title": "倒序诗选", "isbn": "9780306406157"},
    )
    assert r.status_code == 201, r.text
    work = r.json()
    assert work["owner"] == "Tang Poetry Press" and work["identifiers"] == {"isbn": "9780306406157"}
    [asset] = c.get(f"/api/v1/works/{work['id']}/assets", headers=h).json()["items"]
    assert asset["filename"] == "reversed.txt" and asset["size"] == len(text)
    download = c.get(f"/api/v1/works/{work['id']}/assets/{asset['sha256']}", headers=h)
    assert download.status_code == 200 and download.content == text
    dup = c.post(
        "/api/v1/works",
        headers=h,
        files=[("files", ("reversed.txt", text))],
        data={"type": "literature", "title": "倒序诗选"},
    )
    assert _error(dup, 409, "duplicate")["details"]["work_id"] == work["id"]
    ident = c.post("/api/v1/identify", headers=h, files={"file": ("q.txt", text)}).json()
    assert [m["work_id"] for m in ident["matches"]] == [work["id"]]
    removed = c.post(f"/api/v1/works/{work['id']}/withdraw", headers=h)
    assert removed.status_code == 200 and removed.json()["status"] == "removed"
    again = c.post("/api/v1/identify", headers=h, files={"file": ("q.txt", text)}).json()
    assert again["matches"] == []
    audit = c.get("/api/v1/audit", params={"target": work["id"]}, headers=svc.auth("staff")).json()
    assert [(e["action"], e["actor"], e["via"]) for e in audit["items"]] == [
        ("work.remove", "tang", "api"),
        ("work.create", "tang", "api"),
    ]


def test_registering_bad_input_is_a_4xx_in_the_error_shape(svc: Service) -> None:
    c, h = svc.client, svc.auth("admin")
    no_owner = c.post(
        "/api/v1/works",
        headers=h,
        files=[("files", ("a.txt", b"some words " * 100))],
        data={"type": "literature", "title": "no owner"},
    )
    _error(no_owner, 422, "invalid_input")
    wrong_media = c.post(
        "/api/v1/works",
        headers=h,
        files=[("files", ("a.txt", b"some words " * 100))],
        data={"type": "music", "title": "text as music", "owner": "X"},
    )
    _error(wrong_media, 422, "invalid_input")
    _error(c.post("/api/v1/works", headers=h, data={"type": "literature"}), 422, "validation_error")
    in_other_name = c.post(
        "/api/v1/works",
        headers=svc.auth("holder"),
        files=[("files", ("a.txt", b"some words " * 100))],
        data={"type": "literature", "title": "t", "owner": "Old Light Scripture Society"},
    )
    _error(in_other_name, 403, "forbidden")


def test_identify_returns_the_cli_json_contract(svc: Service) -> None:
    page = (PAGES / "01-injected-ads.html").read_bytes()
    expected = svc.jw.identify(page, "01-injected-ads.html").to_json()
    r = svc.client.post(
        "/api/v1/identify",
        headers=svc.auth("staff"),
        files={"file": ("01-injected-ads.html", page)},
    )
    assert r.status_code == 200
    assert r.json() == expected
    assert expected["matches"][0]["verdict"] == "match" and expected["matches"][0]["segments"]


def test_identify_hides_other_holders_works_from_a_rights_holder(svc: Service) -> None:
    page = (PAGES / "01-injected-ads.html").read_bytes()  # a copy of a Tang Poetry Press work
    own = svc.client.post(
        "/api/v1/identify", headers=svc.auth("holder"), files={"file": ("p.html", page)}
    ).json()
    assert (
        own["matches"] and own["matches"][0]["work_id"] == svc.jw.identify(page).matches[0].work_id
    )
    other = svc.client.post(
        "/api/v1/identify", headers=svc.auth("other_holder"), files={"file": ("p.html", page)}
    ).json()
    assert other["matches"] == []
    # the site operator checks uploads against every protected work
    op = svc.client.post(
        "/api/v1/identify", headers=svc.auth("operator"), data={"text": page.decode("utf-8")}
    ).json()
    assert op["matches"] and op["media"] == "text"


def test_identify_errors(svc: Service) -> None:
    c, h = svc.client, svc.auth("staff")
    _error(c.post("/api/v1/identify", headers=h), 422, "invalid_input")
    _error(
        c.post("/api/v1/identify", headers=h, files={"file": ("e.bin", b"")}), 422, "invalid_input"
    )


def test_unknown_routes_and_methods_use_the_error_shape(svc: Service) -> None:
    _error(svc.client.get("/api/v1/nothing-here", headers=svc.auth("admin")), 404, "not_found")
    _error(svc.client.put("/api/v1/works", headers=svc.auth("admin")), 405, "method_not_allowed")
    err = _error(svc.client.get("/api/v1/works"), 401, "unauthenticated")
    assert "bearer" in err["message"].lower()
    bad = svc.client.get("/api/v1/works", headers={"Authorization": "Bearer jw_forged"})
    _error(bad, 401, "unauthenticated")


def test_users_and_tokens(svc: Service) -> None:
    c, h = svc.client, svc.auth("admin")
    r = c.post(
        "/api/v1/users",
        headers=h,
        json={
            "username": "reader",
            "password": "correct horse battery",
            "role": "holder",
            "holder": "H000001",
        },
    )
    assert r.status_code == 201, r.text
    reader = r.json()
    assert reader["holder_name"] == "Tang Poetry Press" and reader["role"] == "holder"
    _error(
        c.post(
            "/api/v1/users",
            headers=h,
            json={"username": "reader", "password": "x" * 10, "role": "staff"},
        ),
        409,
        "duplicate",
    )
    _error(
        c.post(
            "/api/v1/users",
            headers=h,
            json={"username": "op", "password": "x" * 10, "role": "operator"},
        ),
        422,
        "invalid_input",
    )
    listed = c.get("/api/v1/users", params={"role": "holder"}, headers=h).json()
    assert {u["username"] for u in listed["items"]} == {"tang", "scripture", "reader"}
    # the reader gets a token, uses it, lists it, and the administrator disables the reader
    token, secret = svc.jw.accounts.create_token(reader["id"], "script")
    rh = {"Authorization": f"Bearer {secret}"}
    assert c.get("/api/v1/me", headers=rh).json()["username"] == "reader"
    created = c.post("/api/v1/tokens", headers=rh, json={"name": "second"})
    assert created.status_code == 201 and created.json()["token"].startswith("jw_")
    mine = c.get("/api/v1/tokens", headers=rh).json()
    assert {t["name"] for t in mine["items"]} == {"script", "second"}
    assert all("token" not in t for t in mine["items"])
    # another user's token is "not found" to a non-administrator
    _error(c.delete(f"/api/v1/tokens/{token.id}", headers=svc.auth("holder")), 404, "not_found")
    revoked = c.delete(f"/api/v1/tokens/{created.json()['id']}", headers=rh)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    _error(
        c.get("/api/v1/me", headers={"Authorization": f"Bearer {created.json()['token']}"}),
        401,
        "unauthenticated",
    )
    off = c.patch(f"/api/v1/users/{reader['id']}", headers=h, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    _error(c.get("/api/v1/me", headers=rh), 401, "unauthenticated")
    me = c.get("/api/v1/me", headers=h).json()
    _error(c.patch(f"/api/v1/users/{me['id']}", headers=h, json={"active": False}), 409, "conflict")
    actions = [
        e["action"]
        for e in c.get("/api/v1/audit", params={"actor": "admin"}, headers=h).json()["items"]
    ]
    assert "user.create" in actions and "user.disable" in actions


def test_overview_is_scoped(svc: Service) -> None:
    c = svc.client
    admin = c.get("/api/v1/overview", headers=svc.auth("admin")).json()
    assert admin["works"]["by_type"]["literature"] >= 14 and admin["sites"]["total"] == 4
    assert admin["users"]["admin"] == 1
    holder = c.get("/api/v1/overview", headers=svc.auth("other_holder")).json()
    assert holder["works"]["active"] == 4 and holder["holders"] == 1 and "users" not in holder
    op = c.get("/api/v1/overview", headers=svc.auth("operator")).json()
    assert "works" not in op and op["sites"]["total"] == 1


def test_openapi_documents_every_api_route_and_the_error_shape(svc: Service) -> None:
    schema = svc.client.get("/api/v1/openapi.json").json()
    assert schema["info"]["version"] == "1"
    assert "/api/v1/identify" in schema["paths"] and "/api/v1/works/{work_id}" in schema["paths"]
    assert "ErrorBody" in schema["components"]["schemas"]
    get_work = schema["paths"]["/api/v1/works/{work_id}"]["get"]
    assert {"401", "403", "404", "422"} <= set(get_work["responses"])
    assert not any(p.startswith("/works") for p in schema["paths"])  # the dashboard is not API


# ---------------------------------------------------------------- SQLite and PostgreSQL


@pytest.fixture
def any_svc(home: Path, database_url: str) -> Iterator[Service]:
    s = open_service(home, database_url)
    yield s
    s.jw.close()


def test_api_on_both_databases(any_svc: Service) -> None:
    """The same calls on SQLite and on PostgreSQL: list, register, identify, audit."""
    svc = any_svc
    c = svc.client
    assert c.get("/api/v1/works", headers=svc.auth("holder")).json()["total"] == 8
    text = "\n".join(f"第{i}行：{'春眠不觉晓处处闻啼鸟'[i % 10 :]}{i * 7919}" for i in range(300))
    r = c.post(
        "/api/v1/works",
        headers=svc.auth("admin"),
        files=[("files", ("new.txt", text.encode()))],
        data={
            "type": "literature",
            "title": "新作",
            "owner": "新权利人",
            "release_date": "2024-05-01",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["release_date"] == "2024-05-01"
    ident = c.post("/api/v1/identify", headers=svc.auth("staff"), data={"text": text}).json()
    assert ident["matches"][0]["work_id"] == r.json()["id"]
    holders = c.get("/api/v1/holders", params={"sort": "-name"}, headers=svc.auth("staff")).json()
    assert holders["total"] == 4 and "新权利人" in [h["name"] for h in holders["items"]]
    entries = c.get("/api/v1/audit", headers=svc.auth("admin")).json()["items"]
    assert entries[0]["action"] == "work.create" and entries[0]["actor"] == "admin"
    assert isinstance(svc.jw, Jianwang)


def test_bulk_imports_and_config(svc: Service) -> None:
    c = svc.client
    chapters = demo_chapters()
    manifest = (
        "file,type,title,owner,isbn\na.txt;b.txt,literature,合集（导入）,Tang Poetry Press,\n"
    )
    a = chapters[0].read_text(encoding="utf-8")[::-1].encode()
    b = chapters[1].read_text(encoding="utf-8")[::-1].encode()
    files = [
        ("manifest", ("m.csv", manifest.encode())),
        ("files", ("a.txt", a)),
        ("files", ("b.txt", b)),
    ]
    r = c.post("/api/v1/imports/works", headers=svc.auth("holder"), files=files)
    assert r.status_code == 200, r.text
    [wid] = r.json()["added"]
    assert len(svc.jw.registry.get_work(wid).assets) == 2
    listed = c.get(
        f"/api/v1/works/{wid}/assets",
        params={"sort": "-filename", "limit": 1},
        headers=svc.auth("holder"),
    ).json()
    assert listed["total"] == 2 and [x["filename"] for x in listed["items"]] == ["b.txt"]
    again = c.post("/api/v1/imports/works", headers=svc.auth("holder"), files=files).json()
    assert again["added"] == [] and again["skipped"] == [wid]
    # a manifest can only name files sent with it: no reading the server's files
    sneaky = "file,type,title,owner\n../../etc/passwd,literature,x,Tang Poetry Press\n"
    r = c.post(
        "/api/v1/imports/works",
        headers=svc.auth("holder"),
        files=[("manifest", ("m.csv", sneaky.encode())), ("files", ("a.txt", a))],
    )
    _error(r, 422, "invalid_input")
    sites = "name,domains,category,tier,province\n导入站,import.example.cn,video,provincial,江苏\n"
    r = c.post(
        "/api/v1/imports/sites",
        headers=svc.auth("staff"),
        files={"csv_file": ("s.csv", sites.encode())},
    )
    assert r.status_code == 200 and len(r.json()["added"]) == 1
    config = {e["variable"]: e for e in c.get("/api/v1/config", headers=svc.auth("admin")).json()}
    assert config["JIANWANG_MAX_MATCHES"]["value"] == "10"
    assert config["JIANWANG_SECRET_KEY"]["value"] == ""


def test_the_api_reference_page_lists_every_operation_offline(svc: Service) -> None:
    schema = svc.client.get("/api/v1/openapi.json").json()
    page = svc.client.get("/api/v1/docs", headers={"Accept-Language": "en"}).text
    count = sum(len(item) for item in schema["paths"].values())
    assert page.count("<tr><td><code>") == count
    assert "cdn" not in page.lower() and "/static/htmx.min.js" in page
    assert "Regulator (administrator)" in page


@pytest.mark.parametrize(
    "body",
    [
        b'name,domains\r\n"unclosed,x\r\n',
        b"name,domains,category,tier\na,b.example.com,video,national,extra\n",
        b"\xff\xfe\x00",
    ],
)
def test_malformed_csv_is_a_422(svc: Service, body: bytes) -> None:
    r = svc.client.post(
        "/api/v1/imports/sites", headers=svc.auth("admin"), files={"csv_file": ("s.csv", body)}
    )
    _error(r, 422, "invalid_input")
    r = svc.client.post(
        "/api/v1/imports/works",
        headers=svc.auth("admin"),
        files=[("manifest", ("m.csv", body)), ("files", ("a.txt", b"x"))],
    )
    _error(r, 422, "invalid_input")
