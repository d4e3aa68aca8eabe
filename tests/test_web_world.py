"""The crawler's pirate web itself: pages exist, planted copies are copies (the existing
identification methods find them), traps behave, the logs record what was served."""

from __future__ import annotations

import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from jianwang import Jianwang
from jianwang.domain import Verdict

from .web_world import World


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with World(tmp_path_factory.mktemp("world"), filler_pages=12) as w:
        yield w


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, follow_redirects=False) as c:
        yield c


def test_every_site_has_its_seed_sitemap_and_search(world: World, client: httpx.Client) -> None:
    assert set(world.sites) == {"novels", "videos", "downloads", "traps"}
    assert any("localhost" in s.base_url for s in world.sites.values())
    for spec in world.sites.values():
        for seed in spec.seeds:
            r = client.get(seed)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert r.headers["content-length"] == str(len(r.content))
        for sm in spec.sitemaps:
            r = client.get(sm)
            assert r.status_code == 200 and b"<urlset" in r.content and b"<loc>" in r.content
    novels = world.sites["novels"]
    title = world.works["tang_poetry-01"][1]
    r = client.get(novels.search_templates[0].replace("{title}", quote(title)))
    assert r.status_code == 200 and "/book/101/1.html" in r.text
    r = client.get(novels.search_templates[0].replace("{title}", quote("没有这本书")))
    assert "/book/101/1.html" not in r.text


def test_pages_and_pagination(world: World, client: httpx.Client) -> None:
    counts = world.page_count()
    assert counts["novels"] >= 12 and counts["videos"] >= 12 and counts["downloads"] >= 12
    base = world.sites["novels"].base_url
    r = client.get(base + "/book/101/1.html")
    assert "下一页" in r.text and "/book/101/1_2.html" in r.text
    assert client.get(base + "/book/101/1_3.html").status_code == 200
    assert client.get(base + "/book/101/1_4.html").status_code == 404
    assert 'href="/list/2">下一页' in client.get(base + "/list/1").text  # 21 chapters
    assert 'href="/list/1">上一页' in client.get(base + "/list/2").text
    for url in world.clean_urls:
        assert client.head(url).status_code == 200, url


def test_planted_copies_are_served_where_they_are_linked(
    world: World, client: httpx.Client
) -> None:
    kinds = {(p.site, p.media) for p in world.planted}
    assert kinds == {("novels", "text"), ("videos", "video"), ("downloads", "file")}
    for p in world.planted:
        r = client.get(p.url)
        assert r.status_code == 200 and r.content, p.url
        if p.media == "text":
            assert p.url == p.found_on
        else:
            path = p.url.split("/", 3)[3]
            assert path.rsplit("/", 1)[-1] in client.get(p.found_on).text, p
    hls = next(p for p in world.planted if p.url.endswith(".m3u8"))
    playlist = client.get(hls.url).text
    assert "#EXT-X-ENDLIST" in playlist and playlist.count("#EXTINF") >= 3
    assert "new Player({" in client.get(hls.found_on).text
    embed = next(p for p in world.planted if "/embed/" in p.found_on)
    outer = world.sites["videos"].base_url + "/watch/103.html"
    assert (
        "/embed/" in client.get(outer).text
        and embed.url.rsplit("/", 1)[1] in client.get(embed.found_on).text
    )
    r = client.get(world.traps["netdisk_leads"])
    assert "pan.baidu.com/s/1Ab3xYz" in r.text and "提取码" in r.text and "aliyundrive" in r.text


