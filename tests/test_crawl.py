"""The crawler's pure parts: the address guard, URL canonicalisation, page extraction,
network-disk leads, sitemaps and HLS playlists."""

from __future__ import annotations

import gzip

import pytest

from jianwang.crawl import extract as ex
from jianwang.crawl.guard import Guard, Refused, Unresolved, parse_networks


def _resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "ip, kind",
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "reserved"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
    ],
)
def test_guard_refuses_non_public_addresses(ip: str, kind: str) -> None:
    with pytest.raises(Refused, match=kind):
        Guard().resolve(ip if ":" not in ip else f"[{ip}]", 80)


def test_guard_checks_every_address_a_name_resolves_to() -> None:
    g = Guard(
        resolver=_resolver(
            {"mixed.example": ["93.184.216.34", "10.1.2.3"], "public.example": ["93.184.216.34"]}
        )
    )
    assert g.resolve("public.example", 80) == "93.184.216.34"
    with pytest.raises(Refused, match=r"10\.1\.2\.3 is a private address"):
        g.resolve("mixed.example", 80)
    with pytest.raises(Unresolved, match=r"cannot resolve nowhere\.example"):
        g.resolve("nowhere.example", 80)


def test_allowed_networks_open_only_themselves_and_never_metadata() -> None:
    g = Guard(allow=parse_networks("127.0.0.1/32, 169.254.0.0/16"))
    assert g.resolve("127.0.0.1", 8080) == "127.0.0.1"
    with pytest.raises(Refused):
        g.resolve("127.0.0.2", 8080)
    assert g.resolve("169.254.1.1", 80) == "169.254.1.1"
    with pytest.raises(Refused, match="metadata"):
        g.resolve("169.254.169.254", 80)
    with pytest.raises(Exception, match="not an IP network"):
        parse_networks("127.0.0.1/99")


def test_canonical_urls() -> None:
    c = ex.canonical
    assert c("HTTP://Example.COM:80/a b/;jsessionid=XYZ?b=2&sid=9&a=1#frag") == (
        "http://example.com/a%20b/?b=2&a=1"
    )
    assert c("/x?utm_source=feed", "https://h.example:443/dir/") == "https://h.example/x"
    assert c("page2.html", "http://h.example:8080/dir/p1.html") == (
        "http://h.example:8080/dir/page2.html"
    )
    for bad in ("mailto:a@b.c", "javascript:void(0)", "ftp://h/x", "http://[bad"):
        assert c(bad) is None


def test_outlinks_find_pages_media_downloads_and_leads() -> None:
    html = """<html><head><base href="/site/"></head><body>
    <a href="ch2.html">下一页</a> <a href="#top">top</a> <a href="mailto:x@y.z">mail</a>
    <video src="movie.mp4"></video><audio><source src="/a/song.flac"></audio>
    <iframe src="/player?id=7"></iframe>
    <script>var player = new Player({src: "/hls/x/index.m3u8", poster: "p.jpg"});</script>
    <a href="/dl/setup.zip">下载</a> <a href="/dl/novel.txt">txt</a>
    <div data-video="/v/clip.webm"></div>
    <p>百度网盘 链接: https://pan.baidu.com/s/1Ab3xYz 提取码: x7k2 复制这段内容后打开</p>
    <p>夸克 https://pan.quark.cn/s/abcdef12 密码：Q9Z1</p>
    <a href="https://pan.baidu.com/s/1ZZtop?pwd=ab12">另一个</a>
    <p>阿里云盘 https://www.aliyundrive.com/s/AbCdEf</p>
    <div><p>broken <b>markup <a href="ok.html">ok</div>
    """
    out = ex.outlinks(html.encode(), "http://h.example/index.html")
    assert "http://h.example/site/ch2.html" in out.pages
    assert "http://h.example/player?id=7" in out.pages
    assert "http://h.example/site/ok.html" in out.pages
    assert not any("mailto" in u for u in out.pages)
    assert set(out.media) >= {
        "http://h.example/site/movie.mp4",
        "http://h.example/a/song.flac",
        "http://h.example/hls/x/index.m3u8",
        "http://h.example/v/clip.webm",
    }
    assert set(out.downloads) == {"http://h.example/dl/setup.zip", "http://h.example/dl/novel.txt"}
    leads = {x.url: x for x in out.leads}
    assert leads["https://pan.baidu.com/s/1Ab3xYz"].code == "x7k2"
    assert leads["https://pan.quark.cn/s/abcdef12"].code == "Q9Z1"
    assert leads["https://pan.baidu.com/s/1ZZtop?pwd=ab12"].code == "ab12"
    assert leads["https://www.aliyundrive.com/s/AbCdEf"].code is None
    assert leads["https://pan.baidu.com/s/1Ab3xYz"].provider == "baidu"


def test_a_code_belongs_to_the_link_before_it() -> None:
    text = "链接 https://pan.baidu.com/s/1AAA 链接 https://pan.baidu.com/s/1BBB 提取码 zz99"
    leads = {x.url: x.code for x in ex.netdisk_leads(text)}
    assert leads == {"https://pan.baidu.com/s/1AAA": None, "https://pan.baidu.com/s/1BBB": "zz99"}


def test_sitemaps_and_sitemap_indexes() -> None:
    sm = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <url><loc>http://h.example/a.html</loc></url><url><loc> http://h.example/b.html </loc></url>
    </urlset>"""
    assert ex.sitemap_urls(sm) == (["http://h.example/a.html", "http://h.example/b.html"], [])
    assert ex.sitemap_urls(gzip.compress(sm))[0][1] == "http://h.example/b.html"
    idx = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>http://h.example/s1.xml</loc></sitemap></sitemapindex>"""
    assert ex.sitemap_urls(idx) == ([], ["http://h.example/s1.xml"])
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
    <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
    <urlset><url><loc>&lol2;</loc></url></urlset>"""
    with pytest.raises(ValueError, match="not a readable sitemap"):
        ex.sitemap_urls(bomb)
    with pytest.raises(ValueError):
        ex.sitemap_urls(b"<urlset><url><loc>http://x")


def test_hls_playlists() -> None:
    media = """#EXTM3U
#EXT-X-TARGETDURATION:4
#EXTINF:4.0,
seg0.ts
#EXTINF:3.5,
https://cdn.example/seg1.ts
#EXT-X-ENDLIST
"""
    pl = ex.hls_playlist(media, "http://h.example/hls/x/index.m3u8")
    assert pl.segments == [
        ("http://h.example/hls/x/seg0.ts", 4.0),
        ("https://cdn.example/seg1.ts", 3.5),
    ]
    assert not pl.encrypted and not pl.variants
    master = """#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360
low/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080
high/index.m3u8
"""
    pl = ex.hls_playlist(master, "http://h.example/hls/x/master.m3u8")
    assert pl.variants == [
        ("http://h.example/hls/x/low/index.m3u8", 800000),
        ("http://h.example/hls/x/high/index.m3u8", 5000000),
    ]
    enc = media.replace("#EXTINF:4.0,", '#EXT-X-KEY:METHOD=AES-128,URI="k.bin"\n#EXTINF:4.0,')
    assert ex.hls_playlist(enc, "http://h.example/i.m3u8").encrypted
