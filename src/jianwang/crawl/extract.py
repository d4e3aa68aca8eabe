"""What a fetched page points to: pages to follow, media to fingerprint, downloads, and
network-disk share links (with their extraction codes) recorded as leads.

Pure functions over bytes and URLs; no I/O.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from ..media.text import decode_text

#: query parameters that carry a session or tracking id, never content
SESSION_PARAMS = frozenset(
    {
        "sid", "sessionid", "session_id", "session", "jsessionid", "phpsessid",
        "aspsessionid", "sessid", "cfid", "cftoken", "utm_source", "utm_medium",
        "utm_campaign", "utm_term", "utm_content", "spm", "from_session",
    }
)  # fmt: skip
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sessionid|sid)=[^/?#]*", re.IGNORECASE)

VIDEO_EXT = (
    ".mp4",
    ".m4v",
    ".mkv",
    ".webm",
    ".flv",
    ".avi",
    ".mov",
    ".ts",
    ".mpg",
    ".mpeg",
    ".wmv",
)
AUDIO_EXT = (".mp3", ".m4a", ".aac", ".flac", ".ogg", ".oga", ".opus", ".wav", ".wma", ".ape")
HLS_EXT = (".m3u8",)
DOWNLOAD_EXT = (
    ".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".tbz2", ".xz", ".txz", ".zst",
    ".exe", ".msi", ".apk", ".jar", ".dmg", ".iso", ".bin", ".deb", ".rpm", ".appimage",
    ".epub", ".txt", ".umd", ".mobi", ".azw3",
)  # fmt: skip
MEDIA_EXT = VIDEO_EXT + AUDIO_EXT + HLS_EXT
_SCRIPT_URL = re.compile(
    r"""["'`]((?:https?:)?[^"'`\s<>]*?\.(?:m3u8|mp4|m4v|flv|webm|mkv|mp3|m4a|aac|flac)"""
    r"""(?:\?[^"'`\s<>]*)?)["'`]""",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Lead:
    """A network-disk share link found on a page; recorded even when it cannot be fetched."""

    provider: str
    url: str
    code: str | None
    context: str


@dataclass
class Outlinks:
    pages: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)  # audio, video, HLS playlists
    downloads: list[str] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)


def canonical(url: str, base: str | None = None) -> str | None:
    """Absolute http(s) URL without fragment and session ids, host lower-cased, default port
    dropped, path percent-encoded consistently; None for anything else (mailto:, js:, …)."""
    try:
        absolute = urljoin(base, url.strip()) if base else url.strip()
        parts = urlsplit(absolute)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = _PATH_SESSION.sub("", parts.path) or "/"
    path = quote(path, safe="/%:@!$&'()*+,;=-._~")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in SESSION_PARAMS
    ]
    return urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))


def kind_of(url: str) -> str:
    """'hls', 'media', 'download' or 'page', judged from the URL's path."""
    path = urlsplit(url).path.lower()
    if path.endswith(HLS_EXT):
        return "hls"
    if path.endswith(VIDEO_EXT + AUDIO_EXT):
        return "media"
    if path.endswith(DOWNLOAD_EXT):
        return "download"
    return "page"


_NETDISK = [
    (
        "baidu",
        r"https?://(?:pan|yun)\.baidu\.com/(?:s/[\w-]+|share/init\?surl=[\w-]+)(?:\?pwd=\w+)?",
    ),
    ("aliyun", r"https?://(?:www\.)?(?:aliyundrive|alipan)\.com/s/\w+(?:/folder/\w+)?"),
    ("quark", r"https?://pan\.quark\.cn/s/\w+"),
    ("115", r"https?://(?:115|115cdn|anxia)\.com/s/\w+(?:\?password=\w+)?"),
    ("lanzou", r"https?://[\w-]*\.?lanzou[a-z]?\.com/[\w-]+"),
    ("tianyi", r"https?://cloud\.189\.cn/(?:t/\w+|web/share\?code=\w+)"),
    ("xunlei", r"https?://pan\.xunlei\.com/s/[\w-]+(?:\?pwd=\w+)?"),
    ("123pan", r"https?://(?:www\.)?123pan\.com/s/[\w-]+"),
    ("weiyun", r"https?://share\.weiyun\.com/\w+"),
]
_NETDISK_RE = re.compile(
    "|".join(f"(?P<{name if name[0].isalpha() else 'p' + name}>{rx})" for name, rx in _NETDISK)
)
_CODE_RE = re.compile(
    r"(?:提取码|提取碼|提取密码|访问码|訪問碼|密码|密碼|pwd|password|code)\s*[:：=]?\s*([A-Za-z0-9]{4,8})",
    re.IGNORECASE,
)
_URL_CODE_RE = re.compile(r"[?&](?:pwd|password)=(\w{4,8})")