def test_robots_and_conditional_requests(world: World, client: httpx.Client) -> None:
    base = world.sites["novels"].base_url
    robots = client.get(base + "/robots.txt").text
    assert "Disallow: /private/" in robots and "Crawl-delay: 0" in robots
    assert world.traps["robots_disallowed"].startswith(base + "/private/")
    r = client.get(base + "/book/102/2.html")
    etag, lm = r.headers["etag"], r.headers["last-modified"]
    assert client.get(base + "/book/102/2.html", headers={"If-None-Match": etag}).status_code == 304
    r304 = client.get(base + "/book/102/2.html", headers={"If-Modified-Since": lm})
    assert r304.status_code == 304 and r304.content == b""
    other = client.get(base + "/book/102/2.html", headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200
    media = next(p.url for p in world.planted if p.url.endswith(".mp4"))
    part = client.get(media, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100


def test_traps(world: World, client: httpx.Client) -> None:
    t = world.traps
    home = client.get(world.sites["traps"].base_url + "/").text
    for name, url in t.items():
        if url.startswith(world.sites["traps"].base_url):
            assert url.split("/", 3)[3].split("?")[0] in home, name
    cal = client.get(t["calendar"]).text
    assert "/calendar?month=2026-12" in cal and "/calendar?month=2026-10" in cal
    assert (
        "/calendar?month=2027-01"
        in client.get(t["calendar"].replace("month=2026-11", "month=2026-12")).text
    )
    s1, s2 = client.get(t["session_loop"]).text, client.get(t["session_loop"]).text
    assert "jsessionid=" in s1 and s1 != s2
    assert client.get(t["error_500"]).status_code == 500
    for name, loc in [
        ("redirect_metadata", "http://169.254.169.254/latest/meta-data/"),
        ("redirect_private", world.forbidden_urls[0]),
        ("redirect_private_10", "http://10.0.0.1/admin"),
        ("redirect_loop", "/loop/b"),
    ]:
        r = client.get(t[name])
        assert r.status_code == 302 and r.headers["location"] == loc, name
    assert client.get(t["malformed"]).status_code == 200
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    raw = client.get(t["malformed"]).content
    links = [a.attributes.get("href") for a in HTMLParser(raw).css("a")]
    assert "/calendar/day?d=2026-01-01" in links


def test_busy_answers_429_once_per_client(world: World, client: httpx.Client) -> None:
    world.reset_logs()
    r = client.get(world.traps["busy_429"])
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert client.get(world.traps["busy_429"]).status_code == 200
    world.reset_logs()
    assert client.get(world.traps["busy_429"]).status_code == 429


def test_gzip_bomb_oversized_slow_and_hang(world: World) -> None:
    t = world.traps
    with httpx.Client(timeout=5) as c, c.stream("GET", t["gzip_bomb"]) as r:
        assert r.headers["content-encoding"] == "gzip"
        raw = b"".join(r.iter_raw())
    assert len(raw) < 2_000_000
    d = zlib.decompressobj(31)
    first = d.decompress(raw[:4096], 1 << 20)
    assert first.startswith(b"<html>") and len(first) == 1 << 20  # keeps going: >= 1 GB
    with httpx.Client(timeout=5) as c, c.stream("GET", t["oversized"]) as r:
        assert int(r.headers["content-length"]) >= 60 * 1024 * 1024
        got = 0
        for chunk in r.iter_bytes():
            got += len(chunk)
            if got > 2_000_000:
                break
    with httpx.Client(timeout=5) as c:
        assert int(c.head(t["oversized"]).headers["content-length"]) == 60 * 1024 * 1024
        assert c.head(t["oversized_chunked"]).headers["transfer-encoding"] == "chunked"
    with httpx.Client(timeout=httpx.Timeout(5, read=1.0)) as c, c.stream("GET", t["slow"]) as r:
        start, got = time.monotonic(), 0
        for chunk in r.iter_bytes():
            got += len(chunk)
            if time.monotonic() - start > 1.5:
                break
        assert 0 < got < 200
    with httpx.Client(timeout=httpx.Timeout(5, read=0.5)) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get(t["hang"])
        with pytest.raises(httpx.ReadTimeout):
            c.get(t["hang_no_headers"])


def test_logs_and_the_forbidden_server(world: World, client: httpx.Client) -> None:
    world.reset_logs()
    assert world.requests() == [] and world.forbidden_requests() == []
    client.get(world.traps["redirect_private"])  # not followed: nothing reaches 127.0.0.2
    assert world.forbidden_requests() == []
    base = world.sites["videos"].base_url
    client.get(base + "/watch/101.html?x=1", headers={"User-Agent": "JianwangBot/1"})
    [req] = world.requests("videos")
    assert (req.site, req.method, req.path) == ("videos", "GET", "/watch/101.html?x=1")
    assert req.path_with_query == req.path and req.headers["user-agent"] == "JianwangBot/1"
    assert [r.site for r in world.requests()] == ["traps", "videos"]
    assert world.forbidden_urls[0].startswith("http://127.0.0.2:")
    r = client.get(world.forbidden_urls[0])
    assert r.status_code == 200
    [f] = world.forbidden_requests()
    assert f.path == "/secret" and f.site == "forbidden"
    assert all(r.site != "forbidden" for r in world.requests())


def test_keep_alive_requests_are_fast(world: World, client: httpx.Client) -> None:
    """The benchmark crawls 1,000+ pages: a keep-alive request must not pay Nagle's 40 ms."""
    urls = [u for u in world.clean_urls if u.endswith(".html")][:50]
    start = time.monotonic()
    for u in urls:
        client.get(u)
    assert time.monotonic() - start < 1.5


def test_take_down_and_put_back(world: World, client: httpx.Client) -> None:
    url = next(p.url for p in world.planted if p.url.endswith(".zip"))
    path = "/" + url.split("/", 3)[3]
    world.take_down(path)
    try:
        assert client.get(url).status_code == 404
    finally:
        world.put_back(path)
    assert client.get(url).status_code == 200


def test_http11_keep_alive(world: World) -> None:
    host, port = world.sites["novels"].base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        for _ in range(2):
            s.sendall(b"GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            body = head.split(b"\r\n\r\n", 1)[1]
            while len(body) < length:
                body += s.recv(4096)


def test_planted_copies_are_identified_and_clean_pages_are_not(
    world: World, client: httpx.Client, tmp_path: Path
) -> None:
    with Jianwang.open(home=tmp_path / "home") as jw:
        ids = world.register(jw)
        assert set(ids) == set(world.works)
        for p in world.planted:
            if p.url.endswith(".m3u8"):
                playlist = client.get(p.url).text
                base = p.url.rsplit("/", 1)[0]
                segs = [ln for ln in playlist.splitlines() if ln and not ln.startswith("#")]
                data = b"".join(client.get(f"{base}/{s}").content for s in segs)
                name = "stream.ts"
            else:
                data = client.get(p.url).content
                name = p.url.rsplit("/", 1)[1]
            if p.media == "text":
                path = tmp_path / "page.html"
                path.write_bytes(data)
                ident = jw.identify_path(path)
            else:
                ident = jw.identify(data, name)
            top = [m for m in ident.matches if m.verdict == Verdict.MATCH]
            assert top and top[0].work_id == ids[p.work], (p, ident.matches)
        private = jw.identify(client.get(world.traps["robots_disallowed"]).content, "p.html")
        assert private.matches[0].work_id == ids["tang_poetry-02"]
        books = [u for u in world.clean_urls if "/book/" in u]
        checked = books[:4] + books[-3:]  # the unregistered corpus, then generated filler
        checked += [u for u in world.clean_urls if u.endswith((".mp4", ".zip"))][:4]
        for url in checked:
            ident = jw.identify(client.get(url).content, url.rsplit("/", 1)[1])
            assert [m for m in ident.matches if m.verdict == Verdict.MATCH] == [], url


def test_raw_mpegts_is_sniffed_and_decoded_as_video(world: World, client: httpx.Client) -> None:
    """HLS segments joined as they come (no remuxing) are video to Jianwang."""
    from jianwang.media import decode
    from jianwang.media.sniff import sniff

    hls = next(p for p in world.planted if p.url.endswith(".m3u8"))
    base = hls.url.rsplit("/", 1)[0]
    joined = b"".join(client.get(f"{base}/seg{k:03d}.ts").content for k in range(2))
    assert joined[0] == 0x47 and joined[188] == 0x47
    assert sniff(joined) == (sniff(joined)[0], "ts") and sniff(joined)[0].value == "video"
    frames = decode(joined, query=True).signal
    assert len(frames.times) > 10 and frames.times[-1] > 4.0


def test_a_second_world_on_the_same_root_is_fast(world: World) -> None:
    start = time.monotonic()
    with World(world.root, filler_pages=330) as big:
        assert time.monotonic() - start < 10
        total = sum(big.page_count().values())
        assert total >= 1000
        assert len(big.clean_urls) > 990
