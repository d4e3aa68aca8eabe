"""The text method on real passages: alignment, splitting, several works, verdicts."""

from __future__ import annotations

import opencc
import pytest

from jianwang.domain import MediaType, Verdict
from jianwang.fingerprint.base import Hits, Role
from jianwang.fingerprint.text import TextFingerprinter, winnow
from jianwang.identify import Identifier, Indexes, Reference
from jianwang.index import ExactIndex

from .conftest import demo_chapters

METHOD = TextFingerprinter()


class MemoryCatalog:
    """In-memory twin of the store's catalog."""

    def __init__(self) -> None:
        self.texts: dict[int, tuple[str, str]] = {}

    def add(self, doc: int, title: str, text: str, indexes: Indexes) -> None:
        self.texts[doc] = (title, text)
        fp = METHOD.extract(text, Role.REFERENCE)
        indexes.for_method(METHOD).add(doc, fp.codes, fp.positions)
        refs = indexes.references_for(METHOD)
        refs.put(doc, METHOD.pack_reference(METHOD.prepare_reference(fp.data)))

    def references(self, method: str, docs: list[int]) -> dict[int, Reference]:
        return {
            d: Reference(f"W{d:06d}", self.texts[d][0], str(d), True)
            for d in docs
            if d in self.texts
        }

    def all_references(self, method: str, limit: int) -> dict[int, Reference] | None:
        return self.references(method, list(self.texts))

    def rendition(self, key: str) -> str | None:
        return self.texts[int(key)][1]


@pytest.fixture
def corpus() -> tuple[Identifier, MemoryCatalog, list[str]]:
    indexes = Indexes(None)
    catalog = MemoryCatalog()
    texts = [p.read_text(encoding="utf-8") for p in demo_chapters()]
    for i, t in enumerate(texts, start=1):
        catalog.add(i, f"chapter {i}", t, indexes)
    return Identifier(indexes, catalog, 10**7), catalog, texts


def _poem(texts: list[str]) -> tuple[int, str]:
    i = next(i for i, t in enumerate(texts) if "作者" in t)
    return i + 1, texts[i]


def test_winnowing_guarantee() -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    h = rng.integers(0, 2**63, 500, dtype=np.uint64)
    picks = winnow(h, 16)
    assert np.all(np.diff(picks) <= 16)  # every window of 16 hashes has a pick
    assert 0.08 < len(picks) / len(h) < 0.16  # density about 2 / (w + 1)


def test_injected_line_splits_the_segment(
    corpus: tuple[Identifier, MemoryCatalog, list[str]],
) -> None:
    ident, _, texts = corpus
    doc, text = _poem(texts)
    cut = text.index("\n", len(text) // 2) + 1
    ad = "请记住本站域名：www.xxbiquge.la 最快更新无弹窗广告\n"
    page = text[:cut] + ad + text[cut:]
    [m] = ident.identify_signal(MediaType.TEXT, page).matches
    assert m.work_id == f"W{doc:06d}" and m.verdict == Verdict.MATCH
    assert len(m.segments) == 2
    first, second = m.segments
    ad_start = cut
    assert first.query[1] <= ad_start and second.query[0] >= ad_start + len(ad) - 1
    # each segment maps back onto the same characters of the reference
    for s in m.segments:
        a = page[int(s.query[0]) : int(s.query[1])]
        b = text[int(s.reference[0]) : int(s.reference[1])]
        assert a == b


def test_traditional_copy_maps_to_simplified_reference(
    corpus: tuple[Identifier, MemoryCatalog, list[str]],
) -> None:
    ident, _, texts = corpus
    doc, text = _poem(texts)
    page = opencc.OpenCC("s2t").convert(text)
    assert page != text
    [m] = ident.identify_signal(MediaType.TEXT, page).matches
    assert m.work_id == f"W{doc:06d}" and m.score > 0.95
    covered = sum(s.query[1] - s.query[0] for s in m.segments)
    assert covered > 0.9 * len(page.strip())


def test_reordered_paragraphs_give_one_segment_each(
    corpus: tuple[Identifier, MemoryCatalog, list[str]],
) -> None:
    ident, _, texts = corpus
    _doc, text = _poem(texts)
    lines = text.split("\n")
    third = len(lines) // 3
    parts = [
        "\n".join(lines[:third]),
        "\n".join(lines[third : 2 * third]),
        "\n".join(lines[2 * third :]),
    ]
    page = "\n".join([parts[2], parts[1], parts[0]])
    [m] = ident.identify_signal(MediaType.TEXT, page).matches
    assert len(m.segments) == 3
    starts = [s.reference[0] for s in sorted(m.segments, key=lambda s: s.query[0])]
    assert starts[0] > starts[1] > starts[2]  # the page runs backwards through the work


def test_two_works_on_one_page(corpus: tuple[Identifier, MemoryCatalog, list[str]]) -> None:
    ident, _, texts = corpus
    page = texts[0][:1500] + "\n" + texts[-1][:1500]
    matches = ident.identify_signal(MediaType.TEXT, page).matches
    found = {m.work_id for m in matches if m.verdict == Verdict.MATCH}
    assert found == {"W000001", f"W{len(texts):06d}"}


def test_quote_or_rewrite_is_review_not_match(
    corpus: tuple[Identifier, MemoryCatalog, list[str]],
) -> None:
    ident, _, texts = corpus
    doc, text = _poem(texts)
    # a short quotation inside unrelated text: shared, but not a copy
    quote = text[200:240]
    other = texts[-1][:2000]
    page = other[:1000] + quote + other[1000:]
    matches = [
        m for m in ident.identify_signal(MediaType.TEXT, page).matches if m.work_id == f"W{doc:06d}"
    ]
    assert all(m.verdict == Verdict.REVIEW for m in matches)


def test_unrelated_text_matches_nothing(
    corpus: tuple[Identifier, MemoryCatalog, list[str]],
) -> None:
    from .conftest import unregistered_chapters

    ident, _, _ = corpus
    for p in unregistered_chapters():
        ident_ = ident.identify_signal(MediaType.TEXT, p.read_text(encoding="utf-8"))
        assert [m for m in ident_.matches if m.verdict == Verdict.MATCH] == []


def test_empty_hits_and_tiny_text() -> None:
    fp = METHOD.extract("太短")
    assert len(fp) == 0
    assert METHOD.score(fp, Hits.empty(), lambda d: None) == []


def test_reference_pack_roundtrip() -> None:
    text = demo_chapters()[0].read_text(encoding="utf-8")
    ref = METHOD.prepare_reference(text)
    back = METHOD.unpack_reference(METHOD.pack_reference(ref))
    assert back.folded == ref.folded
    assert list(back.fold_start) == list(ref.fold_start)
    assert list(back.fold_src) == list(ref.fold_src)


def test_index_is_small_per_chapter() -> None:
    idx = ExactIndex(None)
    for i, p in enumerate(demo_chapters(), start=1):
        fp = METHOD.extract(p.read_text(encoding="utf-8"), Role.REFERENCE)
        idx.add(i, fp.codes, fp.positions)
    idx.flush()
    per_chapter = idx.stats()["bytes"] / len(demo_chapters())
    assert per_chapter < 4096