def netdisk_leads(text: str) -> list[Lead]:
    """Share links of the common Chinese network disks and the extraction code written
    after them ("链接: https://pan.baidu.com/s/1Ab 提取码: x7k2", or `?pwd=` in the link)."""
    leads: dict[str, Lead] = {}
    for m in _NETDISK_RE.finditer(text):
        provider = (m.lastgroup or "").removeprefix("p")
        url = m.group(0)
        code = None
        found = _URL_CODE_RE.search(url)
        if found:
            code = found.group(1)
        else:
            after = text[m.end() : m.end() + 60]
            nxt = _NETDISK_RE.search(after)
            found = _CODE_RE.search(after[: nxt.start()] if nxt else after)
            if found:
                code = found.group(1)
        context = " ".join(text[max(0, m.start() - 40) : m.end() + 40].split())
        if url not in leads:
            leads[url] = Lead(provider, url, code, context)
    return list(leads.values())


def outlinks(data: bytes, base_url: str) -> Outlinks:
    """Links, media, downloads and leads of an HTML page (malformed HTML included)."""
    text, _ = decode_text(data)
    tree = HTMLParser(text)
    base = base_url
    base_tag = tree.css_first("base[href]")
    if base_tag is not None:
        base = urljoin(base_url, base_tag.attributes.get("href") or "")
    out = Outlinks()
    seen: set[str] = set()

    def add(raw: str | None, forced: str | None = None) -> None:
        if not raw:
            return
        url = canonical(raw, base)
        if url is None or url in seen:
            return
        seen.add(url)
        kind = forced or kind_of(url)
        if kind in ("hls", "media"):
            out.media.append(url)
        elif kind == "download":
            out.downloads.append(url)
        else:
            out.pages.append(url)

    for node in tree.css("video[src], audio[src], source[src], embed[src]"):
        src = node.attributes.get("src")
        add(src, "media" if kind_of(urljoin(base, src or "")) == "page" else None)
    for node in tree.css("object[data]"):
        add(node.attributes.get("data"))
    for node in tree.css("a[href], area[href], link[rel=next][href], link[rel=alternate][href]"):
        add(node.attributes.get("href"))
    for node in tree.css("iframe[src], frame[src]"):
        add(node.attributes.get("src"))
    for node in tree.css("script"):
        for m in _SCRIPT_URL.finditer(node.text(deep=True) or ""):
            add(m.group(1))
    for node in tree.css("[data-src], [data-url], [data-video]"):
        for attr in ("data-src", "data-url", "data-video"):
            value = node.attributes.get(attr)
            if value and kind_of(urljoin(base, value)) != "page":
                add(value)
    body = tree.body
    page_text = body.text(separator="\n") if body is not None else text
    hrefs = " ".join(n.attributes.get("href") or "" for n in tree.css("a[href]"))
    out.leads = netdisk_leads(page_text + "\n" + hrefs)
    return out


def sitemap_urls(data: bytes, limit: int = 50_000) -> tuple[list[str], list[str]]:
    """(page URLs, nested sitemap URLs) of a sitemap or sitemap index (gzip allowed, bounded;
    entity expansion refused by defusedxml)."""
    import defusedxml.ElementTree as ET

    if data[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = d.decompress(data, 50 * 1024 * 1024)
    try:
        root = ET.fromstring(data)
    except Exception:  # malformed or hostile XML: no URLs, the caller records the error
        raise ValueError("not a readable sitemap") from None
    pages: list[str] = []
    nested: list[str] = []
    into = nested if root.tag.endswith("sitemapindex") else pages
    for el in root.iter():
        if not el.tag.endswith("loc") or not el.text:
            continue
        into.append(el.text.strip())
        if len(pages) + len(nested) >= limit:
            break
    return pages, nested


@dataclass(frozen=True)
class Playlist:
    segments: list[tuple[str, float]]  # (absolute URL, seconds)
    init: str | None  # fMP4 initialisation section
    variants: list[tuple[str, int]]  # (absolute URL, bandwidth) of a master playlist
    encrypted: bool


def hls_playlist(text: str, base_url: str) -> Playlist:
    """Segments (or variants) of an HLS playlist, parsed by the `m3u8` library."""
    import m3u8

    pl = m3u8.loads(text, uri=base_url)
    variants = [(urljoin(base_url, p.uri), int(p.stream_info.bandwidth or 0)) for p in pl.playlists]
    init = None
    segments = []
    encrypted = False
    for seg in pl.segments:
        if seg.key is not None and seg.key.method not in (None, "NONE"):
            encrypted = True
        if seg.init_section is not None and init is None:
            init = urljoin(base_url, seg.init_section.uri)
        segments.append((urljoin(base_url, seg.uri), float(seg.duration or 0)))
    return Playlist(segments, init, variants, encrypted)
