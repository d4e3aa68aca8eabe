"""Normalisation folds every disguise family to the same tokens, with raw offsets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jianwang.fingerprint.normalize import normalize, normalized_string

SIMPLIFIED = "头发里面后来发现，他们在台湾。"


def same_tokens(a: str, b: str) -> bool:
    return np.array_equal(normalize(a).ids, normalize(b).ids)


@pytest.mark.parametrize(
    "disguised",
    [
        "頭髮裡面後來發現，他們在臺灣。",  # traditional
        "頭髮裏面後來發現,他們在台灣.",  # variants + ASCII punctuation
        "头\u200b发\u200d里\u2060面\ufeff后\u00ad来\u200e发现，他们在台湾。",  # invisible
        "头 发 里 面 后 来 发 现 ， 他 们 在 台 湾 。",  # spaces
    ],
)
def test_chinese_disguises_fold(disguised: str) -> None:
    assert same_tokens(SIMPLIFIED, disguised)


def test_kangxi_radicals_and_compatibility_ideographs_fold() -> None:
    assert same_tokens("人大金", "\u2f08\u2f24\u2fa6")  # Kangxi radicals
    assert same_tokens("著", "\ufa5f")  # CJK compatibility ideograph


def test_latin_disguises_fold() -> None:
    plain = "The pirate copied the whole chapter"
    for disguised in (
        "ＴＨＥ ＰＩＲＡＴＥ copied the whole chapter",  # full width
        "Thе pirаte cоpied thе whоle chаpter",  # Cyrillic е а о
        "The pi\u200brate co\u00adpied the whole chapter",  # invisible inside words
        "The pirate, copied; the whole — chapter!",  # punctuation
        "Τhe pirate copied the whole chapter",  # Greek capital tau
    ):
        assert same_tokens(plain, disguised), disguised


def test_separators_still_split_words() -> None:
    assert len(normalize("pirate copy")) == 2
    assert len(normalize("pirate\u200bcopy")) == 1  # zero-width joins, it does not separate


def test_offsets_point_into_raw_text() -> None:
    raw = "ＡＢ cd，頭髮\u200b！"
    n = normalize(raw)
    pieces = [raw[s:e] for s, e in zip(n.start, n.end, strict=True)]
    assert pieces == ["ＡＢ", "cd", "頭", "髮"]


def test_ocr_confusions_fold() -> None:
    assert normalized_string("已经") == normalized_string("己经")
    assert normalized_string("c0py l1ne") == normalized_string("copy llne")
    assert normalized_string("C0PY") == normalized_string("copy")


def test_astral_and_ligatures() -> None:
    assert normalized_string("𝐓𝐡𝐞 ﬁne") == normalized_string("The fine")
    assert len(normalize("𝐓𝐡𝐞 ﬁne")) == 2


def test_latin_ocr_confusions_fold() -> None:
    # rn/m, vv/w, li/h, cl/d, c/e, n/u: what OCR does to a scanned English page
    assert same_tokens("the modern world was dead", "tlie rnodern vvorld vvas clcacl")
    assert same_tokens("unclean", "nnelean")
    assert not same_tokens("modern world", "ancient world")


@given(st.text(max_size=200))
def test_never_fails_and_offsets_are_ordered(raw: str) -> None:
    n = normalize(raw)
    assert len(n.start) == len(n.end) == len(n)
    assert np.all(n.start < n.end)
    assert np.all(n.end <= len(raw))
    assert np.all(np.diff(n.start) > 0)


def test_cached_table_gives_the_same_folding(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from jianwang.fingerprint import normalize as N

    text = "頭髮 ＡＢＣ Thе mоdern vvorld ﬁne 𝐀 ⼈ pi\u200brate"
    before = normalize(text)
    arrays = N.table_arrays()
    np.savez_compressed(tmp_path / "t.npz", **arrays)
    with np.load(tmp_path / "t.npz") as data:
        assert N.install_table(dict(data))
    after = normalize(text)
    assert np.array_equal(before.ids, after.ids) and before.folded == after.folded
    stale = dict(arrays, version=np.asarray([N.TABLE_VERSION - 1]))
    assert not N.install_table(stale)
    assert not N.install_table({"version": np.asarray([N.TABLE_VERSION])})
