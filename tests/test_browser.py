"""The dashboard in real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright's Python package; no browser download) against a real `jianwang serve`: sign in,
register a work by upload, identify a pirate page and see the aligned passages, switch
language, sign out; a rights holder cannot reach another holder's work."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jianwang import Jianwang
from jianwang.demo import load_service_demo

from .conftest import unregistered_chapters
from .service_fixtures import PAGES, free_port, start_server, stop_server

CHROMIUM = os.environ.get("JIANWANG_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    home = tmp_path_factory.mktemp("browser") / "home"
    with Jianwang.open(home=home) as jw:
        passwords = {u: p for u, p, _ in load_service_demo(jw)}
    port = free_port()
    proc = start_server(home, port)
    try:
        yield f"http://127.0.0.1:{port}", passwords
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"no Chromium at {CHROMIUM}: run scripts/setup (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_rights_holder_registers_identifies_switches_language_and_signs_out(
    server: tuple[str, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    base, passwords = server
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    _sign_in(page, base, "tang", passwords["tang"])
    assert page.locator("#count-works").inner_text() == "8"
    assert "Tang Poetry Press" in page.locator(".user").inner_text()

    # register a work by upload
    page.click("a[href='/works']")
    page.click("#register-link")
    chapter = unregistered_chapters()[1]  # a Tang chapter nobody registered
    page.set_input_files("input[name=files]", str(chapter))
    page.fill("input[name=title]", "唐诗新选（浏览器登记）")
    page.click("#register-form button[type=submit]")
    page.wait_for_selector("#registered", timeout=60_000)
    assert float(page.locator("#upload-progress").get_attribute("value") or 0) == 100.0
    work_id = page.locator("#registered b").inner_text()
    page.click("#registered a")
    page.wait_for_url(f"{base}/works/{work_id}")
    assert chapter.name in page.locator("#assets").inner_text()

    # identify a pirate page: the aligned passages side by side, highlighted
    page.click("a[href='/identify']")
    page.set_input_files("input[name=file]", str(PAGES / "01-injected-ads.html"))
    page.click("#identify-form button[type=submit]")
    page.wait_for_selector(".match", timeout=60_000)
    assert "W000001" in page.locator(".match h2").first.inner_text()
    query_marks = page.locator(".passage.query mark")
    reference_marks = page.locator(".passage.reference mark")
    assert query_marks.count() >= 2 and query_marks.count() == reference_marks.count()
    assert "侵权复制" in page.locator(".verdict").first.inner_text()

    # switch language, then sign out
    page.click("#lang-switch")
    page.wait_for_load_state()
    assert page.locator("nav a[href='/sites']").inner_text() == "Key websites"
    page.click("#signout")
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/works")
    assert page.url.startswith(f"{base}/login")
    assert page.locator("h1").inner_text() == "Sign in"
    ctx.close()


def test_a_rights_holder_cannot_reach_another_holders_work(
    server: tuple[str, dict[str, str]], browser: Any
) -> None:
    base, passwords = server
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    _sign_in(page, base, "scripture", passwords["scripture"])
    page.goto(f"{base}/works")
    assert "Tang Poetry Press" not in page.locator("main").inner_text()
    response = page.goto(f"{base}/works/W000001")  # Tang Poetry Press's
    assert response.status == 404
    assert "Not found" in page.locator("main").inner_text()
    assert "感遇" not in page.content()
    ctx.close()
