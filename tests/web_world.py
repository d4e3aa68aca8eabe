"""A local "pirate web" for the monitoring crawler's tests and benchmark: real HTTP servers
(one `ThreadingHTTPServer` per site, on its own port of 127.0.0.1) serving a pirate
literature site, a video site (MP4, HLS, iframe players), a download site (archives,
renamed binaries, network-disk leads) and a site of crawler traps, plus a *forbidden* server
on 127.0.0.2 that the crawler must never reach. Every request is logged.

    with World(tmp / "world", filler_pages=40) as world:
        ids = world.register(jw)            # work key -> public work id
        ... crawl world.sites[...] ...
        assert world.forbidden_requests() == []

Planted copies (`world.planted`) are real copies of registered works under the distortions
the identification methods are meant to survive; `world.clean_urls` hold no registered
work. Media are generated once and cached under `root` (cold: about 8 s on two cores, most
of it the 1 GiB gzip bomb; a second world on the same root starts in 0.1 s).

Layout (paths; every site has /robots.txt, and all but traps /sitemap.xml and /search?q=):

* novels (127.0.0.1): / → /list/N (20 a page, 上一页/下一页) → /book/B/C.html, continued
  on /book/B/C_2.html, _3.html ("下一页"). Planted: /book/101/1.html (+_2, _3; traditional
  characters), /book/102/2.html (+_2; KJV English), /book/103/3.html (+_2); each page holds
  a third or half of a chapter with adverts and punctuation noise. Clean: /book/201-206/
  (the unregistered corpus) and /book/1000+k/1.html (lines of that corpus, shuffled).
  /private/vip/1.html is a copy linked from the home page and disallowed by robots.txt.
* videos (127.0.0.1): /watch/101.html `<video><source src=/media/xhmh-hd.mp4>` (film, 3-15 s,
  cropped, brightened, rescaled); /watch/102.html a `new Player({src: "/hls/xhmh/index.m3u8"})`
  script (film, 2-14 s, four 3 s MPEG-TS segments seg000.ts.. relative to the playlist);
  /watch/103.html an iframe of /embed/7f3a.html whose `<video src=/media/bd/7f3a.mp4>` is
  film2 letterboxed. Clean: /watch/900.html and /v/K.html, all playing /media/city.mp4.
  Jianwang does not sniff raw MPEG-TS as video: remux the segments (to MP4) to identify.
* downloads (localhost): /soft/kuaijian.html → /dl/KuaiJian_v2.3_Crack.zip and
  /dl/kuaijian_setup.exe (the registered binary, renamed); /soft/kuaijian-mirror.html →
  /dl/kuaijian-2.3.tar.gz; /share.html network-disk links with extraction codes (never to
  be fetched). Clean: /soft/sucai.html → /dl/sucai-pack.zip, /soft/K.html → /dl/pack-K.zip.
* traps (127.0.0.1): the home page links every trap in `World.traps`.

Pages carry ETag and Last-Modified and answer If-None-Match / If-Modified-Since with 304;
media and archives answer Range requests with 206."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import html
import io
import json
import os
import random
import re
import shutil
import tarfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "src" / "jianwang" / "demo" / "corpus"

#: all pages and files claim this modification time (conditional requests compare to it)
LAST_MODIFIED = 1_790_000_000.0  # 2026-09-21
LAST_MODIFIED_HTTP = formatdate(LAST_MODIFIED, usegmt=True)
PAGE_SIZE = 20  # links per list page


@dataclass(frozen=True)
class SiteSpec:
    key: str
    name: str
    category: str
    base_url: str
    seeds: list[str]
    sitemaps: list[str]
    search_templates: list[str]
    include: list[str]
    exclude: list[str]


@dataclass(frozen=True)
class Planted:
    url: str
    work: str
    media: str
    site: str
    found_on: str


@dataclass(frozen=True)
class Request:
    site: str
    method: str
    path: str  # path with query, as sent
    headers: dict[str, str]  # header names lower-cased
    at: float  # time.time() when the request line was read

    @property
    def path_with_query(self) -> str:
        return self.path


@dataclass
class Resp:
    status: int = 200
    body: bytes = b""
    ctype: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True  # serve ETag / Last-Modified and answer 304


Stream = Callable[[BaseHTTPRequestHandler], None]


# ------------------------------------------------------------------ text


def _manifest(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


_ADS = [
    "【广告】澳门首家线上赌场上线啦！注册即送888元，点击 www.ag88.example 立即体验",
    "本站最新域名 shuhaige.example ，请牢记！手机用户请访问 m.shuhaige.example",
    "【推荐】免费小说APP下载，海量小说免费看，无弹窗无广告",
    "天才一秒记住本站地址，最快更新无错阅读！",
    "ADVERTISEMENT: Hot singles in your area — click here now!",
]


def _opencc_s2t() -> Callable[[str], str]:
    import opencc

    conv = opencc.OpenCC("s2t")
    return conv.convert


def _is_chinese(text: str) -> bool:
    return sum("\u4e00" <= c <= "\u9fff" for c in text) > len(text) * 0.3


def distort_text(text: str, seed: int, traditional: bool) -> list[str]:
    """Paragraphs of a pirate copy: traditional characters (OpenCC s2t) where asked and the
    text is Chinese, an advert line every 3-5 paragraphs, and whitespace / punctuation
    noise (full-width spaces, doubled or swapped punctuation)."""
    rng = random.Random(seed)
    if traditional and _is_chinese(text):
        text = _opencc_s2t()(text)
    out: list[str] = []
    paras = [p for p in text.splitlines() if p.strip()]
    gap = rng.randint(3, 5)
    for i, p in enumerate(paras):
        if rng.random() < 0.25:
            p = "\u3000\u3000" + p
        if rng.random() < 0.15:
            p = p.replace("，", ", ", 1).replace("。", "。。", 1)
        if rng.random() < 0.1:
            p = p.replace(" ", "  ", 2)
        out.append(p)
        if i % gap == gap - 1:
            out.append(rng.choice(_ADS))
    return out


def _split(paras: list[str], parts: int) -> list[list[str]]:
    n = len(paras)
    return [paras[n * i // parts : n * (i + 1) // parts] for i in range(parts)]


def _filler_lines() -> list[str]:
    """Lines of unrelated text to make clean chapters from (the unregistered corpus)."""
    lines: list[str] = []
    for p in sorted((CORPUS / "unregistered").glob("*.txt")):
        lines += [x for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
    return lines


# ------------------------------------------------------------------ pages


def _e(s: str) -> str:
    return html.escape(s, quote=True)


def page(
    site_name: str,
    title: str,
    body: str,
    nav: list[tuple[str, str]],
    sidebar: list[tuple[str, str]] = (),  # type: ignore[assignment]
    extra_head: str = "",
) -> bytes:
    """Realistic page chrome: header, nav, sidebar of links, ads, comments, footer."""
    navs = "".join(f'<li><a href="{_e(u)}">{_e(t)}</a></li>' for u, t in nav)
    side = "".join(f'<li><a href="{_e(u)}">{_e(t)}</a></li>' for u, t in sidebar)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{_e(title)} - {_e(site_name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="keywords" content="{_e(title)},免费阅读,最新章节,在线观看,下载">
<link rel="stylesheet" href="/static/style.css">
<script>var _hmt = _hmt || []; (function() {{ var hm = document.createElement("script");
hm.src = "https://hm.baidu.example/hm.js?abc123"; }})();</script>
{extra_head}
</head><body>
<div class="header"><div class="logo"><a href="/">{_e(site_name)}</a></div>
<form action="/search" method="get"><input name="q" placeholder="搜索"><button>搜索</button></form>
<a href="/login" rel="nofollow">登录</a> | <a href="/user/register" rel="nofollow">注册</a></div>
<ul class="nav">{navs}</ul>
<div class="ad-top"><a href="https://ad.example.com/click?id=1" rel="nofollow sponsored">
<img src="https://ad.example.com/banner.gif" alt="广告"></a></div>
<div class="main"><div class="content">
{body}
</div>
<div class="sidebar"><h3>热门推荐</h3><ul>{side}</ul></div></div>
<div class="comments"><h3>网友评论</h3>
<div class="comment"><b>书友20260101</b>：更新太慢了，催更！</div>
<div class="comment"><b>路人甲</b>：好看，支持一下 👍</div></div>
<div class="footer">本站所有内容均来自互联网，如有侵权请联系删除。
Copyright © 2026 {_e(site_name)} 备案号：京ICP备00000000号</div>
<script src="/static/app.js"></script>
</body></html>
""".encode()


