"""The dashboard through the real app: sign-in, CSRF, throttling, language, pages, the
identify result's side-by-side passages; every template string is translated."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from jianwang import WorkInput
from jianwang.web import i18n

from .service_fixtures import PAGES, Service, csrf_of, dashboard_client, open_service

TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "jianwang" / "web" / "templates"


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = open_service(tmp_path_factory.mktemp("dash") / "home")
    yield s
    s.jw.close()


def test_every_string_is_translated() -> None:
    assert set(i18n.MESSAGES["en"]) == set(i18n.MESSAGES["zh"])
    used = set()
    for f in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_.0-9-]+)'\)", f.read_text()))
    assert len(used) > 60
    assert used - set(i18n.MESSAGES["en"]) == set()
    # keys built in templates from values: every value has its string
    prefixes = {"type.", "category.", "tier.", "role.", "status."}
    from jianwang.domain import Role, SiteCategory, SupervisionTier, WorkStatus, WorkType

    for prefix, enum in zip(
        sorted(prefixes), [SiteCategory, Role, WorkStatus, SupervisionTier, WorkType], strict=True
    ):
        for member in enum:
            assert f"{prefix}{member.value}" in i18n.MESSAGES["zh"], (prefix, member)


def test_pages_need_a_session(svc: Service) -> None:
    client, _ = dashboard_client(svc, None)
    r = client.get("/works")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/works"


def test_sign_in_pages_and_sign_out(svc: Service) -> None:
    client, csrf = dashboard_client(svc, "holder")
    home = client.get("/")
    assert (
        home.status_code == 200
        and "Tang Poetry Press" in home.text
        and 'id="count-works">8<' in home.text
    )
    works = client.get("/works")
    assert works.text.count('href="/works/W') == 16  # 8 works, id and title links
    assert "Genesis" not in works.text
    search = client.get(
        "/works", params={"q": "唐诗"}, headers={"HX-Request": "true", "HX-Target": "works-table"}
    )
    assert "<html" not in search.text and search.text.count("<tr>") == 7  # header + 6
    other = svc.work_of("Old Light Scripture Society")
    assert client.get(f"/works/{other}").status_code == 404
    out = client.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert client.get("/").status_code == 303


def test_csrf_is_required_on_every_form(svc: Service) -> None:
    client, csrf = dashboard_client(svc, "staff")
    r = client.post("/identify", data={"text": "床前明月光"})
    assert r.status_code == 403 and "did not come from this site" in r.text
    r = client.post("/identify", data={"text": "床前明月光", "csrf": "forged"})
    assert r.status_code == 403
    r = client.post("/logout")
    assert r.status_code == 403
    anon, _ = dashboard_client(svc, None)
    fresh = type(anon)(svc.client.app, follow_redirects=False)
    r = fresh.post("/login", data={"username": "inspector", "password": svc.passwords["inspector"]})
    assert r.status_code == 403  # a login form from elsewhere
    ok = client.post("/identify", data={"text": "床前明月光", "csrf": csrf})
    assert ok.status_code == 200


def test_login_failures_are_throttled(svc: Service) -> None:
    client, _ = dashboard_client(svc, None)
    csrf = csrf_of(client.get("/login").text)
    svc.jw.accounts.add_user("victim", "the right password", "staff")
    statuses = [
        client.post(
            "/login", data={"username": "victim", "password": f"guess {i}", "csrf": csrf}
        ).status_code
        for i in range(svc.jw.settings.login_max_failures)
    ]
    assert statuses == [401] * svc.jw.settings.login_max_failures
    locked = client.post(
        "/login", data={"username": "victim", "password": "the right password", "csrf": csrf}
    )
    assert locked.status_code == 429


def test_language_switch(svc: Service) -> None:
    client, _ = dashboard_client(svc, "admin")
    assert "作品" in client.get("/", headers={"Accept-Language": "zh-CN"}).text
    r = client.get("/lang/en", params={"next": "/sites"})
    assert r.status_code == 303 and r.headers["location"] == "/sites"
    page = client.get("/sites").text
    assert "Key websites" in page and "重点网站" not in page.replace('lang="', "")
    client.get("/lang/zh")
    assert "重点网站" in client.get("/sites").text
    evil = client.get("/lang/en", params={"next": "//evil.example.com"})
    assert evil.headers["location"] == "/"
    evil = client.get("/lang/en", params={"next": "/\\evil.example.com"})
    assert evil.headers["location"] == "/"


def test_identify_shows_aligned_passages_side_by_side(svc: Service) -> None:
    client, csrf = dashboard_client(svc, "admin")
    page = (PAGES / "01-injected-ads.html").read_bytes()
    r = client.post("/identify", files={"file": ("01.html", page)}, data={"csrf": csrf})
    assert r.status_code == 200
    ident = svc.jw.identify(page)
    m = ident.matches[0]
    assert (
        m.work_id in r.text
        and 'class="passage query"' in r.text
        and 'class="passage reference"' in r.text
    )
    marks = re.findall(r'<mark class="s\d" data-segment="(\d+)">', r.text)
    # every aligned passage is highlighted on both sides
    assert sorted(set(marks)) == sorted(str(i + 1) for i in range(len(m.segments)))
    assert len(marks) == 2 * len(m.segments)


def test_register_by_upload(svc: Service) -> None:
    client, csrf = dashboard_client(svc, "other_holder")
    text = ("耶和华说：要有光。" * 40 + "新的经文。" * 40).encode()
    r = client.post(
        "/works/new",
        files=[("files", ("light.txt", text))],
        data={"csrf": csrf, "type": "literature", "title": "光之篇"},
    )
    assert r.status_code == 200 and 'id="registered"' in r.text
    wid = re.search(r"<b>(W\d+)</b>", r.text).group(1)  # type: ignore[union-attr]
    assert svc.jw.registry.get_work(wid).owner == "Old Light Scripture Society"
    detail = client.get(f"/works/{wid}")
    assert "light.txt" in detail.text and 'id="assets"' in detail.text
    entries, _ = svc.jw.accounts.audit_log(target=wid)
    assert [(e.action, e.actor, e.via) for e in entries] == [
        ("work.create", "scripture", "dashboard")
    ]


def test_identify_shows_matched_time_ranges_of_a_recording(svc: Service) -> None:
    from .audio_fixtures import encode, song

    rate = 22050
    music = song(7, 30.0, rate)
    work = svc.jw.registry.add_work(
        WorkInput(
            [("theme.wav", encode(music, rate, "wav"))], "music", "主题曲", "Tang Poetry Press"
        )
    )
    excerpt = encode(music[10 * rate : 22 * rate], rate, "mp3")
    client, csrf = dashboard_client(svc, "holder")
    r = client.post("/identify", files={"file": ("clip.mp3", excerpt)}, data={"csrf": csrf})
    assert r.status_code == 200 and work.id in r.text
    ranges = re.findall(
        r"<td>(\d+:\d\d\.\d)–(\d+:\d\d\.\d)</td><td>(\d+:\d\d\.\d)–(\d+:\d\d\.\d)</td>", r.text
    )
    assert ranges, r.text[-2000:]
    # the excerpt starts 10 s into the work
    assert abs(_clock_seconds(ranges[0][2]) - 10.0 - _clock_seconds(ranges[0][0])) < 1.0


def _clock_seconds(text: str) -> float:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + float(seconds)
