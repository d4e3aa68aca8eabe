"""Text normalisation with an offset map back to the raw input.

Pirate pages disguise copied text with width changes, invisible characters, look-alike
letters, simplified/traditional conversion and OCR-style confusions. Normalisation folds all
of these to one canonical *token* stream so that the reference and the copy meet again:

* every character is mapped through one precomputed table: NFKC, case folding, diacritics
  removed, Cyrillic/Greek look-alikes to Latin, OpenCC traditional-to-simplified (with
  Taiwan/Hong Kong variant folding), and a small table of well-known OCR confusions;
* format characters (zero-width, bidi marks, soft hyphen, BOM) and combining marks are
  *transparent*: dropped without breaking a word;
* everything that is not a letter or digit is a *separator*;
* ideographs, kana, hangul and Thai characters are one token each; runs of other letters and
  digits are one token per word.

The table is applied with numpy gathers, so the cost per character is a few nanoseconds. The
result keeps, for every token, the [start, end) character offsets in the raw input.

Pure algorithm: no I/O. OpenCC is used once, to build the table.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

#: bump when the mapping changes: fingerprints built with another version are rebuilt
TABLE_VERSION = 6

SEPARATOR, TRANSPARENT, IDEO, WORD, MULTI = 0, 1, 2, 3, 4

_MASK64 = (1 << 64) - 1

# Cyrillic and Greek letters that pass for Latin ones (after case folding). Homoglyph attacks
# replace Latin letters with these; real Cyrillic/Greek words fold consistently on both sides.
_CONFUSABLES = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "ԁ": "d",
    "һ": "h",
    "ԛ": "q",
    "ԝ": "w",
    "ү": "y",
    "ӏ": "l",
    "ɡ": "g",
    "ь": "b",
    "п": "n",
    "г": "r",
    "ш": "w",
    "з": "3",
    "ч": "4",
    # Greek
    "α": "a",
    "β": "b",
    "γ": "y",
    "ε": "e",
    "ζ": "z",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "μ": "u",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "ϲ": "c",
    "Ϲ": "c",
    "ϳ": "j",
    "σ": "o",
    "ς": "c",
    # Latin look-alikes (IPA letters and small capitals) and OCR digit/letter confusions
    **dict(zip("ɑɩɪʏɢʜʟɴʀᴀᴄᴅᴇᴊᴋᴍᴏᴘᴛᴜᴠᴡᴢǀ", "aiiyghlnracdejkmoptuvwzl", strict=True)),
    "ı": "i",
    "ȷ": "j",
    "ł": "l",
    "ø": "o",
    "ß": "ss",
    "0": "o",
    "1": "l",
}

# Groups of CJK characters that OCR (and careless re-typing) confuse; each member folds to the
# first. Chosen from published OCR confusion lists, not from any test set; the n-gram
# fingerprint tolerates confusions outside this list by redundancy.
_OCR_GROUPS = (
    "己已巳",
    "未末",
    "日曰",
    "人入八",
    "土士",
    "戊戌戍戎",
    "刀力",
    "千干于",
    "天夭",
    "免兔",
    "侯候",
    "析折",
    "拔拨",
    "壶壸",
    "汨汩",
    "大太犬",
    "王玉",
    "木本术",
    "田由甲申",
    "贝见",
    "今令",
    "代伐",
    "白自",
    "口囗",
    "冶治",
    "仑仓",
    "办为",
    "乌鸟",
    "戈弋",
    "毋母",
    "亳毫",
    "辩辨辫",
    "崇祟",
    "旦且",
    "卜十",
    "儿几",
    "准淮",
    "竞竟",
    "问间",
    "末未",
)

# Latin letters OCR confuses, folded to one "skeleton" on both sides so that a scanned and
# recognised copy keeps its words: single letters here (c/e, n/u, f/t, g/q, s/5), letter
# pairs (rn/m, cl/d, vv/w, li/h) by `_contract_pairs` after the table.
_LATIN_SKELETON = {"e": "c", "u": "n", "t": "f", "q": "g", "5": "s"}
# (first, second, single): pairs are compared after the single-letter folds above
_LATIN_PAIRS = (("r", "n", "m"), ("c", "l", "d"), ("v", "v", "w"), ("l", "i", "h"))

_IDEO_RANGES = (
    (0x0E00, 0x0E7F),  # Thai (no spaces between words)
    (0x3040, 0x30FF),  # kana
    (0x3100, 0x312F),  # bopomofo
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility (normally folded by NFKC before this)
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)

# Characters without a Unicode format category that are still invisible in every renderer.
_INVISIBLE = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x034F, 0x17B4, 0x17B5}


def _is_ideo(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _IDEO_RANGES)


@functools.cache
def _opencc_t2s() -> dict[str, str]:
    """Single-character traditional/variant -> simplified map, from OpenCC."""
    import opencc

    chars = [chr(cp) for lo, hi in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF)) for cp in range(lo, hi + 1)]
    chars += [chr(cp) for cp in range(0x20000, 0x2B81F)]
    joined = "\n".join(chars)
    out = joined
    # Taiwan and Hong Kong variants first, then the standard conversion; newline separation
    # keeps OpenCC from applying phrase rules across characters.
    for config in ("tw2s.json", "hk2s.json", "t2s.json"):
        out = opencc.OpenCC(config).convert(out)
    converted = out.split("\n")
    if len(converted) != len(chars):  # pragma: no cover - would mean OpenCC changed behaviour
        raise RuntimeError("OpenCC conversion changed the character count")
    return {a: b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def _fold_char(ch: str, t2s: dict[str, str], ocr: dict[str, str]) -> tuple[int, str]:
    """Return (kind, folded string) for one raw character."""
    cp = ord(ch)
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Mn", "Me") or cp in _INVISIBLE or 0xFE00 <= cp <= 0xFE0F:
        return TRANSPARENT, ""
    # look-alikes first: case folding would turn some into other letters (ϲ → σ)
    s = unicodedata.normalize("NFKC", _CONFUSABLES.get(ch, ch)).casefold()
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = unicodedata.normalize("NFC", s)
    out = []
    for c in s:
        c = _CONFUSABLES.get(c, c)
        for d in c:
            if unicodedata.category(d)[0] not in "LN":
                continue
            d = t2s.get(d, d)
            d = ocr.get(d, d)
            out.append(_LATIN_SKELETON.get(d, d))
    folded = "".join(out)
    if not folded:
        return SEPARATOR, ""
    if len(folded) > 1:
        return MULTI, folded
    return (IDEO if _is_ideo(ord(folded)) else WORD), folded


@dataclass(frozen=True)
class _Table:
    code: npt.NDArray[np.uint32]  # the folded character (the first of two, for pairs)
    kind: npt.NDArray[np.uint8]
    multi: dict[int, str]
    code2: npt.NDArray[np.uint32]  # second folded character of a two-character folding
    kind1: npt.NDArray[np.uint8]
    kind2: npt.NDArray[np.uint8]
    t2s: dict[str, str]
    ocr: dict[str, str]


_TABLE: _Table | None = None


def _table() -> _Table:
    global _TABLE
    if _TABLE is None:
        _TABLE = _build_table()
    return _TABLE


def table_arrays() -> dict[str, np.ndarray]:
    """The folding table as plain arrays, for a cache file (see `install_table`)."""
    t = _table()
    multi_keys = np.fromiter(t.multi, dtype=np.uint32)
    return {
        "version": np.asarray([TABLE_VERSION]),
        "code": t.code,
        "kind": t.kind,
        "code2": t.code2,
        "kind1": t.kind1,
        "kind2": t.kind2,
        "multi_keys": multi_keys,
        "multi_values": np.asarray([t.multi[int(k)] for k in multi_keys], dtype=str),
        "t2s_keys": np.asarray(list(t.t2s), dtype=str),
        "t2s_values": np.asarray(list(t.t2s.values()), dtype=str),
    }


def install_table(arrays: dict[str, np.ndarray]) -> bool:
    """Use a table saved by `table_arrays` (building it costs ~0.4 s per process); False,
    and nothing installed, when it is of another version or malformed."""
    global _TABLE
    try:
        if int(arrays["version"][0]) != TABLE_VERSION or arrays["code"].shape != (0x10000,):
            return False
        multi = {
            int(k): str(v)
            for k, v in zip(arrays["multi_keys"], arrays["multi_values"], strict=True)
        }
        t2s = {
            str(k): str(v) for k, v in zip(arrays["t2s_keys"], arrays["t2s_values"], strict=True)
        }
        _TABLE = _Table(
            arrays["code"].astype(np.uint32),
            arrays["kind"].astype(np.uint8),
            multi,
            arrays["code2"].astype(np.uint32),
            arrays["kind1"].astype(np.uint8),
            arrays["kind2"].astype(np.uint8),
            t2s,
            _ocr_map(),
        )
    except (KeyError, ValueError, IndexError, TypeError):
        return False
    return True


def _ocr_map() -> dict[str, str]:
    return {c: g[0] for g in _OCR_GROUPS for c in g[1:]}


def _build_table() -> _Table:
    t2s = _opencc_t2s()
    ocr = _ocr_map()
    size = 0x10000
    code = np.zeros(size, dtype=np.uint32)
    code2 = np.zeros(size, dtype=np.uint32)
    kind = np.zeros(size, dtype=np.uint8)
    kind1 = np.zeros(size, dtype=np.uint8)
    kind2 = np.zeros(size, dtype=np.uint8)
    multi: dict[int, str] = {}
    for cp in range(size):
        if 0xD800 <= cp <= 0xDFFF:
            kind[cp] = SEPARATOR
            continue
        k, s = _fold_char(chr(cp), t2s, ocr)
        kind[cp] = k
        if k in (IDEO, WORD):
            code[cp] = ord(s)
        elif k == MULTI:
            multi[cp] = s
            if len(s) == 2:
                code[cp], code2[cp] = ord(s[0]), ord(s[1])
                kind1[cp] = IDEO if _is_ideo(ord(s[0])) else WORD
                kind2[cp] = IDEO if _is_ideo(ord(s[1])) else WORD
    return _Table(code, kind, multi, code2, kind1, kind2, t2s, ocr)


def _astral(cp: int) -> tuple[int, str]:
    t = _table()
    return _fold_char(chr(cp), t.t2s, t.ocr)


@dataclass(frozen=True)
class NormText:
    """Token stream of a text.

    `ids[i]` is a 64-bit token id; `start[i]`, `end[i]` are the token's [start, end) character
    offsets in the raw text. `folded` is the folded text of all tokens without separators, and
    token i is `folded[fold_start[i]:fold_start[i + 1]]` (used to compare passages letter by
    letter, whatever spaces a copy added or removed).
    """

    ids: npt.NDArray[np.uint64]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    raw_length: int
    folded: str = ""
    fold_start: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    #: raw character offset of every folded character
    fold_src: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser: spreads bits so that nearby inputs give unrelated outputs."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_POW = np.ones(256, dtype=np.uint64)
for _i in range(1, 256):
    _POW[_i] = np.uint64((int(_POW[_i - 1]) * 0x100000001B3) & _MASK64)


@functools.lru_cache(maxsize=65536)
def _special(cp: int) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """(codes, kinds, raw kind) of a character that does not fold to one BMP character."""
    t = _table()
    if cp < 0x10000:
        k, s = int(t.kind[cp]), t.multi.get(cp, "")
    else:
        k, s = _astral(cp)
    if k in (SEPARATOR, TRANSPARENT):
        return (0,), (k,), k
    codes = tuple(ord(c) for c in s)
    return codes, tuple(IDEO if _is_ideo(c) else WORD for c in codes), k


def _expand(
    cps: npt.NDArray[np.uint32], special: npt.NDArray[np.intp]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs with multi-character or astral foldings: (codes, kinds, src). Two-character
    foldings (the common case: Latin OCR skeletons, ligatures) are vectorised; longer ones
    and astral characters go through Python one by one."""
    t = _table()
    bmp = np.minimum(cps, 0xFFFF)
    codes = t.code[bmp]
    kinds = t.kind[bmp]
    is_pair = (cps[special] < 0x10000) & (t.code2[bmp[special]] != 0)
    pairs = special[is_pair]
    others = special[~is_pair]
    expansions = [_special(int(cps[i])) for i in others.tolist()]
    counts = np.ones(cps.shape[0], dtype=np.int64)
    counts[pairs] = 2
    if expansions:
        counts[others] = [len(e[0]) for e in expansions]
    src = np.repeat(np.arange(cps.shape[0], dtype=np.int64), counts)
    out_codes = codes[src]
    out_kinds = kinds[src]
    starts = np.cumsum(counts) - counts
    at = starts[pairs]
    out_kinds[at] = t.kind1[bmp[pairs]]
    out_codes[at + 1] = t.code2[bmp[pairs]]
    out_kinds[at + 1] = t.kind2[bmp[pairs]]
    for i, (ecodes, ekinds, _) in zip(starts[others].tolist(), expansions, strict=True):
        out_codes[i : i + len(ecodes)] = ecodes
        out_kinds[i : i + len(ekinds)] = ekinds
    return out_codes, out_kinds, src


