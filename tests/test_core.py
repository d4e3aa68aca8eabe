"""The compiled core computes exactly what the numpy reference computes (or is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jianwang.fingerprint import normalize as N
from jianwang.fingerprint import text as T
from jianwang.index import exact as E
from jianwang.index.exact import ExactIndex

from .conftest import demo_chapters

core = pytest.mark.skipif(N._core is None, reason="compiled core not built on this machine")

# characters that exercise every rule: OCR pairs, look-alikes, width, ligatures (2 and 3
# letters), invisible and combining characters, ideographs, kana, separators, astral letters
_ALPHABET = [
    *"rnclvihmdwe tq5 ,。.\n",
    "頭",
    "髮",
    "后",
    "己",
    "已",
    "カ",
    "ア",
    "Ｒ",
    "ｎ",
    "ﬁ",
    "ﬃ",
    "\u200b",
    "\u00ad",
    "\u0301",
    "а",
    "е",
    "ɑ",
    "Ϲ",
    "⼈",
    "𝐓",
    "①",
    "\ufeff",
    "ß",
]


def _same(a: N.NormText, b: N.NormText) -> None:
    assert np.array_equal(a.ids, b.ids)
    assert np.array_equal(a.start, b.start) and np.array_equal(a.end, b.end)
    assert a.folded == b.folded
    assert np.array_equal(a.fold_start, b.fold_start)
    assert np.array_equal(a.fold_src, b.fold_src)
    assert a.raw_length == b.raw_length


@core
@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(_ALPHABET), max_size=60))
def test_normalize_matches_numpy_on_tricky_text(text: str) -> None:
    _same(N.normalize(text), N.normalize_numpy(text))


@core
@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_normalize_matches_numpy_on_any_text(text: str) -> None:
    _same(N.normalize(text), N.normalize_numpy(text))


@core
def test_normalize_matches_numpy_on_real_chapters() -> None:
    for p in demo_chapters():
        text = p.read_text(encoding="utf-8")
        _same(N.normalize(text), N.normalize_numpy(text))


@core
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=80), st.integers(1, 20))
def test_kgrams_and_winnowing_match_numpy(values: list[int], w: int) -> None:
    ids = np.asarray(values, dtype=np.uint64)
    for k in (1, 3, 5):
        assert np.array_equal(T.kgram_hashes(ids, k), T.kgram_hashes_numpy(ids, k))
    assert np.array_equal(T.winnow(ids, w), T.winnow_numpy(ids, w))


@core
def test_lookup_matches_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    idx = ExactIndex(None, shards=2)
    pool = rng.integers(0, 2**63, 500, dtype=np.uint64)
    for doc in range(1, 60):
        keys = rng.choice(pool, 40)  # shared keys: several postings per key
        idx.add(doc, keys, np.arange(40, dtype=np.uint32))
    idx.flush()
    idx.add(99, pool[:10], np.arange(10, dtype=np.uint32))  # and a delta
    needles = np.concatenate([pool[:200], rng.integers(0, 2**63, 50, dtype=np.uint64)])
    for max_postings in (3, 64):
        fast = idx.lookup(needles, max_postings)
        monkeypatch.setattr(E, "_core", None)
        slow = idx.lookup(needles, max_postings)
        monkeypatch.undo()
        for a, b in (
            (fast.query_pos, slow.query_pos),
            (fast.doc, slow.doc),
            (fast.ref_pos, slow.ref_pos),
        ):
            assert np.array_equal(a, b)
        assert len(fast) > 0


@core
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 6), st.integers(0, 300), st.integers(0, 300)), max_size=200)
)
def test_candidate_docs_match_numpy(rows: list[tuple[int, int, int]]) -> None:
    from jianwang.fingerprint.base import Hits

    arr = np.asarray(rows, dtype=np.uint32).reshape(-1, 3)
    hits = Hits(arr[:, 1].copy(), arr[:, 0].copy(), arr[:, 2].copy())
    assert T._plausible_docs(hits) == T._plausible_docs_numpy(hits)


@core
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 120), st.integers(-6, 6)), max_size=150), st.integers(0, 3)
)
def test_chains_match_numpy(raw: list[tuple[int, int]], shift: int) -> None:
    text = demo_chapters()[shift].read_text(encoding="utf-8")
    qn = N.normalize(text[100:])
    rn = N.normalize(text)
    offset = len(N.normalize(text[:100]))
    q = np.asarray([a for a, _ in raw], dtype=np.uint32)
    r = np.asarray([max(0, a + offset + b) for a, b in raw], dtype=np.uint32)
    qfs = qn.fold_start.astype(np.int64)
    rfs = rn.fold_start.astype(np.int64)
    fast = N._core.chains(q, r, qfs, rfs, T.K, T.MAX_GAP, T.DRIFT)
    assert fast == T._chains_numpy(q, r, qfs, rfs)


@core
@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="abcd", max_size=60),
    st.text(alphabet="abcd", max_size=60),
    st.integers(-5, 65),
    st.integers(-5, 65),
    st.sampled_from([-1, 1]),
)
def test_extension_and_counting_match_python(a: str, b: str, q: int, r: int, step: int) -> None:
    assert N._core.extend(a, b, q, r, step, T.MAX_EXTEND) == T._extend_python(a, b, q, r, step)
    start, stop = sorted((max(0, q), max(0, r)))
    offset = r - q
    if start + offset >= 0:
        expected = sum(
            1
            for x, y in zip(a[start:stop], b[start + offset : stop + offset], strict=False)
            if x == y
        )
        assert N._core.count_equal(a, b, start, stop, offset) == expected


@core
@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 4), max_size=60), st.integers(1, 12))
def test_winnowing_with_ties_matches_numpy(values: list[int], w: int) -> None:
    ids = np.asarray(values, dtype=np.uint64)
    assert np.array_equal(T.winnow(ids, w), T.winnow_numpy(ids, w))


def test_identification_is_the_same_without_the_core(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """End to end: the numpy paths give the same matches and segments as the compiled ones."""
    from jianwang import Jianwang
    from jianwang.demo import demo_dir

    base = demo_dir()
    pages = sorted((base / "pages").glob("*.html"))
    with Jianwang.open(home=tmp_path / "home") as jw:
        jw.registry.import_manifest(base / "corpus" / "manifest.csv")
        with_core = [jw.identify(p.read_bytes(), p.name).to_json() for p in pages]
        for module in (N, T, E):
            monkeypatch.setattr(module, "_core", None)
        jw.identifier._refs.clear()
        without = [jw.identify(p.read_bytes(), p.name).to_json() for p in pages]
    assert with_core == without
    assert sum(len(x["matches"]) for x in with_core) >= len(pages) - 1


@core
@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=300_000), st.integers(0, 3))
def test_gear_candidates_match_numpy(data: bytes, zeros: int) -> None:
    """The file method's chunk cuts: compiled rolling hash = numpy doubling, also across the
    numpy twin's 64 KiB blocks and in runs of zeros."""
    from jianwang.fingerprint import files as F

    data = data + b"\0" * (zeros * 70_000) + data[: len(data) // 2]
    buf = np.frombuffer(data, dtype=np.uint8)
    want = F.gear_candidates(buf)
    got = N._core.gear_candidates(buf, F._GEAR, int(F._CUT_MASK))
    assert np.array_equal(got, want)


@core
def test_gear_candidates_match_numpy_on_a_real_binary() -> None:
    from jianwang.fingerprint import files as F

    data = Path("/bin/sh").resolve().read_bytes()
    buf = np.frombuffer(data, dtype=np.uint8)
    want = F.gear_candidates(buf)
    assert len(want) > 0
    assert np.array_equal(N._core.gear_candidates(buf, F._GEAR, int(F._CUT_MASK)), want)