def _links(items: list[tuple[str, str]]) -> str:
    return (
        "<ul class=list>"
        + "".join(f'<li><a href="{_e(u)}">{_e(t)}</a></li>' for u, t in items)
        + "</ul>"
    )


def _pager(prefix: str, n: int, pages: int) -> str:
    parts = []
    if n > 1:
        parts.append(f'<a href="{prefix}{n - 1}">上一页</a>')
    parts.append(f"<span>第{n}/{pages}页</span>")
    if n < pages:
        parts.append(f'<a href="{prefix}{n + 1}">下一页</a>')
    return '<div class="pager">' + " ".join(parts) + "</div>"


def _sitemap(base: str, paths: list[str]) -> bytes:
    urls = "".join(
        f"<url><loc>{_e(base + p)}</loc><lastmod>2026-09-21</lastmod></url>" for p in paths
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'
    ).encode()


# ------------------------------------------------------------------ HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, host: str, site: _Site, world: World) -> None:
        self.site = site
        self.world = world
        super().__init__((host, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (what a crawler does to a trap) is not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30  # idle keep-alive connections are dropped after this
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add 40 ms to every keep-alive response
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _log(self) -> None:
        self.server.world._record(
            Request(
                self.server.site.key,
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                time.time(),
            )
        )

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_POST(self) -> None:
        self._log()
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self._send(Resp(405, b"method not allowed", "text/plain"), head=False)

    def _serve(self, head: bool) -> None:
        self._log()
        if self.server.world.latency:  # a remote site's round trip (the benchmark sets it)
            time.sleep(self.server.world.latency)
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        result: Resp | Stream | None
        if self.server.world._is_down(self.server.site.key, self.path, path):
            result = None  # taken down: 404
        else:
            result = self.server.site.route(path, query, self)
        if result is None:
            result = Resp(404, page(self.server.site.name, "404", "<h1>404 页面不存在</h1>", []))
        if callable(result):
            with contextlib.suppress(OSError):  # the client gave up (the point of a trap)
                result(self)
            self.close_connection = True
            return
        self._send(result, head)

    def _send(self, r: Resp, head: bool) -> None:
        body = r.body
        status = r.status
        headers = dict(r.headers)
        if r.conditional and status == 200:
            etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
            headers.setdefault("ETag", etag)
            headers.setdefault("Last-Modified", LAST_MODIFIED_HTTP)
            if _not_modified(self.headers, headers["ETag"]):
                status, body = 304, b""
            elif "Range" in self.headers and r.ctype.startswith(("video/", "application/")):
                m = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers["Range"].strip())
                if m and (m[1] or m[2]):
                    if m[1]:
                        a = int(m[1])
                        b = int(m[2]) if m[2] else len(body) - 1
                    else:
                        a, b = max(0, len(body) - int(m[2])), len(body) - 1
                    b = min(b, len(body) - 1)
                    if a <= b:
                        headers["Content-Range"] = f"bytes {a}-{b}/{len(body)}"
                        status, body = 206, body[a : b + 1]
            headers.setdefault("Accept-Ranges", "bytes")
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", r.ctype)
            self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if not head and status != 304:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True


def _not_modified(req: Any, etag: str) -> bool:
    inm = req.get("If-None-Match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = req.get("If-Modified-Since")
    if ims:
        try:
            return parsedate_to_datetime(ims).timestamp() >= LAST_MODIFIED
        except (TypeError, ValueError):
            return False
    return False


class _Site:
    key = ""
    name = ""
    category = ""
    host = "127.0.0.1"
    host_name = "127.0.0.1"  # what base_url uses

    def __init__(self, world: World) -> None:
        self.world = world
        self.server = _Server(self.host, self, world)
        self.port = self.server.server_address[1]
        self.base = f"http://{self.host_name}:{self.port}"

    def route(self, path: str, q: dict[str, str], h: _Handler) -> Resp | Stream | None:
        raise NotImplementedError

    def spec(self) -> SiteSpec:
        raise NotImplementedError

    def html(self, title: str, body: str, sidebar: list[tuple[str, str]] = ()) -> Resp:  # type: ignore[assignment]
        return Resp(200, page(self.name, title, body, self.nav(), sidebar))

    def listing(
        self,
        path: str,
        q: dict[str, str],
        items: list[tuple[str, str]],
        side: list[tuple[str, str]],
        label: str,
    ) -> Resp | None:
        """The sitemap, the paged lists and the search page over `items` (url, title), or
        None for another path (a list page past the end is None too: a 404)."""
        if path == "/sitemap.xml":
            return Resp(200, _sitemap(self.base, [u for u, _ in items]), "application/xml")
        m = re.fullmatch(r"/list/(\d+)", path)
        if m:
            n, pages = int(m[1]), max(1, -(-len(items) // PAGE_SIZE))
            if not 1 <= n <= pages:
                return None
            body = _links(items[(n - 1) * PAGE_SIZE : n * PAGE_SIZE]) + _pager("/list/", n, pages)
            return self.html(f"{label} 第{n}页", body, side)
        if path == "/search":
            query = q.get("q", "")
            hits = [(u, t) for u, t in items if query and _title_match(query, t)]
            return self.html("搜索", f"<h1>搜索结果</h1>{_links(hits)}")
        return None

    def nav(self) -> list[tuple[str, str]]:
        return [("/", "首页")]


# ------------------------------------------------------------------ novels


@dataclass
class _Chapter:
    path: str  # first page
    title: str
    pages: list[list[str]]  # paragraphs per page
    work: str | None  # planted work key, None when clean


class _Novels(_Site):
    key = "novels"
    name = "书海阁 (pirate literature)"
    category = "literature"
    WORKS: ClassVar[list[tuple[str, bool, int]]] = [  # corpus file, traditional?, pages
        ("tang_poetry-01.txt", True, 3),
        ("scripture-01.txt", False, 2),
        ("song_poetry-01.txt", False, 2),
    ]

    def __init__(self, world: World, filler: int) -> None:
        super().__init__(world)
        man = _manifest(CORPUS / "manifest.csv")
        self.chapters: dict[str, _Chapter] = {}  # every page path -> chapter
        self.order: list[_Chapter] = []
        for i, (fname, trad, parts) in enumerate(self.WORKS):
            key = fname.removesuffix(".txt")
            text = (CORPUS / fname).read_text(encoding="utf-8")
            title = man[fname]["title"]
            world.works[key] = ("literature", title, man[fname]["owner"], [CORPUS / fname])
            paras = distort_text(text, seed=i, traditional=trad)
            ch = _Chapter(f"/book/{101 + i}/{i + 1}.html", title, _split(paras, parts), key)
            self._add(ch)
        # the same copy under /private/, disallowed by robots.txt
        text = (CORPUS / "tang_poetry-02.txt").read_text(encoding="utf-8")
        world.works["tang_poetry-02"] = (
            "literature",
            man["tang_poetry-02.txt"]["title"],
            man["tang_poetry-02.txt"]["owner"],
            [CORPUS / "tang_poetry-02.txt"],
        )
        self.private = _Chapter(
            "/private/vip/1.html",
            "VIP " + man["tang_poetry-02.txt"]["title"],
            [distort_text(text, 9, True)],
            "tang_poetry-02",
        )
        uman = _manifest(CORPUS / "unregistered" / "manifest.csv")
        for j, p in enumerate(sorted((CORPUS / "unregistered").glob("*.txt"))):
            paras = p.read_text(encoding="utf-8").splitlines()
            title = uman.get(p.name, {}).get("title") or p.stem
            self._add(_Chapter(f"/book/{201 + j}/1.html", title, _split(paras, 2), None))
        lines = _filler_lines()
        for k in range(filler):
            rng = random.Random(1000 + k)
            paras = rng.sample(lines, min(len(lines), 40))
            self._add(_Chapter(f"/book/{1000 + k}/1.html", f"第{k + 1}章 杂录", [paras], None))

    def _add(self, ch: _Chapter) -> None:
        self.order.append(ch)
        for n in range(len(ch.pages)):
            self.chapters[self._page_path(ch, n)] = ch

    @staticmethod
    def _page_path(ch: _Chapter, n: int) -> str:
        return ch.path if n == 0 else ch.path.replace(".html", f"_{n + 1}.html")

    def all_pages(self) -> list[tuple[str, _Chapter]]:
        return [(self._page_path(c, n), c) for c in self.order for n in range(len(c.pages))]

    def list_pages(self) -> int:
        return max(1, -(-len(self.order) // PAGE_SIZE))

    def nav(self) -> list[tuple[str, str]]:
        return [("/", "首页"), ("/list/1", "全部小说"), ("/list/1?sort=hot", "排行榜")]

    def _sidebar(self) -> list[tuple[str, str]]:
        return [(c.path, c.title) for c in self.order[:8]]

    def route(self, path: str, q: dict[str, str], h: _Handler) -> Resp | Stream | None:
        if path == "/":
            body = "<h1>最新更新</h1>" + _links([(c.path, c.title) for c in self.order[:10]])
            body += '<p><a href="/list/1">更多小说 &raquo;</a> <a href="/private/vip/1.html">VIP章节</a></p>'
            return self.html("首页", body, self._sidebar())
        if path == "/robots.txt":
            txt = (
                "User-agent: *\nDisallow: /private/\nDisallow: /login\nCrawl-delay: 0\n\n"
                f"Sitemap: {self.base}/sitemap.xml\n"
            )
            return Resp(200, txt.encode(), "text/plain; charset=utf-8")
        if path == "/sitemap.xml":
            return Resp(
                200, _sitemap(self.base, [p for p, _ in self.all_pages()]), "application/xml"
            )
        m = re.fullmatch(r"/list/(\d+)", path)
        if m:
            n, pages = int(m[1]), self.list_pages()
            if not 1 <= n <= pages:
                return None
            items = self.order[(n - 1) * PAGE_SIZE : n * PAGE_SIZE]
            body = f"<h1>全部小说</h1>{_links([(c.path, c.title) for c in items])}"
            return self.html(
                f"全部小说 第{n}页", body + _pager("/list/", n, pages), self._sidebar()
            )
        if path == "/search":
            query = q.get("q", "").strip()
            hits = [c for c in self.order if query and _title_match(query, c.title)]
            body = f"<h1>搜索“{_e(query)}”的结果（{len(hits)}）</h1>"
            body += _links([(c.path, c.title) for c in hits]) if hits else "<p>没有找到相关内容</p>"
            return self.html("搜索", body)
        if path == self.private.path:
            return self._chapter(self.private, 0)
        ch = self.chapters.get(path)
        if ch is None:
            return None
        n = next(i for i in range(len(ch.pages)) if self._page_path(ch, i) == path)
        return self._chapter(ch, n)

    def _chapter(self, ch: _Chapter, n: int) -> Resp:
        paras = "".join(f"<p>{_e(p)}</p>" for p in ch.pages[n])
        nav = ['<a href="/list/1">目录</a>']
        if n > 0:
            nav.append(f'<a href="{self._page_path(ch, n - 1)}">上一页</a>')
        if n + 1 < len(ch.pages):
            nav.append(f'<a href="{self._page_path(ch, n + 1)}">下一页</a>')
        part = f"（{n + 1}/{len(ch.pages)}）" if len(ch.pages) > 1 else ""
        body = (
            f"<h1>{_e(ch.title)}{part}</h1><div class=ad>天才一秒记住本站地址</div>"
            f'<div id="content">{paras}</div><div class=pager>{" ".join(nav)}</div>'
        )
        return self.html(ch.title, body, self._sidebar())

    def spec(self) -> SiteSpec:
        return SiteSpec(
            self.key,
            self.name,
            self.category,
            self.base,
            [self.base + "/"],
            [self.base + "/sitemap.xml"],
            [self.base + "/search?q={title}"],
            [],
            [r"/login", r"/user/", r"[?&]sort="],
        )


def _title_match(query: str, title: str) -> bool:
    """Pirate sites' search: the query's core (before any "：" or "（") found in the title."""
    core = re.split(r"[：:（(]", query)[0].strip() or query
    return core in title or query in title


# ------------------------------------------------------------------ videos


FILM_SECONDS = 20.0
FPS = 25


def _build_media(root: Path) -> dict[str, Path]:
    """Two reference films, three distorted excerpts (one as HLS) and a clean video; cached
    under root (keyed by a version string)."""
    out = root / "media-v3"
    names = {
        "film": out / "film.mp4",
        "film2": out / "film2.mp4",
        "excerpt": out / "excerpt.mp4",
        "iframe": out / "iframe.mp4",
        "clean": out / "clean.mp4",
        "hls": out / "hls",
    }
    if (out / "done").exists():
        return names
    from . import video_fixtures as vf

    tmp = _scratch(out)
    (tmp / "hls").mkdir(parents=True)
    film = vf.shots(4242, FILM_SECONDS)
    (tmp / "film.mp4").write_bytes(vf.encode(film))
    # excerpt 3-15 s: cropped borders, brightened, re-encoded at another size
    import numpy as np

    def bright(f: Any) -> Any:
        return np.clip(vf.crop(f, 0.1).astype(np.int16) + 25, 0, 255).astype(np.uint8)

    ex = [bright(f) for f in film[3 * FPS : 15 * FPS]]
    (tmp / "excerpt.mp4").write_bytes(vf.encode(ex, size=(288, 216)))
    # iframe: the second film, letterboxed, 3-15 s
    film2 = vf.shots(5151, 16.0)
    (tmp / "film2.mp4").write_bytes(vf.encode(film2))
    lb = [vf.letterbox(f) for f in film2[3 * FPS : 15 * FPS]]
    (tmp / "iframe.mp4").write_bytes(vf.encode(lb))
    # HLS: 2-14 s, one continuous H.264 stream cut by FFmpeg's HLS muxer into four 3 s
    # MPEG-TS segments (keyframe every 3 s), VOD playlist with #EXT-X-ENDLIST
    _encode_hls(film[2 * FPS : 14 * FPS], tmp / "hls", (256, 192))
    (tmp / "clean.mp4").write_bytes(vf.encode(vf.shots(777, 8.0)))
    _publish(tmp, out)
    return names


def _scratch(out: Path) -> Path:
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _publish(tmp: Path, out: Path) -> None:
    """Move a finished cache directory into place; a concurrent builder may have won."""
    (tmp / "done").write_text("ok")
    if (out / "done").exists():
        shutil.rmtree(tmp, ignore_errors=True)
        return
    shutil.rmtree(out, ignore_errors=True)
    try:
        tmp.rename(out)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (out / "done").exists():
            raise


def _encode_hls(frames: list[Any], out: Path, size: tuple[int, int]) -> None:
    import av
    import cv2
    import numpy as np

    mux = av.open(
        str(out / "index.m3u8"),
        "w",
        format="hls",
        options={
            "hls_time": "3",
            "hls_playlist_type": "vod",
            "hls_segment_filename": str(out / "seg%03d.ts"),
        },
    )
    stream = mux.add_stream("libx264", rate=FPS)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    g = str(3 * FPS)
    stream.options = {
        "preset": "veryfast",
        "crf": "28",
        "g": g,
        "keyint_min": g,
        "sc_threshold": "0",
    }
    for f in frames:
        f = np.ascontiguousarray(cv2.resize(f, size, interpolation=cv2.INTER_AREA))
        for p in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
            mux.mux(p)
    for p in stream.encode():
        mux.mux(p)
    mux.close()


class _Files:
    """Bytes of files under root, read once."""

    def __init__(self) -> None:
        self._cache: dict[Path, bytes] = {}
        self._lock = threading.Lock()

    def get(self, p: Path) -> bytes:
        with self._lock:
            if p not in self._cache:
                self._cache[p] = p.read_bytes()
            return self._cache[p]


class _Videos(_Site):
    key = "videos"
    name = "西瓜影院 (pirate video)"
    category = "video"

    def __init__(self, world: World, filler: int) -> None:
        super().__init__(world)
        self.media = _build_media(world.root)
        self.files = _Files()
        self.filler = filler
        world.works["film"] = (
            "film",
            "星海迷航 (synthetic film)",
            "Jianwang Test Studio",
            [self.media["film"]],
        )
        world.works["film2"] = (
            "film",
            "长夜行者 (synthetic film)",
            "Jianwang Test Studio",
            [self.media["film2"]],
        )

    def nav(self) -> list[tuple[str, str]]:
        return [("/", "首页"), ("/list/1", "电影"), ("/list/1?sort=new", "最新")]

    def _items(self) -> list[tuple[str, str]]:
        base = [
            ("/watch/101.html", "星海迷航 高清国语 HD1080P"),
            ("/watch/102.html", "星海迷航 抢先版 在线播放"),
            ("/watch/103.html", "长夜行者 蓝光 (外链播放器)"),
            ("/watch/900.html", "城市风光 纪录短片"),
        ]
        return base + [(f"/v/{k + 1}.html", f"精彩短片 第{k + 1}集") for k in range(self.filler)]

    def route(self, path: str, q: dict[str, str], h: _Handler) -> Resp | Stream | None:
        items = self._items()
        side = items[:6]
        if path == "/":
            body = "<h1>热播影视</h1>" + _links(items[:12]) + '<a href="/list/1">更多</a>'
            return self.html("首页", body, side)
        if path == "/robots.txt":
            return Resp(200, b"User-agent: *\nAllow: /\n", "text/plain")
        listing = self.listing(path, q, items, side, "电影")
        if listing is not None:
            return listing
        if path == "/watch/101.html":
            body = (
                "<h1>星海迷航 高清国语</h1><div class=player>"
                '<video id="v" controls width="640" poster="/static/poster.jpg">'
                '<source src="/media/xhmh-hd.mp4" type="video/mp4"></video></div>'
                "<p>导演: 佚名 主演: 佚名 类型: 科幻</p>"
            )
            return self.html("星海迷航 高清国语", body, side)
        if path == "/watch/102.html":
            body = (
                '<h1>星海迷航 抢先版</h1><div id="player"></div>'
                '<script src="/static/player.js"></script>\n<script>\n'
                'var player = new Player({id: "player", autoplay: false, '
                'src: "/hls/xhmh/index.m3u8", poster: "/static/p.jpg"});\n</script>'
            )
            return self.html("星海迷航 抢先版", body, side)
        if path == "/watch/103.html":
            body = (
                "<h1>长夜行者 蓝光</h1>"
                '<iframe src="/embed/7f3a.html" width="640" height="360" frameborder="0" '
                "allowfullscreen></iframe><p>若无法播放请切换线路</p>"
            )
            return self.html("长夜行者 蓝光", body, side)
        if path == "/embed/7f3a.html":
            return Resp(
                200,
                b'<!DOCTYPE html><html><head><meta charset="utf-8"><title>player</title></head>'
                b'<body style="margin:0"><video controls autoplay src="/media/bd/7f3a.mp4">'
                b"</video></body></html>",
            )
        if path == "/watch/900.html":
            body = '<h1>城市风光</h1><video controls src="/media/city.mp4"></video>'
            return self.html("城市风光", body, side)
        m = re.fullmatch(r"/v/(\d+)\.html", path)
        if m and 1 <= int(m[1]) <= self.filler:
            k = int(m[1])
            body = (
                f"<h1>精彩短片 第{k}集</h1><video controls preload=none "
                f'poster="/static/p{k}.jpg" src="/media/city.mp4"></video>'
                f"<p>简介：第{k}集，风景、城市与生活。播放量 {k * 137 % 9973}</p>"
            )
            return self.html(f"精彩短片 第{k}集", body, side)
        media = {
            "/media/xhmh-hd.mp4": self.media["excerpt"],
            "/media/bd/7f3a.mp4": self.media["iframe"],
            "/media/city.mp4": self.media["clean"],
        }
        if path in media:
            return Resp(200, self.files.get(media[path]), "video/mp4")
        m = re.fullmatch(r"/hls/xhmh/(index\.m3u8|seg\d{3}\.ts)", path)
        if m:
            p = self.media["hls"] / m[1]
            if not p.exists():
                return None
            ctype = "application/vnd.apple.mpegurl" if m[1].endswith("m3u8") else "video/mp2t"
            return Resp(200, self.files.get(p), ctype)
        if path.startswith("/static/"):
            return Resp(
                200,
                b"/* static */",
                "text/css" if path.endswith(".css") else "application/javascript",
            )
        return None

    def spec(self) -> SiteSpec:
        return SiteSpec(
            self.key,
            self.name,
            self.category,
            self.base,
            [self.base + "/"],
            [self.base + "/sitemap.xml"],
            [self.base + "/search?q={title}"],
            [],
            [r"/login", r"/user/", r"[?&]sort="],
        )


# ------------------------------------------------------------------ downloads


def _pick_binary() -> Path:
    for name in ("sed", "grep", "tar", "cp", "ls", "find", "diff", "sort", "gzip"):
        for d in ("/usr/bin", "/bin"):
            p = Path(d) / name
            if p.is_file() and 60_000 < p.stat().st_size < 3_000_000:
                return p
    raise RuntimeError("no suitable system binary in /usr/bin for the software work")


def _build_archives(root: Path) -> dict[str, Path]:
    out = root / "files-v1"
    names = {k: out / k for k in ("tool.bin", "tool.zip", "tool.tar.gz", "clean.zip")}
    if (out / "done").exists():
        return names
    tmp = _scratch(out)
    data = _pick_binary().read_bytes()
    (tmp / "tool.bin").write_bytes(data)
    readme = "破解版 免安装 解压即用\n本软件仅供学习交流使用，请于下载后24小时内删除。\n".encode()
    with zipfile.ZipFile(tmp / "tool.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("KuaiJian_v2.3_Crack/KuaiJian.exe", data)
        z.writestr("KuaiJian_v2.3_Crack/使用说明.txt", readme)
    with tarfile.open(tmp / "tool.tar.gz", "w:gz") as t:
        for name, blob in (("kuaijian-2.3/bin/kuaijian", data), ("kuaijian-2.3/README", readme)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            info.mode = 0o755
            t.addfile(info, io.BytesIO(blob))
    (tmp / "clean.zip").write_bytes(_clean_zip(0))
    _publish(tmp, out)
    return names


def _clean_zip(seed: int) -> bytes:
    """A small archive of unrelated files: text notes and random data."""
    rng = random.Random(seed)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        words = ["素材", "壁纸", "字体", "模板", "教程", "图标", "音效", "合集"]
        z.writestr("readme.txt", " ".join(rng.choice(words) for _ in range(200)).encode())
        z.writestr("data/pack.dat", rng.randbytes(20_000))
        z.writestr("data/notes.md", f"# Pack {seed}\n\n" + "lorem ipsum " * rng.randint(10, 80))
    return buf.getvalue()


NETDISK_LEADS = [
    "链接: https://pan.baidu.com/s/1Ab3xYz 提取码: x7k2",
    "阿里云盘 https://www.aliyundrive.com/s/AbCdEf",
    "夸克网盘：https://pan.quark.cn/s/9f8e7d6c5b4a 提取码：k9m2",
    "115网盘 https://115.com/s/sw3abcd 访问码: 8g2h",
]


class _Downloads(_Site):
    key = "downloads"
    name = "绿软下载站 (pirate downloads)"
    category = "software"
    host_name = "localhost"

    def __init__(self, world: World, filler: int) -> None:
        super().__init__(world)
        self.files = _build_archives(world.root)
        self.cache = _Files()
        self.filler = filler
        world.works["tool"] = (
            "software",
            "快剪 KuaiJian 2.3",
            "Jianwang Test Software",
            [self.files["tool.bin"]],
        )
        self._packs: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def nav(self) -> list[tuple[str, str]]:
        return [("/", "首页"), ("/list/1", "软件"), ("/share.html", "网盘资源")]

    def _items(self) -> list[tuple[str, str]]:
        base = [
            ("/soft/kuaijian.html", "快剪 KuaiJian 2.3 破解版"),
            ("/soft/kuaijian-mirror.html", "快剪 KuaiJian 2.3 Linux 版"),
            ("/soft/sucai.html", "设计素材合集"),
            ("/share.html", "快剪 网盘下载 (百度网盘/阿里云盘)"),
        ]
        return base + [
            (f"/soft/{k + 1}.html", f"实用工具 {k + 1} 绿色版") for k in range(self.filler)
        ]

    def pack(self, k: int) -> bytes:
        with self._lock:
            if k not in self._packs:
                self._packs[k] = _clean_zip(100 + k)
            return self._packs[k]

    def route(self, path: str, q: dict[str, str], h: _Handler) -> Resp | Stream | None:
        items = self._items()
        side = items[:6]
        if path == "/":
            return self.html(
                "首页",
                "<h1>最新软件</h1>" + _links(items[:12]) + '<a href="/list/1">更多</a>',
                side,
            )
        if path == "/robots.txt":
            return Resp(200, b"User-agent: *\nDisallow: /admin/\n", "text/plain")
        listing = self.listing(path, q, items, side, "软件")
        if listing is not None:
            return listing
        if path == "/soft/kuaijian.html":
            body = (
                "<h1>快剪 KuaiJian 2.3 破解版</h1><p>大小: 1.2MB 语言: 简体中文 授权: 破解版</p>"
                '<ul class=dl><li><a href="/dl/KuaiJian_v2.3_Crack.zip">本地下载 (zip)</a></li>'
                '<li><a href="/dl/kuaijian_setup.exe">直接下载 setup.exe</a></li>'
                '<li><a href="/share.html">网盘下载</a></li></ul>'
            )
            return self.html("快剪 KuaiJian 2.3 破解版", body, side)
        if path == "/soft/kuaijian-mirror.html":
            body = (
                "<h1>快剪 KuaiJian 2.3 Linux 版</h1>"
                '<a href="/dl/kuaijian-2.3.tar.gz">kuaijian-2.3.tar.gz</a>'
            )
            return self.html("快剪 KuaiJian 2.3 Linux 版", body, side)
        if path == "/soft/sucai.html":
            body = '<h1>设计素材合集</h1><a href="/dl/sucai-pack.zip">下载素材包</a>'
            return self.html("设计素材合集", body, side)
        if path == "/share.html":
            leads = "".join(f"<p>{_e(x)}</p>" for x in NETDISK_LEADS)
            body = f"<h1>快剪 KuaiJian 2.3 网盘下载</h1>{leads}<p>失效请留言补链</p>"
            return self.html("网盘下载", body, side)
        m = re.fullmatch(r"/soft/(\d+)\.html", path)
        if m and 1 <= int(m[1]) <= self.filler:
            k = int(m[1])
            body = (
                f"<h1>实用工具 {k} 绿色版</h1><p>大小: {20 + k % 50}KB 更新: 2026-09-{1 + k % 28:02d}</p>"
                f'<a href="/dl/pack-{k}.zip">本地下载</a>'
            )
            return self.html(f"实用工具 {k}", body, side)
        files = {
            "/dl/KuaiJian_v2.3_Crack.zip": ("tool.zip", "application/zip"),
            "/dl/kuaijian_setup.exe": ("tool.bin", "application/octet-stream"),
            "/dl/kuaijian-2.3.tar.gz": ("tool.tar.gz", "application/gzip"),
            "/dl/sucai-pack.zip": ("clean.zip", "application/zip"),
        }
        if path in files:
            name, ctype = files[path]
            disp = {"Content-Disposition": f'attachment; filename="{path.rsplit("/", 1)[1]}"'}
            return Resp(200, self.cache.get(self.files[name]), ctype, disp)
        m = re.fullmatch(r"/dl/pack-(\d+)\.zip", path)
        if m and 1 <= int(m[1]) <= self.filler:
            return Resp(200, self.pack(int(m[1])), "application/zip")
        return None

    def spec(self) -> SiteSpec:
        return SiteSpec(
            self.key,
            self.name,
            self.category,
            self.base,
            [self.base + "/"],
            [self.base + "/sitemap.xml"],
            [self.base + "/search?q={title}"],
            [],
            [r"/login", r"/user/"],
        )


# ------------------------------------------------------------------ traps


def _gzip_bomb(root: Path) -> bytes:
    """gzip of an HTML page padded to 1 GiB of spaces (about 1 MB), cached under root."""
    p = root / "gzip-bomb-v1.gz"
    if not p.exists():
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        parts = [c.compress(b"<html><body><p>")]
        chunk = b" " * (1 << 20)
        for _ in range(1024):
            parts.append(c.compress(chunk))
        parts.append(c.compress(b'</p><a href="/">home</a></body></html>'))
        parts.append(c.flush())
        tmp = p.with_suffix(f".tmp-{os.getpid()}-{threading.get_ident()}")
        tmp.write_bytes(b"".join(parts))
        tmp.rename(p)
    return p.read_bytes()


class _Traps(_Site):
    key = "traps"
    name = "陷阱站 (crawler traps)"
    category = "other"

    TRAPS: ClassVar[dict[str, str]] = {
        "calendar": "/calendar?month=2026-11",
        "session_loop": "/session?sid=a1b2c3",
        "slow": "/slow",
        "hang": "/hang",
        "hang_no_headers": "/hang-silent",
        "error_500": "/error",
        "busy_429": "/busy",
        "oversized": "/oversized",
        "oversized_chunked": "/oversized-chunked",
        "gzip_bomb": "/bomb.html",
        "redirect_metadata": "/go/metadata",
        "redirect_private": "/go/private",
        "redirect_private_10": "/go/ten",
        "redirect_loop": "/loop/a",
        "malformed": "/malformed.html",
    }
    OVERSIZED = 60 * 1024 * 1024

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.bomb = _gzip_bomb(world.root)
        self.busy_seen: set[str] = set()
        self.lock = threading.Lock()

    def route(self, path: str, q: dict[str, str], h: _Handler) -> Resp | Stream | None:
        stop = self.world._stop
        if path == "/":
            body = "<h1>Links</h1>" + _links([(u, k) for k, u in self.TRAPS.items()])
            return self.html("首页", body)
        if path == "/robots.txt":
            return Resp(200, b"User-agent: *\nAllow: /\n", "text/plain")
        if path == "/calendar":
            month = q.get("month", "2026-11")
            mm = re.fullmatch(r"(\d{1,6})-(\d{2})", month)
            y, mo = (int(mm[1]), int(mm[2])) if mm else (2026, 11)
            idx = y * 12 + mo - 1
            prev, nxt = idx - 1, idx + 1
            fmt = lambda i: f"{i // 12}-{i % 12 + 1:02d}"  # noqa: E731
            body = (
                f"<h1>{y}年{mo}月 活动日历</h1><table><tr>"
                + "".join(
                    f'<td><a href="/calendar/day?d={fmt(idx)}-{d:02d}">{d}</a></td>'
                    for d in range(1, 8)
                )
                + f'</tr></table><a href="/calendar?month={fmt(prev)}">上个月</a> '
                f'<a href="/calendar?month={fmt(nxt)}">下个月</a>'
            )
            return self.html("日历", body)
        if path == "/calendar/day":
            return self.html(
                "日程", f"<p>{_e(q.get('d', ''))} 无活动</p><a href='/calendar'>返回</a>"
            )
        sp = re.sub(r";jsessionid=[^/?]*", "", path)
        if sp in ("/session", "/session/list", "/session/detail"):
            sid = lambda: f"{random.getrandbits(64):016x}"  # noqa: E731
            body = (
                "<h1>会员中心</h1>"
                f'<a href="/session?sid={sid()}">刷新</a> '
                f'<a href="/session/list?sid={sid()}&page=1">列表</a> '
                f'<a href="/;jsessionid={sid()}/session/detail">详情</a> '
                f'<a href="/session/;jsessionid={sid()}/list">我的</a>'
            )
            return self.html("会员中心", body)
        if sp == "/session/list":
            return self.html("会员中心", "")
        if path == "/slow":
            return self._slow(stop)
        if path == "/hang":
            return self._hang(stop, headers=True)
        if path == "/hang-silent":
            return self._hang(stop, headers=False)
        if path == "/error":
            return Resp(500, b"<h1>500 Internal Server Error</h1>", conditional=False)
        if path == "/busy":
            client = h.client_address[0]
            with self.lock:
                first = client not in self.busy_seen
                self.busy_seen.add(client)
            if first:
                return Resp(
                    429,
                    b"<h1>429 Too Many Requests</h1>",
                    headers={"Retry-After": "1"},
                    conditional=False,
                )
            return self.html("ok", "<p>服务器恢复正常</p><a href='/'>首页</a>")
        if path == "/oversized":
            return self._oversized(chunked=False)
        if path == "/oversized-chunked":
            return self._oversized(chunked=True)
        if path == "/bomb.html":
            return Resp(200, self.bomb, headers={"Content-Encoding": "gzip"}, conditional=False)
        redirects = {
            "/go/metadata": "http://169.254.169.254/latest/meta-data/",
            "/go/private": self.world.forbidden_base + "/secret",
            "/go/ten": "http://10.0.0.1/admin",
            "/loop/a": "/loop/b",
            "/loop/b": "/loop/a",
        }
        if path in redirects:
            return Resp(302, b"", headers={"Location": redirects[path]}, conditional=False)
        if path == "/malformed.html":
            raw = (
                b"<html><head><title>\xff\xfe broken \xc3\x28 page</title><meta charset=utf-8>"
                b"<body><p>\x80\x81\x82 \xe4\xb8 text <b><i>unclosed "
                b'<a href="/calendar/day?d=2026-01-01">normal link</a> '
                b'<div class="a><p>attribute never closed <table><tr><td>cell<td><<<>>> '
                b"<!-- unterminated comment <script>var x = '</scr"
            )
            return Resp(200, raw, "text/html; charset=utf-8")
        return None

    def _slow(self, stop: threading.Event) -> Stream:
        def run(h: BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Connection", "close")
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            if h.command == "HEAD":
                return
            piece = b"<p>...</p>"
            while not stop.wait(0.5):
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                h.wfile.flush()

        return run

    def _hang(self, stop: threading.Event, headers: bool) -> Stream:
        def run(h: BaseHTTPRequestHandler) -> None:
            if headers:
                h.send_response(200)
                h.send_header("Connection", "close")
                h.send_header("Content-Type", "text/html; charset=utf-8")
                h.send_header("Content-Length", "5000")
                h.end_headers()
                h.wfile.flush()
            stop.wait(600)

        return run

    def _oversized(self, chunked: bool) -> Stream:
        total = self.OVERSIZED

        def run(h: BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Connection", "close")
            h.send_header("Content-Type", "text/html; charset=utf-8")
            if chunked:
                h.send_header("Transfer-Encoding", "chunked")
            else:
                h.send_header("Content-Length", str(total))
            h.end_headers()
            if h.command == "HEAD":
                return
            head = b"<html><body>"
            row = "<p>这是一段非常长的填充内容。</p>\n".encode()
            block = head + row * ((65536 - len(head)) // len(row))
            block += b" " * (65536 - len(block))
            sent = 0
            while sent < total and not self.world._stop.is_set():
                piece = block[: total - sent]
                if chunked:
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    h.wfile.write(piece)
                sent += len(piece)
            if chunked:
                h.wfile.write(b"0\r\n\r\n")

        return run

    def spec(self) -> SiteSpec:
        return SiteSpec(
            self.key,
            self.name,
            self.category,
            self.base,
            [self.base + "/"],
            [],
            [],
            [],
            [],
        )


class _Forbidden(_Site):
    key = "forbidden"
    name = "forbidden"
    host = host_name = "127.0.0.2"

    def route(self, path: str, q: dict[str, str], h: _Handler) -> Resp | Stream | None:
        if path.startswith("/secret"):
            return Resp(200, b"<h1>secret</h1><p>internal admin data</p>", conditional=False)
        return Resp(200, b"<h1>internal</h1>", conditional=False)


# ------------------------------------------------------------------ the world


class World:
    """The servers, what they plant, and their logs. Use as a context manager."""

    def __init__(self, root: Path, filler_pages: int = 40, latency: float = 0.0) -> None:
        #: seconds every response waits before it starts, like a remote site's round trip
        self.latency = latency
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.filler_pages = filler_pages
        self._log: list[Request] = []
        self._log_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._down: set[tuple[str | None, str]] = set()
        #: work key -> (type, title, owner, files)
        self.works: dict[str, tuple[str, str, str, list[Path]]] = {}
        self._forbidden = _Forbidden(self)
        self.forbidden_base = self._forbidden.base
        self._novels = _Novels(self, filler_pages)
        self._videos = _Videos(self, filler_pages)
        self._downloads = _Downloads(self, filler_pages)
        self._traps = _Traps(self)
        self._sites: list[_Site] = [self._novels, self._videos, self._downloads, self._traps]
        self.sites: dict[str, SiteSpec] = {s.key: s.spec() for s in self._sites}
        self.planted: list[Planted] = self._planted()
        self.clean_urls: list[str] = self._clean()
        self.traps: dict[str, str] = {k: self._traps.base + u for k, u in _Traps.TRAPS.items()}
        self.traps["robots_disallowed"] = self._novels.base + self._novels.private.path
        self.traps["netdisk_leads"] = self._downloads.base + "/share.html"
        self.forbidden_urls: list[str] = [self.forbidden_base + "/secret"]
        self.netdisk_leads: list[str] = list(NETDISK_LEADS)

    # -- what is planted

    def _planted(self) -> list[Planted]:
        out = []
        nv = self._novels
        for path, ch in nv.all_pages():
            if ch.work:
                out.append(Planted(nv.base + path, ch.work, "text", "novels", nv.base + path))
        v = self._videos.base
        out += [
            Planted(v + "/media/xhmh-hd.mp4", "film", "video", "videos", v + "/watch/101.html"),
            Planted(v + "/hls/xhmh/index.m3u8", "film", "video", "videos", v + "/watch/102.html"),
            Planted(v + "/media/bd/7f3a.mp4", "film2", "video", "videos", v + "/embed/7f3a.html"),
        ]
        d = self._downloads.base
        out += [
            Planted(
                d + "/dl/KuaiJian_v2.3_Crack.zip",
                "tool",
                "file",
                "downloads",
                d + "/soft/kuaijian.html",
            ),
            Planted(
                d + "/dl/kuaijian_setup.exe", "tool", "file", "downloads", d + "/soft/kuaijian.html"
            ),
            Planted(
                d + "/dl/kuaijian-2.3.tar.gz",
                "tool",
                "file",
                "downloads",
                d + "/soft/kuaijian-mirror.html",
            ),
        ]
        return out

    def _clean(self) -> list[str]:
        nv = self._novels
        out = [nv.base + p for p, ch in nv.all_pages() if ch.work is None]
        v = self._videos.base
        out += [v + "/watch/900.html", v + "/media/city.mp4"]
        out += [v + f"/v/{k + 1}.html" for k in range(self.filler_pages)]
        d = self._downloads.base
        out += [d + "/soft/sucai.html", d + "/dl/sucai-pack.zip"]
        for k in range(1, self.filler_pages + 1):
            out += [d + f"/soft/{k}.html", d + f"/dl/pack-{k}.zip"]
        return out

    def page_count(self) -> dict[str, int]:
        """HTML pages per site (list pages, chapters, players, details; not media/files)."""
        nv = self._novels
        n_novels = 1 + nv.list_pages() + len(nv.all_pages()) + 1  # home, lists, chapters, private
        nvid = len(self._videos._items())
        n_videos = 1 + -(-nvid // PAGE_SIZE) + nvid + 1  # home, lists, items, embed
        nd = len(self._downloads._items())
        n_down = 1 + -(-nd // PAGE_SIZE) + nd
        return {
            "novels": n_novels,
            "videos": n_videos,
            "downloads": n_down,
            "traps": 1 + len(_Traps.TRAPS),
        }

    # -- registration

    def register(self, jw: Any) -> dict[str, str]:
        """Register the world's works into `jw` (call once per data home); returns work key
        -> public work id."""
        from jianwang.services.registry import WorkInput

        ids = {}
        for key, (wtype, title, owner, files) in self.works.items():
            work = jw.registry.add_work(WorkInput(list(files), wtype, title, owner))
            ids[key] = work.id
        return ids

    # -- servers

    def __enter__(self) -> World:
        for s in [self._forbidden, *self._sites]:
            t = threading.Thread(
                target=s.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        for s in [self._forbidden, *self._sites]:
            if self._threads:
                s.server.shutdown()
            s.server.server_close()
        self._threads.clear()

    # -- take-downs

    def take_down(self, path: str, site: str | None = None) -> None:
        """Answer 404 for `path` (with or without its query) on `site` (every site when
        None) until `put_back`: a pirate copy removed after a notice."""
        with self._log_lock:
            self._down.add((site, path))

    def put_back(self, path: str, site: str | None = None) -> None:
        """Serve `path` again (a re-upload)."""
        with self._log_lock:
            self._down.discard((site, path))

    def _is_down(self, site: str, full: str, path: str) -> bool:
        with self._log_lock:
            if not self._down:
                return False
            return any((s is None or s == site) and p in (full, path) for s, p in self._down)

    # -- logs

    def _record(self, r: Request) -> None:
        with self._log_lock:
            self._log.append(r)

    def requests(self, site: str | None = None) -> list[Request]:
        with self._log_lock:
            return [
                r for r in self._log if r.site != "forbidden" and (site is None or r.site == site)
            ]

    def forbidden_requests(self) -> list[Request]:
        with self._log_lock:
            return [r for r in self._log if r.site == "forbidden"]

    def reset_logs(self) -> None:
        """Empty the logs and forget the 429 trap's clients (its next request is a 429 again)."""
        with self._log_lock:
            self._log.clear()
        with self._traps.lock:
            self._traps.busy_seen.clear()


def summary(world: World) -> str:
    return json.dumps(
        {
            "sites": {k: s.base_url for k, s in world.sites.items()},
            "pages": world.page_count(),
            "planted": len(world.planted),
            "clean": len(world.clean_urls),
        },
        ensure_ascii=False,
    )


__all__ = ["Planted", "Request", "SiteSpec", "World", "distort_text"]