_PAIR_CODES = tuple((ord(a), ord(b), ord(c)) for a, b, c in _LATIN_PAIRS)
_PAIRS = np.asarray(_PAIR_CODES, dtype=np.uint32)

try:  # the compiled twins of the hot loops (optional; see _core.pyx)
    from . import _core  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # pragma: no cover - exercised where the extension is not built
    _core = None  # type: ignore[assignment]
if os.environ.get("JIANWANG_NO_CORE"):  # measure or debug the numpy paths
    _core = None  # type: ignore[assignment]


def _contract_pairs(
    codes: npt.NDArray[np.uint32], src: npt.NDArray[np.int64], starts: npt.NDArray[np.bool_]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fold the Latin letter pairs OCR makes of single letters (rn, cl, vv, li) into the
    letter (m, d, w, h) in the stream of token characters (separators already gone, so a
    space pushed into a word changes nothing): the pair's first character becomes the letter
    and the second is dropped. Both sides get the same folding, so genuine pairs ("modern")
    stay consistent."""
    if codes.shape[0] < 2:
        return codes, src, starts
    a, b = codes[:-1], codes[1:]
    drop = np.zeros(codes.shape[0], dtype=bool)
    changed = False
    for first, second, single in _PAIR_CODES:
        hit = (a == first) & (b == second)
        if hit.any():
            pos = np.flatnonzero(hit)
            pos = pos[~drop[pos]]  # "vvv": the first pair wins
            if pos.shape[0]:
                if not changed:
                    codes, starts, changed = codes.copy(), starts.copy(), True
                codes[pos] = single
                drop[pos + 1] = True
    if not changed:
        return codes, src, starts
    # a dropped character that began a token hands the beginning to its successor
    heirs = np.flatnonzero(drop & starts) + 1
    starts[heirs[heirs < codes.shape[0]]] = True
    keep = ~drop
    return codes[keep], src[keep], starts[keep]


_PACKED: tuple[_Table, npt.NDArray[np.uint32]] | None = None


def _packed(t: _Table) -> npt.NDArray[np.uint32]:
    """Code and kind of every BMP character in one array (for the compiled core)."""
    global _PACKED
    if _PACKED is None or _PACKED[0] is not t:
        _PACKED = (t, t.code | (t.kind.astype(np.uint32) << np.uint32(24)))
    return _PACKED[1]


def normalize(text: str) -> NormText:
    """Fold `text` to its canonical token stream, keeping raw character offsets."""
    if _core is not None and text:
        t = _table()
        out = _core.normalize_bmp(text, _packed(t), t.code2, t.kind1, t.kind2, _POW, _PAIRS)
        if out is not None:
            ids, start, end, folded, fold_start, fold_src = out
            return NormText(
                ids=ids,
                start=start,
                end=end,
                raw_length=len(text),
                folded=folded.tobytes().decode("utf-32-le", "surrogatepass"),
                fold_start=fold_start,
                fold_src=fold_src,
            )
    return normalize_numpy(text)


def normalize_numpy(text: str) -> NormText:
    """`normalize` with numpy only (the reference the compiled core is tested against)."""
    t = _table()
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n = cps.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return NormText(np.zeros(0, dtype=np.uint64), empty, empty.copy(), 0)
    if int(cps.max()) >= 0x10000:
        special = np.flatnonzero((cps >= 0x10000) | (t.kind[np.minimum(cps, 0xFFFF)] == MULTI))
        codes, kinds, src = _expand(cps, special)
    else:
        kinds = t.kind[cps]
        special = np.flatnonzero(kinds == MULTI)
        if special.shape[0]:
            codes, kinds, src = _expand(cps, special)
        else:
            codes = t.code[cps]
            src = np.arange(n, dtype=np.int64)
    transparent = kinds == TRANSPARENT
    if transparent.any():
        keep = ~transparent
        codes, kinds, src = codes[keep], kinds[keep], src[keep]
    is_word = kinds == WORD
    is_tok = kinds >= IDEO
    prev_word = np.empty_like(is_word)
    if is_word.shape[0]:
        prev_word[0] = False
        prev_word[1:] = is_word[:-1]
    starts_flag = (kinds == IDEO) | (is_word & ~prev_word)
    # restrict to token characters; separators only matter for where words start
    tok_codes, tok_src, tok_starts_flag = _contract_pairs(
        codes[is_tok], src[is_tok], starts_flag[is_tok]
    )
    tok_codes = tok_codes.astype(np.uint64)
    m = tok_codes.shape[0]
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return NormText(np.zeros(0, dtype=np.uint64), empty, empty.copy(), n)
    group = np.cumsum(tok_starts_flag) - 1
    first = np.flatnonzero(tok_starts_flag)
    rel = np.arange(m) - first[group]
    vals = tok_codes * _POW[np.minimum(rel, 255)]
    ids = np.add.reduceat(vals, first)
    lengths = np.diff(np.append(first, m)).astype(np.uint64)
    ids = _mix64(ids ^ (lengths << np.uint64(56)))
    last = np.append(first[1:], m) - 1
    folded = tok_codes.astype(np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    return NormText(
        ids=ids,
        start=tok_src[first],
        end=tok_src[last] + 1,
        raw_length=n,
        folded=folded,
        fold_start=np.append(first, m).astype(np.int64),
        fold_src=tok_src.astype(np.int64),
    )


def normalized_string(text: str) -> str:
    """Human-readable folding of `text` (for debugging and docs): tokens joined by spaces
    between words, ideographs kept adjacent."""
    t = _table()
    out = []
    for ch in text:
        cp = ord(ch)
        if cp < 0x10000:
            k = int(t.kind[cp])
            s = t.multi.get(cp, "") if k == MULTI else (chr(int(t.code[cp])) if k >= IDEO else "")
        else:
            k, s = _astral(cp)
        out.append(" " if k == SEPARATOR else s)
    return " ".join("".join(out).split())
