"""Decoding: sniffing by content, encodings, HTML main text, and bad input."""

from __future__ import annotations

import pytest

from jianwang.domain import InvalidInput, MediaType, TooLarge
from jianwang.media import decode, extract_main_text, sniff

ZH_S = "床前明月光，疑是地上霜。举头望明月，低头思故乡。这是一段用于检测编码的简体中文文本。"
ZH_T = "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。這是一段用於檢測編碼的正體中文文本。"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (ZH_S, "utf-8"),
        (ZH_S, "gb18030"),
        (ZH_S, "gbk"),
        (ZH_T, "big5"),
        (ZH_S, "utf-16"),
        (ZH_T, "utf-8-sig"),
    ],
)
def test_plain_text_encodings_are_detected(text: str, encoding: str) -> None:
    data = (text * 8).encode(encoding)
    d = decode(data)
    assert d.media == MediaType.TEXT
    assert d.signal == text * 8


def test_html_declared_charset_and_main_text() -> None:
    html = f"""<!DOCTYPE html><html><head><meta charset="gbk"><title>第一章</title>
    <script>var ad = "不应出现";</script><style>p{{color:red}}</style></head><body>
    <div class="navbar">首页 排行榜 书架</div>
    <div id="content"><h1>第一章</h1><p>{ZH_S}</p><p>第二段  有两个空格。</p>
    <div class="ads">广告位招租</div></div>
    <div id="footer">版权所有 不应出现</div></body></html>"""
    d = decode(html.encode("gbk"))
    assert d.format == "html"
    assert ZH_S in d.signal
    assert "第二段  有两个空格。" in d.signal  # text kept verbatim, offsets stay faithful
    for dropped in ("不应出现", "广告位招租", "排行榜"):
        assert dropped not in d.signal


def test_malformed_html_still_yields_text() -> None:
    text = extract_main_text("<div><p>unclosed <b>bold <i>text</div></p><p>second")
    assert text.split() == ["unclosed", "bold", "text", "second"]


def test_blocks_never_glue_words_even_when_minified() -> None:
    assert extract_main_text("<p>foo</p><p>bar</p><div>baz<br>qux</div>").split("\n") == [
        "foo",
        "bar",
        "baz",
        "qux",
    ]


def test_sniffing_ignores_names_and_reads_content() -> None:
    assert sniff(b"<html><body><p>x</p></body></html>") == (MediaType.TEXT, "html")
    assert sniff(b"just text") == (MediaType.TEXT, "plain")
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)[0] == MediaType.IMAGE
    assert sniff(b"ID3\x03\x00" + b"\0" * 64)[0] == MediaType.AUDIO


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", InvalidInput, "empty"),
        (b"   \n\t ", InvalidInput, "empty"),
        (b"<html><body><script>x()</script></body></html>", InvalidInput, "no text"),
    ],
)
def test_bad_input_is_a_clear_error(data: bytes, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        decode(data)


def test_invalid_bytes_in_clear_text_are_replaced_not_fatal() -> None:
    data = (ZH_S * 20).encode("utf-8")
    data = data[:100] + b"\xff\xfe\xfd" + data[100:]
    d = decode(data)
    assert "床前明月光" in d.signal


def test_binary_data_is_a_file() -> None:
    d = decode(bytes(range(256)) * 40)
    assert (d.media, d.format, d.signal) == (MediaType.FILE, "binary", bytes(range(256)) * 40)


def test_size_limit() -> None:
    with pytest.raises(TooLarge, match="over the limit"):
        decode(b"x" * 2000, limit=1000)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_TAGS = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div class='content'>",
        "</div>",
        "<br>",
        "<script>",
        "</script>",
        "<b>",
        "</b>",
        "<!--",
        "-->",
        "<",
        ">",
        "&amp;",
        "&#x0;",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_TAGS, st.text(max_size=20)), max_size=40))
def test_malformed_html_never_crashes(parts: list[str]) -> None:
    text = extract_main_text("".join(parts))
    assert isinstance(text, str)
    assert "<script>" not in text


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_decode_or_fail_cleanly(data: bytes) -> None:
    try:
        d = decode(data)
    except InvalidInput:  # includes TooLarge and UnsupportedMedia
        return
    if d.media == MediaType.FILE:  # binary data: the file method takes the bytes as they are
        assert d.signal == data
    else:
        assert isinstance(d.signal, str) and d.signal.strip()
