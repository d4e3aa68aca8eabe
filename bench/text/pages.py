"""Pirate web-page generator for the online-literature benchmark.

:func:`make_pages` turns corpus chapters into realistic pirate-site HTML pages, applying one
*distortion family* per call:

``clean``         verbatim copy.
``injected_ads``  site names / URLs / ads injected as lines and inline mid-paragraph.
``split_pages``   the chapter is spread over 2–3 pages (each page is its own query).
``partial``       a contiguous 20–60 % excerpt (cut at sentence boundaries).
``convert``       simplified↔traditional with OpenCC; British→American spelling for English.
``width_punct``   full-/half-width swaps, CJK↔ASCII punctuation, extra spaces.
``invisible``     zero-width / format characters sprinkled at 5–15 % of positions.
``homoglyphs``    Latin→Cyrillic/Greek look-alikes; CJK compatibility ideographs and Kangxi radicals.
``ocr``           consistent OCR-style confusions (己/已, 未/末, rn→m, l→1 …) on 2–6 % of characters.
``reorder``       paragraphs shuffled in blocks.
``mixed``         2–4 of the above (not ``clean``) combined.

:func:`make_retranslation_pages` additionally renders an independent translation of a registered
chapter (family ``retranslation``; a good identifier flags it for review, not as a match).

Every page records its content *pieces* in page order: copied pieces carry the ``[start, end)``
code-point range of the source run in ``chapter.text``; injected pieces carry ``None``. Each piece
is emitted without inner markup, so its text appears verbatim in the text an HTML extractor
returns, and :func:`locate_cases` can map the pieces to ground-truth *cases*.

All randomness comes from the ``random.Random`` passed in: the same seed gives the same pages.
Offsets everywhere are Python ``str`` indices (Unicode code points).
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import random
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from bench.text.corpus import Chapter, Lang, split_sentences

FAMILIES: tuple[str, ...] = (
    "clean",
    "injected_ads",
    "split_pages",
    "partial",
    "convert",
    "width_punct",
    "invisible",
    "homoglyphs",
    "ocr",
    "reorder",
    "mixed",
)
#: Families that ``mixed`` draws from.
COMBINABLE: tuple[str, ...] = tuple(f for f in FAMILIES if f not in ("clean", "mixed"))
#: Order in which text-level distortions are applied when several are combined.
_TEXT_ORDER: tuple[str, ...] = ("convert", "ocr", "homoglyphs", "width_punct", "invisible")
TEMPLATES: tuple[str, ...] = ("biquge", "forum", "blog", "mobile")
RETRANSLATION = "retranslation"


# --------------------------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of page content. ``ref_start``/``ref_end`` index ``chapter.text`` (code points).

    For a copied piece the *text* may differ from ``chapter.text[ref_start:ref_end]`` (it was
    distorted) but renders that reference range. Injected text has ``None`` for both.
    """

    text: str
    ref_start: int | None
    ref_end: int | None

    @property
    def copied(self) -> bool:
        return self.ref_start is not None


@dataclass(frozen=True, slots=True)
class Page:
    """One generated pirate page.

    ``truth_key`` is the registered chapter the content was copied from, ``None`` for negative
    pages (then every piece has ``ref_start is None``; ``source_key`` still names the unregistered
    chapter used). ``html`` is encoded with ``encoding`` (a Python codec name) and declares the
    matching ``<meta charset>``.
    """

    page_id: str
    family: str
    html: bytes
    truth_key: str | None
    pieces: list[Piece]
    source_key: str = ""
    lang: str = ""
    encoding: str = "utf-8"
    template: str = ""
    part: int = 1
    parts: int = 1
    distortions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """JSON-friendly description (without the HTML bytes)."""
        return {
            "page_id": self.page_id,
            "family": self.family,
            "truth_key": self.truth_key,
            "source_key": self.source_key,
            "lang": self.lang,
            "encoding": self.encoding,
            "template": self.template,
            "part": self.part,
            "parts": self.parts,
            "distortions": list(self.distortions),
            "pieces": [[p.text, p.ref_start, p.ref_end] for p in self.pieces],
        }


class Case(NamedTuple):
    """A ground-truth plagiarism case: ``[page_start, page_end)`` in the extracted page text
    renders ``[ref_start, ref_end)`` of the registered chapter text (code points)."""

    page_start: int
    page_end: int
    ref_start: int
    ref_end: int


# --------------------------------------------------------------------------------------------
# Locating pieces in extracted text
# --------------------------------------------------------------------------------------------


def _skippable(ch: str) -> bool:
    """Whitespace and format characters (ZWSP, ZWJ, soft hyphen, BOM, bidi marks …)."""
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def _compact(text: str) -> tuple[str, list[int]]:
    keep = [i for i, ch in enumerate(text) if not _skippable(ch)]
    return "".join(text[i] for i in keep), keep


def locate_cases(
    extracted_text: str,
    pieces: Sequence[Piece],
    *,
    ref_text: str | None = None,
    max_ref_gap: int = 1,
    strict: bool = True,
) -> list[Case]:
    """Map a page's pieces onto the text an HTML extractor returned for it.

    ``extracted_text`` must be the raw extracted text (before any Unicode normalisation), because
    returned page offsets index it. Pieces are searched in page order; whitespace and Unicode
    format characters (category Cf) are ignored on both sides, so differences at tag boundaries,
    indentation and collapsed spaces do not matter. The longest copied piece that occurs only
    once (or else the longest) is found first and
    the others are searched outwards from it in page order (backwards for earlier pieces,
    forwards for later ones), so a header or footer that repeats a short first or last line
    (e.g. an ``<h1>`` with the chapter heading) is not mistaken for content.

    Consecutive copied pieces merge into one :class:`Case` when only whitespace/format
    characters separate them on the page and they are contiguous in the reference: the reference
    gap is whitespace in ``ref_text`` if given, else at most ``max_ref_gap`` code points (one
    newline between paragraphs). An injected ad between two pieces therefore splits a case.

    Raises ``LookupError`` for a copied piece that cannot be found, unless ``strict`` is false
    (then it is skipped). Returns cases in page order.
    """
    compact, index = _compact(extracted_text)
    needles = [_compact(p.text)[0] for p in pieces]
    located: list[tuple[Piece, int, int] | None] = [None] * len(pieces)
    copied = [i for i, p in enumerate(pieces) if p.copied and needles[i]]
    if not copied:
        return []
    # Anchor on the longest copied piece, then search outwards: backwards (rfind) for earlier
    # pieces, forwards (find) for later ones. Short pieces at either end are thus never matched
    # in a header or footer that happens to contain the same text.
    by_len = sorted(copied, key=lambda i: (-len(needles[i]), i))
    anchor = next((i for i in by_len[:8] if compact.count(needles[i]) == 1), by_len[0])
    found: dict[int, int] = {}
    j = compact.find(needles[anchor])
    if j >= 0:
        found[anchor] = j
        lo, hi = j, j + len(needles[anchor])
        for i in range(anchor - 1, -1, -1):
            k = compact.rfind(needles[i], 0, lo) if needles[i] else -1
            if k >= 0:
                found[i], lo = k, k
        for i in range(anchor + 1, len(pieces)):
            k = compact.find(needles[i], hi) if needles[i] else -1
            if k >= 0:
                found[i], hi = k, k + len(needles[i])
    for i in copied:
        if i not in found:
            if strict:
                raise LookupError(f"piece {i} not found in extracted text: {pieces[i].text[:40]!r}")
            continue
        k = found[i]
        located[i] = (pieces[i], index[k], index[k + len(needles[i]) - 1] + 1)

    cases: list[Case] = []
    for item in located:
        if item is None:
            continue
        piece, start, end = item
        assert piece.ref_start is not None and piece.ref_end is not None
        if cases:
            last = cases[-1]
            page_gap = extracted_text[last.page_end : start]
            ref_ok = last.ref_end <= piece.ref_start and (
                ref_text[last.ref_end : piece.ref_start].strip() == ""
                if ref_text is not None
                else piece.ref_start - last.ref_end <= max_ref_gap
            )
            if ref_ok and all(_skippable(ch) for ch in page_gap):
                cases[-1] = Case(last.page_start, end, last.ref_start, piece.ref_end)
                continue
        cases.append(Case(start, end, piece.ref_start, piece.ref_end))
    return cases


