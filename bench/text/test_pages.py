"""Tests for the smoke corpus, the pirate page generator, locate_cases and the baseline."""

from __future__ import annotations

import random
import re

import pytest

from bench.text.baseline import MinHashBaseline
from bench.text.corpus import Chapter, load_corpus
from bench.text.pages import (
    FAMILIES,
    Piece,
    extract_text,
    locate_cases,
    make_pages,
    make_retranslation_pages,
    page_cases,
)


@pytest.fixture(scope="module")
def smoke():  # type: ignore[no-untyped-def]
    return load_corpus("smoke")


def test_smoke_corpus_shape(smoke) -> None:  # type: ignore[no-untyped-def]
    assert len(smoke.registered) >= 10 and len(smoke.negative) >= 5
    langs = {c.lang for c in smoke.registered}
    assert {"zh-Hans", "zh-Hant", "en"} <= langs
    for key, alt in smoke.retranslations.items():
        assert len(alt.split("\n")) == len(smoke.by_key()[key].text.split("\n"))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_locates_its_pieces(smoke, family: str) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(family)
    by_key = smoke.by_key()
    pages = make_pages(smoke.registered, family, rng)
    pages += make_pages(smoke.negative[:2], family, rng, negative=True)
    assert len(pages) >= len(smoke.registered) + 2
    for page in pages:
        head = page.html[:600].decode("ascii", "replace").lower()
        assert f"charset={page.encoding}" in head or f'charset="{page.encoding}"' in head
        text = extract_text(page.html, page.encoding)
        ref = by_key[page.source_key].text
        cases = page_cases(page, text, ref_text=ref)
        if page.truth_key is None:
            assert cases == [] and all(not p.copied for p in page.pieces)
            continue
        assert cases, page.page_id
        for c in cases:
            assert 0 <= c.page_start < c.page_end <= len(text)
            assert 0 <= c.ref_start < c.ref_end <= len(ref)
        if family == "clean":
            assert [tuple(c[2:]) for c in cases] == [(0, len(ref))]
            assert "".join(text[cases[0].page_start : cases[0].page_end].split()) == "".join(
                ref.split()
            )
        if family == "injected_ads":
            assert any(not p.copied for p in page.pieces)
            assert len(cases) >= 2


def test_generation_is_deterministic(smoke) -> None:  # type: ignore[no-untyped-def]
    a = make_pages(smoke.registered[:4], "mixed", random.Random(5))
    b = make_pages(smoke.registered[:4], "mixed", random.Random(5))
    assert [p.html for p in a] == [p.html for p in b]
    assert [p.pieces for p in a] == [p.pieces for p in b]


def test_forced_legacy_encodings(smoke) -> None:  # type: ignore[no-untyped-def]
    hans = [c for c in smoke.registered if c.lang == "zh-Hans"][:3]
    for p in make_pages(hans, "clean", random.Random(1), encoding="gbk"):
        assert p.encoding in ("gbk", "gb18030")
        p.html.decode(p.encoding)
    en = [c for c in smoke.registered if c.lang == "en"][:1]
    assert make_pages(en, "clean", random.Random(1), encoding="big5")[0].encoding in (
        "big5",
        "utf-8",
    )


def test_retranslation_pages(smoke) -> None:  # type: ignore[no-untyped-def]
    pages = make_retranslation_pages(smoke.registered, smoke.retranslations, random.Random(2))
    assert len(pages) == len(smoke.retranslations)
    for page in pages:
        text = extract_text(page.html, page.encoding)
        assert page.family == "retranslation" and page_cases(page, text)


def test_locate_cases_merges_and_splits() -> None:
    ref = "第一段。\n第二段。\n第三段。"
    pieces = [
        Piece("第一段。", 0, 4),
        Piece("第二段。", 5, 9),
        Piece("请记住本站域名", None, None),
        Piece("第三段。", 10, 14),
    ]
    text = "<h1>第一段。</h1>\n第一段。\n\u200b第二段。\n请记住本站域名\n第  三段。\n"
    cases = locate_cases(text, pieces, ref_text=ref)
    assert [c[2:] for c in cases] == [(0, 9), (10, 14)]
    first = cases[0]
    assert text[first.page_start : first.page_end].startswith("第一段。")
    assert first.page_start > text.index("</h1>")
    with pytest.raises(LookupError):
        locate_cases("nothing here", pieces)
    assert locate_cases("nothing here", pieces, strict=False) == []


def test_partial_and_split_cover_subsets() -> None:
    text = "\n".join(f"Verse {i}. " + "word " * 30 + "end." for i in range(40))
    ch = Chapter("x/1", "en", "scripture", "T", text)
    rng = random.Random(3)
    (partial,) = make_pages([ch], "partial", rng)
    covered = sum(
        p.ref_end - p.ref_start for p in partial.pieces if p.ref_end and p.ref_start is not None
    )
    assert 0.15 * len(text) < covered < 0.7 * len(text)
    split = make_pages([ch], "split_pages", rng)
    assert 2 <= len(split) <= 3 and {p.parts for p in split} == {len(split)}


def test_baseline_finds_clean_copies(smoke) -> None:  # type: ignore[no-untyped-def]
    bl = MinHashBaseline()
    bl.add_many([(c.key, c.text) for c in smoke.registered])
    rng = random.Random(4)
    for page in make_pages(smoke.registered[:5], "clean", rng):
        found = bl.query(extract_text(page.html, page.encoding))
        assert found and found[0] == page.truth_key
    assert bl.bytes_per_chapter() > 128 * 4
    assert re.fullmatch(r"\d+", str(bl.index_bytes()))