def page_cases(page: Page, extracted_text: str, ref_text: str | None = None) -> list[Case]:
    """:func:`locate_cases` for a page; negative pages have no cases."""
    if page.truth_key is None:
        return []
    return locate_cases(extracted_text, page.pieces, ref_text=ref_text)


# --------------------------------------------------------------------------------------------
# Text distortions
# --------------------------------------------------------------------------------------------


def _opencc(config: str, text: str) -> str:
    from bench.text.corpus import _Converter

    return _Converter.convert(config, text)


def _words(spec: str) -> tuple[str, ...]:
    return tuple(spec.split())


_UK_US_OUR = _words(
    "honour colour labour neighbour saviour favour behaviour armour odour vapour rumour harbour "
    "endeavour fervour splendour savour humour valour vigour rigour clamour parlour succour "
    "tumour candour"
)
_UK_US_OTHER = {
    "defence": "defense",
    "offence": "offense",
    "grey": "gray",
    "sceptre": "scepter",
    "sepulchre": "sepulcher",
    "centre": "center",
    "theatre": "theater",
    "plough": "plow",
    "travelled": "traveled",
    "travelling": "traveling",
    "jewellery": "jewelry",
    "counsellor": "counselor",
    "counsellors": "counselors",
    "marvelled": "marveled",
    "marvellous": "marvelous",
    "shew": "show",
    "shewed": "showed",
    "cheque": "check",
    "storey": "story",
}


@lru_cache(maxsize=1)
def _uk_us_regex() -> tuple[re.Pattern[str], dict[str, str]]:
    table = dict(_UK_US_OTHER)
    for w in _UK_US_OUR:
        table[w] = w.replace("our", "or")
    stems = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(stems) + r")(\w*)", re.IGNORECASE)
    return pattern, table


def uk_to_us(text: str) -> str:
    """British→American spelling (honour→honor, defence→defense …), preserving case."""
    pattern, table = _uk_us_regex()

    def sub(m: re.Match[str]) -> str:
        stem = m.group(1)
        rep = table[stem.lower()]
        if stem.isupper():
            rep = rep.upper()
        elif stem[0].isupper():
            rep = rep[0].upper() + rep[1:]
        return rep + m.group(2)

    return pattern.sub(sub, text)


_CJK_TO_ASCII_PUNCT = {
    "，": ",",
    "。": ".",
    "！": "!",
    "？": "?",
    "；": ";",
    "：": ":",
    "（": "(",
    "）": ")",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "「": '"',
    "」": '"',
    "『": "'",
    "』": "'",
    "、": ",",
}
_ASCII_TO_FULL_PUNCT = {
    ",": "，",
    ".": "．",
    "!": "！",
    "?": "？",
    ";": "；",
    ":": "：",
    "(": "（",
    ")": "）",
    '"': "＂",
    "'": "＇",
}

_LATIN_HOMOGLYPHS: dict[str, str] = {
    "a": "аɑ",
    "c": "сϲ",
    "d": "ԁ",
    "e": "е",
    "h": "һ",
    "i": "іι",
    "j": "ј",
    "o": "оο",
    "p": "рρ",
    "q": "ԛ",
    "s": "ѕ",
    "v": "ν",
    "w": "ԝ",
    "x": "х",
    "y": "у",
    "A": "АΑ",
    "B": "ВΒ",
    "C": "С",
    "E": "ЕΕ",
    "H": "НΗ",
    "I": "ІΙ",
    "J": "Ј",
    "K": "КΚ",
    "M": "МΜ",
    "N": "Ν",
    "O": "ОΟ",
    "P": "РΡ",
    "S": "Ѕ",
    "T": "ТΤ",
    "X": "ХΧ",
    "Y": "ΥҮ",
    "Z": "Ζ",
}


@lru_cache(maxsize=1)
def cjk_homoglyphs() -> dict[str, str]:
    """Unified ideograph → look-alike code points (compatibility ideographs U+F900–FAFF,
    Kangxi radicals U+2F00–2FD5, CJK radicals supplement) derived with NFKC."""
    table: dict[str, list[str]] = {}
    ranges = [range(0xF900, 0xFB00), range(0x2F00, 0x2FD6), range(0x2E80, 0x2EF4)]
    for r in ranges:
        for cp in r:
            ch = chr(cp)
            base = unicodedata.normalize("NFKC", ch)
            if len(base) == 1 and base != ch:
                table.setdefault(base, []).append(ch)
    return {k: "".join(v) for k, v in sorted(table.items())}


#: OCR confusion pairs (source → what an OCR engine reads), applied consistently per page.
OCR_CONFUSIONS: tuple[tuple[str, str], ...] = tuple(
    (pair.split(">")[0], pair.split(">")[1])
    for pair in _words(
        # CJK, both scripts
        "己>已 已>己 巳>已 未>末 末>未 日>曰 曰>日 人>入 入>人 土>士 士>土 戊>戌 戌>戍 戍>戌 "
        "刀>力 力>刀 千>干 干>千 天>夭 夭>天 免>兔 兔>免 侯>候 候>侯 析>折 折>析 拔>拨 拨>拔 "
        "大>太 太>大 王>玉 玉>王 木>本 本>木 白>自 自>白 目>自 田>由 由>田 甲>申 申>甲 "
        "今>令 令>今 儿>几 几>儿 子>孑 往>住 住>往 徒>徙 崇>祟 辨>辩 辩>辨 睛>晴 晴>睛 "
        "鸟>乌 乌>鸟 鳥>烏 烏>鳥 東>束 束>東 陳>陣 陣>陳 見>貝 貝>見 问>间 间>问 問>間 間>問 "
        "治>冶 冶>治 汨>汩 汩>汨 胄>胃 胃>胄 刺>剌 市>巿 准>淮 淮>准 茶>荼 亨>享 享>亨 "
        "即>既 既>即 复>夏 夏>复 贝>见 见>贝 壶>壸 毫>亳 拆>折 厉>历 历>厉 歷>曆 "
        # Latin
        "rn>m m>rn cl>d d>cl l>1 I>l O>0 0>O li>h h>li vv>w w>vv e>c c>e "
        "ri>n S>5 B>8 g>q f>t u>n n>u"
    )
)

_INVISIBLES = ("\u200b", "\u200c", "\u200d", "\u00ad", "\ufeff", "\u2060", "\u200e", "\u200f")


class _TextDistorter:
    """Per-chapter text distortion parameters; ``__call__`` distorts one piece of text."""

    def __init__(self, families: Sequence[str], chapter: Chapter, rng: random.Random) -> None:
        self.steps: list[Callable[[str], str]] = []
        self.lang: Lang = chapter.lang
        for fam in _TEXT_ORDER:
            if fam in families:
                getattr(self, f"_setup_{fam}")(chapter, rng)

    def __call__(self, text: str) -> str:
        for step in self.steps:
            text = step(text)
        return text

    # convert ------------------------------------------------------------------------------
    def _setup_convert(self, chapter: Chapter, rng: random.Random) -> None:
        if chapter.lang == "zh-Hans":
            config = rng.choice(["s2t", "s2tw", "s2hk"])
            self.steps.append(lambda t: _opencc(config, t))
            self.lang = "zh-Hant"
        elif chapter.lang == "zh-Hant":
            config = rng.choice(["t2s", "tw2s", "hk2s"])
            self.steps.append(lambda t: _opencc(config, t))
            self.lang = "zh-Hans"
        else:
            self.steps.append(uk_to_us)

    # ocr ----------------------------------------------------------------------------------
    def _setup_ocr(self, chapter: Chapter, rng: random.Random) -> None:
        text = chapter.text
        total = max(1, sum(1 for ch in text if not ch.isspace()))
        target = rng.uniform(0.02, 0.06) * total
        ceiling = 0.065 * total
        pairs = list(OCR_CONFUSIONS)
        rng.shuffle(pairs)
        chosen: dict[str, str] = {}
        used: set[str] = set()
        affected = 0
        for src, dst in pairs:
            if affected >= target:
                break
            if used & set(src):
                continue
            n = text.count(src) * len(src)
            if n == 0 or affected + n > ceiling:
                continue
            chosen[src] = dst
            used |= set(src)
            affected += n
        if not chosen:
            return
        pattern = re.compile("|".join(re.escape(s) for s in sorted(chosen, key=len, reverse=True)))
        self.ocr_table = chosen
        self.steps.append(lambda t: pattern.sub(lambda m: chosen[m.group(0)], t))

    # homoglyphs ---------------------------------------------------------------------------
    def _setup_homoglyphs(self, chapter: Chapter, rng: random.Random) -> None:
        cjk = cjk_homoglyphs()
        latin = {k: rng.choice(v) for k, v in sorted(_LATIN_HOMOGLYPHS.items())}
        rate_latin = rng.uniform(0.1, 0.4)
        rate_cjk = rng.uniform(0.25, 0.7)
        seed = rng.random()

        def step(t: str) -> str:
            r = random.Random(f"{seed}:{t}")
            out = []
            for ch in t:
                if ch in latin and r.random() < rate_latin:
                    out.append(latin[ch])
                elif ch in cjk and r.random() < rate_cjk:
                    out.append(r.choice(cjk[ch]))
                else:
                    out.append(ch)
            return "".join(out)

        self.steps.append(step)

    # width / punctuation --------------------------------------------------------------------
    def _setup_width_punct(self, chapter: Chapter, rng: random.Random) -> None:
        zh = self.lang != "en"
        p_full = rng.uniform(0.5, 1.0) if zh else rng.uniform(0.03, 0.12)
        p_punct = rng.uniform(0.3, 1.0)
        p_space = rng.uniform(0.01, 0.04)
        spaces = [" ", "  ", "\u3000"] if zh else [" ", "  "]
        seed = rng.random()

        def step(t: str) -> str:
            r = random.Random(f"{seed}:{t}")
            out = []
            for ch in t:
                if zh and ch in _CJK_TO_ASCII_PUNCT and r.random() < p_punct:
                    ch = _CJK_TO_ASCII_PUNCT[ch]
                elif not zh and ch in _ASCII_TO_FULL_PUNCT and r.random() < p_punct:
                    ch = _ASCII_TO_FULL_PUNCT[ch]
                elif ch.isascii() and ch.isalnum() and r.random() < p_full:
                    ch = chr(ord(ch) + 0xFEE0)
                elif "\uff01" <= ch <= "\uff5e" and r.random() < p_punct:
                    ch = chr(ord(ch) - 0xFEE0)  # full-width → half-width
                out.append(ch)
                if r.random() < p_space:
                    out.append(r.choice(spaces))
            return "".join(out).strip()

        self.steps.append(step)

    # invisible ----------------------------------------------------------------------------
    def _setup_invisible(self, chapter: Chapter, rng: random.Random) -> None:
        kinds = rng.sample(_INVISIBLES, rng.randint(1, 4))
        rate = rng.uniform(0.05, 0.15)
        seed = rng.random()

        def step(t: str) -> str:
            r = random.Random(f"{seed}:{t}")
            out = []
            for ch in t:
                out.append(ch)
                if r.random() < rate:
                    out.append(r.choice(kinds))
            return "".join(out)

        self.steps.append(step)


# --------------------------------------------------------------------------------------------
# Structural distortions (on blocks of pieces)
# --------------------------------------------------------------------------------------------

_Block = list[Piece]


def _paragraph_blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    pos = 0
    for line in text.split("\n"):
        s = pos + (len(line) - len(line.lstrip()))
        e = pos + len(line.rstrip())
        if e > s:
            blocks.append([Piece(text[s:e], s, e)])
        pos += len(line) + 1
    return blocks


def _clip(text: str, s: int, e: int) -> Piece | None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return Piece(text[s:e], s, e) if e > s else None


def _sentence_cuts(text: str) -> list[int]:
    """Offsets where an excerpt may start or end: paragraph and sentence boundaries."""
    cuts = {0, len(text)}
    pos = 0
    for line in text.split("\n"):
        cuts.add(pos)
        cuts.add(pos + len(line))
        off = 0
        for sent in split_sentences(line):
            k = line.find(sent, off)
            if k >= 0:
                off = k + len(sent)
                cuts.add(pos + k)
                cuts.add(pos + off)
        pos += len(line) + 1
    return sorted(c for c in cuts if 0 <= c <= len(text))


def _partial(chapter: Chapter, blocks: list[_Block], rng: random.Random) -> list[_Block]:
    text = chapter.text
    n = len(text)
    frac = rng.uniform(0.2, 0.6)
    cuts = _sentence_cuts(text)
    starts = [c for c in cuts if c <= n * (1 - frac)] or [0]
    s = rng.choice(starts)
    e = next((c for c in cuts if c >= s + frac * n), n)
    out: list[_Block] = []
    for block in blocks:
        p = block[0]
        assert p.ref_start is not None and p.ref_end is not None
        piece = _clip(text, max(s, p.ref_start), min(e, p.ref_end))
        if piece is not None:
            out.append([piece])
    return out or blocks[:1]


def _reorder(blocks: list[_Block], rng: random.Random) -> list[_Block]:
    n = len(blocks)
    if n < 3:
        return list(reversed(blocks))
    k = rng.randint(3, min(8, n))
    cuts = sorted(rng.sample(range(1, n), k - 1))
    groups = [blocks[a:b] for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    order = list(range(k))
    rng.shuffle(order)
    if order == sorted(order):
        order = order[1:] + order[:1]
    return [b for i in order for b in groups[i]]


def _split(blocks: list[_Block], rng: random.Random) -> list[list[_Block]]:
    parts = min(rng.choice([2, 3]), len(blocks))
    if parts < 2:
        return [blocks]
    sizes = [sum(len(p.text) for p in b) for b in blocks]
    total = sum(sizes)
    bounds = []
    for i in range(1, parts):
        goal = total * i / parts * rng.uniform(0.9, 1.1)
        acc = 0
        for j, sz in enumerate(sizes):
            acc += sz
            if acc >= goal:
                bounds.append(j + 1)
                break
    bounds = sorted({min(max(b, 1), len(blocks) - 1) for b in bounds})
    edges = [0, *bounds, len(blocks)]
    return [blocks[a:b] for a, b in itertools.pairwise(edges) if b > a]


# --------------------------------------------------------------------------------------------
# Ads, sites, comments
# --------------------------------------------------------------------------------------------

_ZH_SITES = (
    ("笔趣阁", "www.xxbiquge.la"),
    ("新笔趣阁", "www.xbiquge{n}.com"),
    ("顶点小说", "www.ddxs{n}.cc"),
    ("八一中文网", "www.81zw{n}.net"),
    ("书趣阁", "www.shuquge{n}.la"),
    ("全本小说网", "www.quanben{n}.org"),
    ("69书吧", "www.69shu{n}.pro"),
    ("飘天文学", "www.ptwx{n}.net"),
)
_EN_SITES = (
    ("NovelFull", "novelfull.example"),
    ("LightNovelHub", "www.lightnovelhub{n}.example"),
    ("FreeWebNovel", "freewebnovel{n}.example"),
    ("ReadNovelBin", "readnovelbin{n}.example"),
    ("WuxiaReader", "m.wuxiareader{n}.example"),
)
_ZH_ADS = (
    "请记住本站域名：{domain} 最快更新",
    "天才一秒记住本站地址：{domain}",
    "{site}（{domain}）最新章节全文阅读",
    "手机用户请浏览 m.{domain} 阅读，更优质的阅读体验。",
    "百度搜索“{site}”即可找到本站，无弹窗小说网。",
    "本章未完，请点击下一页继续阅读",
    "喜欢本书的朋友请收藏：（{domain}）{site}更新速度全网最快。",
    "最新网址：{domain}",
    "一秒记住【{site}】{domain}，精彩小说无弹窗免费阅读！",
    "求推荐票，求月票，求收藏！",
    "看最新章节请到{site} {domain}",
)
_EN_ADS = (
    "Read the latest chapters at {domain}",
    "Visit {domain} for the fastest updates!",
    "This chapter is updated by {site}.",
    "If you find any errors (broken links, non-standard content, etc.), please let us know.",
    "Tip: You can use left, right, A and D keyboard keys to browse between chapters.",
    "Please read this novel for free at {domain}",
    "New chapters are published on {site} first. Follow us!",
    "Find authorized novels in {site}, faster updates, better experience: {domain}",
)
_ZH_COMMENTS = (
    "沙发！",
    "催更催更，作者大大加油",
    "这章写得太好了，期待后续",
    "打卡，第一次追这么久的书",
    "有没有书友一起讨论一下剧情？",
    "更新太慢了，每天就一章",
    "已投月票，支持作者",
    "前排留名",
    "楼上说得对",
    "主角什么时候才能突破啊",
    "广告太多了，差评",
    "这个网站更新挺快的",
    "养肥了再看",
    "书荒了，求推荐类似的书",
)
_EN_COMMENTS = (
    "Thanks for the chapter!",
    "First!",
    "Can't wait for the next release.",
    "The translation quality got better lately.",
    "Who else is binge reading this?",
    "Cliffhanger again...",
    "Thanks translator-sama",
    "This site loads faster than the others.",
    "Anyone know how many chapters are left?",
    "Too many ads on mobile.",
)
_ZH_T1 = ("万古", "九天", "逆天", "太古", "无上", "至尊", "凡人", "诸天", "绝世", "大道")
_ZH_T2 = ("神帝", "剑尊", "仙途", "武神", "丹帝", "战神", "龙王", "魔主", "道君", "天骄")
_EN_T1 = ("Martial", "Eternal", "Supreme", "Dragon", "Heavenly", "Immortal", "Divine", "Sword")
_EN_T2 = ("Emperor", "Path", "Sovereign", "Cultivator", "Realm", "God", "Monarch", "Ascension")


@dataclass
class _Site:
    name: str
    domain: str
    zh: bool

    @classmethod
    def pick(cls, lang: str, rng: random.Random) -> _Site:
        zh = lang != "en"
        name, dom = rng.choice(_ZH_SITES if zh else _EN_SITES)
        return cls(name, dom.format(n=rng.randint(1, 999)), zh)

    def ad(self, rng: random.Random) -> str:
        tpl = rng.choice(_ZH_ADS if self.zh else _EN_ADS)
        return tpl.format(site=self.name, domain=self.domain)


def _inject_ads(blocks: list[_Block], site: _Site, lang: str, rng: random.Random) -> list[_Block]:
    def ad() -> Piece:
        text = site.ad(rng)
        if lang == "zh-Hant":
            text = _opencc("s2t", text)
        return Piece(text, None, None)

    out = [list(b) for b in blocks]
    # inline ads: split a long copied paragraph around an ad
    for _ in range(rng.randint(1, 3)):
        cands = [
            i for i, b in enumerate(out) if len(b) == 1 and b[0].copied and len(b[0].text) >= 12
        ]
        if not cands:
            break
        i = rng.choice(cands)
        p = out[i][0]
        assert p.ref_start is not None
        cut = _inline_cut(p.text, lang, rng)
        left = _clip_piece(p, 0, cut)
        right = _clip_piece(p, cut, len(p.text))
        if left is None or right is None:
            continue
        out[i] = [left, ad(), right]
    # ad lines at top, bottom and in between
    n_lines = rng.randint(2, 5)
    positions = [rng.randint(1, max(1, len(out) - 1))]  # at least one inside the content
    if rng.random() < 0.7:
        positions.append(0)
    if rng.random() < 0.7:
        positions.append(len(out))
    while len(positions) < n_lines:
        positions.append(rng.randint(1, max(1, len(out) - 1)))
    for pos in sorted(positions, reverse=True):
        out.insert(pos, [ad()])
    return out


def _inline_cut(text: str, lang: str, rng: random.Random) -> int:
    """A cut position with at least 4–10 code points on each side (at a space for English)."""
    lo = max(4, min(10, len(text) // 3))
    hi = len(text) - lo
    if lang == "en":
        spaces = [m.start() for m in re.finditer(" ", text) if lo <= m.start() <= hi]
        if spaces:
            return rng.choice(spaces)
    ends = [m.end() for m in re.finditer(r"[，。；！？,;.!?]", text) if lo <= m.end() <= hi]
    if ends and rng.random() < 0.6:
        return rng.choice(ends)
    return rng.randint(lo, hi)


def _clip_piece(p: Piece, a: int, b: int) -> Piece | None:
    assert p.ref_start is not None
    seg = p.text[a:b]
    lead = len(seg) - len(seg.lstrip())
    trail = len(seg) - len(seg.rstrip())
    if not seg.strip():
        return None
    return Piece(seg.strip(), p.ref_start + a + lead, p.ref_start + b - trail)


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------

_CONTENT = "@@CONTENT@@"
_CHARSET = "@@CHARSET@@"


@dataclass
class _Ctx:
    lang: str
    site: _Site
    book: str
    title: str
    rng: random.Random

    @property
    def zh(self) -> bool:
        return self.lang != "en"

    def t(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def novel(self) -> str:
        if self.zh:
            return self.rng.choice(_ZH_T1) + self.rng.choice(_ZH_T2)
        return f"{self.rng.choice(_EN_T1)} {self.rng.choice(_EN_T2)}"

    def comments(self, k: int) -> list[tuple[str, str]]:
        pool = _ZH_COMMENTS if self.zh else _EN_COMMENTS
        return [
            (
                self.t(
                    f"书友{self.rng.randint(10000, 99999)}", f"reader{self.rng.randint(100, 9999)}"
                ),
                self.rng.choice(pool),
            )
            for _ in range(k)
        ]

    def ids(self) -> tuple[int, int]:
        return self.rng.randint(1000, 99999), self.rng.randint(100000, 9999999)

    def date(self) -> str:
        return f"2024-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"


def _esc(s: str) -> str:
    return html.escape(s, quote=False)


def _tpl_biquge(ctx: _Ctx) -> str:
    bid, cid = ctx.ids()
    t = ctx.t
    nav = "".join(
        f'<li><a href="/{slug}/">{name}</a></li>'
        for slug, name in (
            ("xuanhuan", t("玄幻小说", "Fantasy")),
            ("xiuzhen", t("修真小说", "Xianxia")),
            ("dushi", t("都市小说", "Urban")),
            ("lishi", t("历史小说", "Historical")),
            ("wangyou", t("网游小说", "Games")),
            ("paihang", t("排行榜单", "Ranking")),
        )
    )
    hot = "".join(
        f'<li><a href="/{ctx.rng.randint(1, 999)}_{ctx.rng.randint(1000, 9999)}/">'
        f"{_esc(ctx.novel())}</a></li>"
        for _ in range(6)
    )
    prev_l, toc, next_l = t("上一章", "Prev"), t("章节目录", "Index"), t("下一章", "Next")
    links = (
        f'<a href="/{bid}/{cid - 1}.html">{prev_l}</a> &larr; <a href="/{bid}/">{toc}</a> '
        f'&rarr; <a href="/{bid}/{cid + 1}.html">{next_l}</a>'
    )
    name, book, title = _esc(ctx.site.name), _esc(ctx.book), _esc(ctx.title)
    footer = t(
        "本站所有小说均来自网友上传，本站只提供存储空间，如有侵权请联系删除。",
        "All novels on this site are uploaded by users. Contact us to remove infringing content.",
    )
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={_CHARSET}" />
<title>{title}_{book}_{name}</title>
<meta name="keywords" content="{html.escape(ctx.book)},{html.escape(ctx.title)}" />
<link rel="stylesheet" type="text/css" href="/css/biquge.css" />
<script type="text/javascript" src="/js/jquery.min.js"></script>
<script type="text/javascript">var preview_page = "/{bid}/{cid - 1}.html";\
var next_page = "/{bid}/{cid + 1}.html";var index_page = "/{bid}/";var article_id = "{bid}";\
var chapter_id = "{cid}";function jumpPage() {{ if (event.keyCode==37) location=preview_page; \
if (event.keyCode==39) location=next_page; }}document.onkeydown=jumpPage;</script>
</head>
<body>
<div id="wrapper">
<div class="header"><div class="header_logo"><a href="/">{name}</a></div>
<div class="header_search"><form name="search" action="/search.php" method="get">\
<input type="text" name="keyword" class="search" \
placeholder="{t("可搜书名和作者，请您少字也别输错字。", "Search title or author")}" />\
<button type="submit">{t("搜 索", "Search")}</button></form></div>
<div class="userpanel"><a href="/login.php">{t("登录", "Log in")}</a> | \
<a href="/register.php">{t("注册", "Sign up")}</a></div></div>
<div class="nav"><ul><li><a href="/">{t("首页", "Home")}</a></li>{nav}</ul></div>
<div class="content_read"><div class="box_con">
<div class="con_top"><a href="/">{name}</a> &gt; <a href="/{bid}/">{book}</a> &gt; {title}</div>
<div class="bookname"><h1>{title}</h1>
<div class="bottem1">{links} <a href="javascript:;" onclick="addBookCase('{bid}','{cid}');">\
{t("加入书签", "Bookmark")}</a></div></div>
<div id="listtj"><script type="text/javascript">list_tj();</script></div>
<div class="ads" id="ad_top"><script type="text/javascript">document.write('<a \
href="https://ads.example/c?id={cid}"><img src="/ad/banner_{cid % 7}.gif" /></a>');</script></div>
<div id="content">
{_CONTENT}
</div>
<div class="bottem2">{links}</div>
<div class="ads" id="ad_bottom"><script type="text/javascript">cpro_bottom();</script></div>
</div></div>
<div class="hot"><h2>{t("热门小说", "Popular novels")}</h2><ul>{hot}</ul></div>
<div class="footer"><div class="footer_cont"><p>{footer}</p>
<p>Copyright &copy; {_esc(ctx.site.domain)} All Rights Reserved.</p></div></div>
</div>
<script type="text/javascript">var _hmt = _hmt || [];(function() {{ var hm = \
document.createElement("script"); hm.src = "https://stats.example/hm.js?{cid:x}"; \
document.body.appendChild(hm); }})();</script>
</body>
</html>
"""


def _tpl_forum(ctx: _Ctx) -> str:
    bid, cid = ctx.ids()
    t = ctx.t
    replies = "".join(
        f'<div class="reply"><div class="authi"><a href="/space-uid-{ctx.rng.randint(1, 99999)}'
        f'.html">{_esc(u)}</a> {t("发表于", "posted")} {ctx.date()}</div>'
        f'<div class="t_f">{_esc(c)}</div></div>\n'
        for u, c in ctx.comments(ctx.rng.randint(2, 6))
    )
    user = t(f"书虫{ctx.rng.randint(100, 999)}", f"uploader{ctx.rng.randint(100, 999)}")
    name, book, title = _esc(ctx.site.name), _esc(ctx.book), _esc(ctx.title)
    forum = t("论坛", " Forum")
    board = t("小说连载", "Novel Uploads")
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset={_CHARSET}" />
<title>{book} {title} - {board} - {name}{forum}</title>
<link rel="stylesheet" href="/static/forum_{bid % 5}.css" />
<script src="/static/js/common.js"></script>
</head>
<body id="nv_forum" class="pg_viewthread">
<div id="toptb"><a href="/member.php?mod=logging&amp;action=login">{t("登录", "Login")}</a> \
<a href="/member.php?mod=register">{t("立即注册", "Register")}</a></div>
<div id="hd"><h2><a href="/">{name}{forum}</a></h2>
<ul id="nv"><li><a href="/forum.php">{t("论坛", "Forums")}</a></li>\
<li><a href="/portal.php">{t("门户", "Portal")}</a></li>\
<li><a href="/home.php">{t("家园", "Home")}</a></li></ul></div>
<div id="pt" class="bm"><a href="/">{t("首页", "Home")}</a> <em>&rsaquo;</em> \
<a href="/forum-{bid % 40}-1.html">{board}</a> <em>&rsaquo;</em> {book}</div>
<div class="a_t"><a href="https://ads.example/forum?f={bid}">\
{t("【广告】正版授权游戏，注册即送豪礼", "[Ad] Play the new MMORPG now, free gifts")}</a></div>
<div id="postlist">
<table class="plhin" id="pid{cid}"><tr><td class="pls"><div class="authi">\
<a href="/space-uid-{bid}.html">{_esc(user)}</a></div>\
<p>{t("帖子", "Posts")}: {ctx.rng.randint(10, 9999)}</p></td>
<td class="plc"><div class="pi"><h1 class="ts">[{t("转载", "Repost")}] {book} {title}</h1></div>
<div class="pct"><div class="pcb"><div class="t_fsz"><table cellspacing="0" cellpadding="0">\
<tr><td class="t_f" id="postmessage_{cid}">
{_CONTENT}
</td></tr></table></div></div></div></td></tr></table>
<div id="comment_list">{replies}</div>
</div>
<div id="f_pst"><textarea name="message" placeholder="{t("说点什么吧", "Write a reply")}">\
</textarea><button>{t("发表回复", "Post reply")}</button></div>
<div id="ft">Powered by Discuz! X3.4 &copy; 2001-2024 {_esc(ctx.site.domain)}</div>
<script>var discuz_uid = '0';var cookiepre = 'xx_';</script>
</body>
</html>
"""


def _tpl_blog(ctx: _Ctx) -> str:
    bid, cid = ctx.ids()
    t = ctx.t
    recent = "".join(
        f'<li><a href="/p/{ctx.rng.randint(100, 9999)}">{_esc(ctx.novel())}</a></li>'
        for _ in range(5)
    )
    comments = "".join(
        f'<li class="comment"><div class="comment-author"><cite>{_esc(u)}</cite></div>'
        f'<div class="comment-content"><p>{_esc(c)}</p></div></li>\n'
        for u, c in ctx.comments(ctx.rng.randint(1, 5))
    )
    name, book, title = _esc(ctx.site.name), _esc(ctx.book), _esc(ctx.title)
    sep = "：" if ctx.zh else ": "
    return f"""<!doctype html>
<html lang="{ctx.lang}">
<head>
<meta charset="{_CHARSET}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | {name}</title>
<link rel="stylesheet" href="/wp-content/themes/novelist/style.css?ver=5.{bid % 9}">
<script async src="https://ads.example/adsbygoogle.js?client=ca-pub-{cid}"></script>
<style>.entry-content p{{text-indent:2em;line-height:1.8}}</style>
</head>
<body class="post-template-default single single-post">
<header class="site-header"><p class="site-title"><a href="/">{name}</a></p>
<p class="site-description">{t("免费小说在线阅读", "Free novels online")}</p>
<nav class="main-navigation"><ul><li><a href="/">{t("首页", "Home")}</a></li>\
<li><a href="/category/novels/">{t("小说", "Novels")}</a></li>\
<li><a href="/about/">{t("关于", "About")}</a></li></ul></nav></header>
<div class="site-content">
<main id="main" class="site-main">
<article id="post-{cid}" class="post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">{book}{sep}{title}</h1>
<div class="entry-meta"><span class="posted-on">{ctx.date()}</span> \
<span class="byline">{t("作者", "by")} admin</span></div></header>
<ins class="adsbygoogle" style="display:block" data-ad-slot="{bid}"></ins>\
<script>(adsbygoogle = window.adsbygoogle || []).push({{}});</script>
<div class="entry-content">
{_CONTENT}
</div>
<footer class="entry-footer"><span class="cat-links">{t("分类", "Posted in")}: \
<a href="/category/novels/">{t("小说", "Novels")}</a></span></footer>
</article>
<nav class="post-navigation"><a href="/p/{cid - 1}" rel="prev">&laquo; \
{t("上一篇", "Previous post")}</a> <a href="/p/{cid + 1}" rel="next">\
{t("下一篇", "Next post")} &raquo;</a></nav>
<section id="comments" class="comments-area"><h2 class="comments-title">\
{t("评论", "Comments")}</h2><ol class="comment-list">
{comments}</ol></section>
</main>
<aside id="secondary" class="widget-area"><section class="widget"><h2 class="widget-title">\
{t("近期文章", "Recent Posts")}</h2><ul>{recent}</ul></section>
<section class="widget"><div class="ad-box"><a href="https://ads.example/b?{bid}">\
{t("限时免费：全本小说下载", "Limited offer: download full novels")}</a></div></section></aside>
</div>
<footer class="site-footer"><p>&copy; 2024 {name} &middot; Powered by WordPress</p></footer>
<script src="/wp-includes/js/wp-embed.min.js?ver=5.{cid % 9}"></script>
</body>
</html>
"""


def _tpl_mobile(ctx: _Ctx) -> str:
    bid, cid = ctx.ids()
    t = ctx.t
    name, book, title = _esc(ctx.site.name), _esc(ctx.book), _esc(ctx.title)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="{_CHARSET}">
<meta name="viewport" content="width=device-width, initial-scale=1.0, maximum-scale=1.0, \
user-scalable=no">
<meta name="format-detection" content="telephone=no">
<title>{title}-{book}-{t("手机阅读", "Mobile")}-{name}</title>
<link rel="stylesheet" href="/m/css/reader.css">
<script src="/m/js/zepto.min.js"></script>
</head>
<body id="read" class="day">
<header class="header"><a class="back" href="/{bid}/">{t("返回", "Back")}</a>\
<span class="title">{book}</span><a class="home" href="/">{t("首页", "Home")}</a></header>
<div class="read-setting"><span>{t("夜间", "Night")}</span> <span>{t("字体", "Font")}</span> \
<a href="javascript:;">{t("大", "A+")}</a> <a href="javascript:;">{t("中", "A")}</a> \
<a href="javascript:;">{t("小", "A-")}</a></div>
<div class="ad"><script>mobile_ad_top({cid});</script></div>
<h1 class="chapter-title">{title}</h1>
<div id="chaptercontent" class="Readarea ReadAjax_content">
{_CONTENT}
</div>
<div class="ad"><a href="https://ads.example/app?{bid}">\
{t("下载APP，免费看全本", "Get the app for ad-free reading")}</a></div>
<nav class="Readpage pagedown"><a href="/{bid}/{cid - 1}.html" id="pb_prev">\
{t("上一章", "Prev")}</a><a href="/{bid}/" id="pb_mulu">{t("目录", "Index")}</a>\
<a href="/{bid}/{cid + 1}.html" id="pb_next">{t("下一章", "Next")}</a></nav>
<footer class="footer"><p>{_esc(ctx.site.domain)}</p></footer>
<script>var bookid={bid},chapterid={cid};\
localStorage.setItem('last_read', bookid + '_' + chapterid);</script>
</body>
</html>
"""


def _content_markup(style: str, blocks: list[_Block], zh: bool) -> str:
    """Content container body: one ``<p>`` or one ``<br>``-separated line per block.

    Pieces of a block are joined without markup ("" for Chinese, " " for English).
    """
    joiner = "" if zh else " "
    lines = [joiner.join(_esc(p.text) for p in b) for b in blocks]
    if style == "nbsp_br":
        return "\n".join(f"&nbsp;&nbsp;&nbsp;&nbsp;{ln}<br /><br />" for ln in lines)
    if style == "indent_br":
        indent = "\u3000\u3000" if zh else ""
        return "<br />\n".join(f"{indent}{ln}" for ln in lines)
    if style == "br":
        return "<br><br>\n".join(lines)
    return "\n".join(f"<p>{ln}</p>" for ln in lines)


_TEMPLATE_FUNCS: dict[str, tuple[Callable[[_Ctx], str], tuple[str, ...]]] = {
    "biquge": (_tpl_biquge, ("nbsp_br",)),
    "forum": (_tpl_forum, ("indent_br",)),
    "blog": (_tpl_blog, ("p",)),
    "mobile": (_tpl_mobile, ("p", "br")),
}


def _codec_chain(encoding: str) -> list[str]:
    """Encodings to try: GBK falls back to GB18030, Big5 (and anything else) to UTF-8."""
    if encoding == "gbk":
        return ["gbk", "gb18030"]
    if encoding == "utf-8":
        return ["utf-8"]
    return [encoding, "utf-8"]


def _render(template: str, ctx: _Ctx, blocks: list[_Block], encoding: str) -> tuple[bytes, str]:
    """Render a page and encode it; returns (bytes, codec actually used)."""
    skeleton_fn, styles = _TEMPLATE_FUNCS[template]
    skeleton = skeleton_fn(ctx)
    if ctx.lang == "zh-Hant":
        skeleton = _opencc("s2t", skeleton)  # boilerplate in the page's script
    content = _content_markup(ctx.rng.choice(styles), blocks, ctx.zh)
    doc = skeleton.replace(_CONTENT, content)
    for codec in _codec_chain(encoding):
        try:
            return doc.replace(_CHARSET, codec).encode(codec), codec
        except UnicodeEncodeError:
            continue
    raise AssertionError("unreachable: utf-8 encodes everything")


# --------------------------------------------------------------------------------------------
# Page generation
# --------------------------------------------------------------------------------------------


def _book_title(chapter: Chapter) -> str:
    if chapter.lang == "en":
        return "The Holy Bible (King James Version)" if chapter.genre == "scripture" else "Novel"
    head = chapter.title.split(" ")[0]
    return f"《{head}》全集" if chapter.lang == "zh-Hans" else _opencc("s2t", f"《{head}》全集")


def _choose_encoding(lang: str, rng: random.Random, share: float) -> str:
    """UTF-8 mostly; GBK for some simplified pages, Big5 for some traditional ones."""
    x = rng.random()
    if lang == "zh-Hans" and x < share:
        return "gbk"
    if lang == "zh-Hant" and x < share:
        return "big5"
    return "utf-8"


def _page_id(prefix: str, family: str, key: str, part: int, parts: int) -> str:
    base = f"{prefix}{family}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', key)}"
    return f"{base}-p{part}" if parts > 1 else base


def make_pages(
    chapters: Sequence[Chapter],
    family: str,
    rng: random.Random,
    *,
    negative: bool = False,
    templates: Sequence[str] = TEMPLATES,
    encoding: str | None = None,
    legacy_encoding_share: float = 0.25,
    id_prefix: str = "",
) -> list[Page]:
    """Generate pirate pages for ``chapters`` with one distortion ``family``.

    Args:
        chapters: source chapters (registered ones for positives, negative ones otherwise).
        family: one of :data:`FAMILIES`.
        rng: the only source of randomness; same seed, same pages.
        negative: the chapters are unregistered: ``truth_key`` is ``None`` and no piece carries
            reference offsets.
        templates: page templates to draw from (:data:`TEMPLATES`).
        encoding: force ``"utf-8"``, ``"gbk"`` or ``"big5"`` (with the usual fallbacks when the
            content does not encode); default draws per page.
        legacy_encoding_share: probability that a simplified page is GBK / a traditional page
            Big5 when ``encoding`` is not forced.
        id_prefix: prepended to every ``page_id``.

    Returns one page per chapter, or 2–3 per chapter for ``split_pages`` (and ``mixed`` pages
    that include it).
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    pages: list[Page] = []
    for chapter in chapters:
        if family == "mixed":
            fams = tuple(sorted(rng.sample(COMBINABLE, rng.randint(2, 4))))
        elif family == "clean":
            fams = ()
        else:
            fams = (family,)
        pages.extend(
            _pages_for_chapter(
                chapter,
                family,
                fams,
                rng,
                negative=negative,
                templates=templates,
                encoding=encoding,
                share=legacy_encoding_share,
                id_prefix=id_prefix,
            )
        )
    return pages


def _pages_for_chapter(
    chapter: Chapter,
    family: str,
    fams: tuple[str, ...],
    rng: random.Random,
    *,
    negative: bool,
    templates: Sequence[str],
    encoding: str | None,
    share: float,
    id_prefix: str,
    blocks: list[_Block] | None = None,
) -> list[Page]:
    blocks = blocks if blocks is not None else _paragraph_blocks(chapter.text)
    if "partial" in fams:
        blocks = _partial(chapter, blocks, rng)
    if "reorder" in fams:
        blocks = _reorder(blocks, rng)
    parts = _split(blocks, rng) if "split_pages" in fams else [blocks]
    distort = _TextDistorter(fams, chapter, rng)
    lang = distort.lang
    site = _Site.pick(lang, rng)
    template = rng.choice(list(templates))
    enc = encoding or _choose_encoding(lang, rng, share)
    out: list[Page] = []
    for n, part_blocks in enumerate(parts, start=1):
        if "injected_ads" in fams:
            part_blocks = _inject_ads(part_blocks, site, lang, rng)
        final: list[_Block] = []
        for block in part_blocks:
            new_block = []
            for p in block:
                if p.copied:
                    text = distort(p.text).strip()
                    if not text:
                        continue
                    p = Piece(text, None, None) if negative else Piece(text, p.ref_start, p.ref_end)
                new_block.append(p)
            if new_block:
                final.append(new_block)
        title = chapter.title if lang == chapter.lang else _convert_title(chapter.title, lang)
        if len(parts) > 1:
            title = f"{title} ({n}/{len(parts)})"
        ctx = _Ctx(lang, site, _book_title(chapter), title, rng)
        data, codec = _render(template, ctx, final, enc)
        out.append(
            Page(
                page_id=_page_id(id_prefix, family, chapter.key, n, len(parts)),
                family=family,
                html=data,
                truth_key=None if negative else chapter.key,
                pieces=[p for b in final for p in b],
                source_key=chapter.key,
                lang=lang,
                encoding=codec,
                template=template,
                part=n,
                parts=len(parts),
                distortions=fams,
            )
        )
    return out


def _convert_title(title: str, lang: str) -> str:
    if lang == "zh-Hant":
        return _opencc("s2t", title)
    if lang == "zh-Hans":
        return _opencc("t2s", title)
    return title


def make_retranslation_pages(
    chapters: Sequence[Chapter],
    retranslations: dict[str, str],
    rng: random.Random,
    *,
    templates: Sequence[str] = TEMPLATES,
    id_prefix: str = "",
) -> list[Page]:
    """Pages carrying an independent translation of registered chapters (family
    ``retranslation``). Line ``i`` of the retranslation is a piece whose reference range is
    line ``i`` of the chapter (no other distortion). Expected verdict: review, not match."""
    pages: list[Page] = []
    for chapter in chapters:
        alt = retranslations.get(chapter.key)
        if alt is None:
            continue
        ref = _paragraph_blocks(chapter.text)
        alt_lines = [ln.strip() for ln in alt.split("\n") if ln.strip()]
        if len(alt_lines) != len(ref):
            continue
        blocks = [
            [Piece(a, b[0].ref_start, b[0].ref_end)] for a, b in zip(alt_lines, ref, strict=True)
        ]
        pages.extend(
            _pages_for_chapter(
                chapter,
                RETRANSLATION,
                (),
                rng,
                negative=False,
                templates=templates,
                encoding="utf-8",
                share=0.0,
                id_prefix=id_prefix,
                blocks=blocks,
            )
        )
    return pages


# --------------------------------------------------------------------------------------------
# Command line: write sample pages for eyeballing
# --------------------------------------------------------------------------------------------


def extract_text(data: bytes, encoding: str) -> str:
    """Reference HTML→text extraction used by the CLI self-check (selectolax/lexbor):
    body text without ``script``/``style``, block elements and ``<br>`` as newlines."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(data.decode(encoding))
    for node in tree.css("script, style, noscript"):
        node.decompose()
    body = tree.body
    return body.text(separator="\n") if body is not None else ""


def main(argv: Sequence[str] | None = None) -> int:
    from bench.text.corpus import load_corpus

    ap = argparse.ArgumentParser(description="Write sample pirate pages for every family.")
    ap.add_argument("--source", choices=["full", "smoke"], default="smoke")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-family", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    corpus = load_corpus(args.source)
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    index = []
    sample = rng.sample(corpus.registered, min(len(corpus.registered), 4 * args.per_family))
    for family in FAMILIES:
        chs = rng.sample(sample, min(len(sample), args.per_family))
        neg = rng.sample(corpus.negative, min(len(corpus.negative), 1))
        pages = make_pages(chs, family, rng) + make_pages(neg, family, rng, negative=True)
        index.extend(_write_pages(pages, args.out, corpus.by_key()))
    retr = make_retranslation_pages(corpus.registered, corpus.retranslations, rng)[:2]
    index.extend(_write_pages(retr, args.out, corpus.by_key()))
    (args.out / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1))
    print(f"wrote {len(index)} pages to {args.out}", file=sys.stderr)
    return 0


def _write_pages(pages: list[Page], out: Path, chapters: dict[str, Chapter]) -> list[dict]:
    rows = []
    for page in pages:
        (out / f"{page.page_id}.html").write_bytes(page.html)
        text = extract_text(page.html, page.encoding)
        ref = chapters[page.source_key].text
        cases = page_cases(page, text, ref_text=ref)
        row = page.to_json()
        row["cases"] = [list(c) for c in cases]
        rows.append(row)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
