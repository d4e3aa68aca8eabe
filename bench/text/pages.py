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
    indentation and collapsed spaces do not matter. Search runs from the last piece backwards
    (each piece must end before the next one starts), so a header that repeats the first line
    (e.g. an ``<h1>`` with the chapter heading) is not mistaken for content.

    Consecutive copied pieces merge into one :class:`Case` when only whitespace/format
    characters separate them on the page and they are contiguous in the reference: the reference
    gap is whitespace in ``ref_text`` if given, else at most ``max_ref_gap`` code points (one
    newline between paragraphs). An injected ad between two pieces therefore splits a case.

    Raises ``LookupError`` for a copied piece that cannot be found, unless ``strict`` is false
    (then it is skipped). Returns cases in page order.
    """
    compact, index = _compact(extracted_text)
    located: list[tuple[Piece, int, int] | None] = [None] * len(pieces)
    bound = len(compact)
    for i in range(len(pieces) - 1, -1, -1):
        piece = pieces[i]
        needle, _ = _compact(piece.text)
        if not needle:
            continue
        j = compact.rfind(needle, 0, bound)
        if j < 0:
            if piece.copied and strict:
                raise LookupError(f"piece {i} not found in extracted text: {piece.text[:40]!r}")
            continue
        bound = j
        if piece.copied:
            located[i] = (piece, index[j], index[j + len(needle) - 1] + 1)

    cases: list[Case] = []
    prev: tuple[Piece, int, int] | None = None
    for item in located:
        if item is None:
            if prev is not None and _any_piece_between(prev, item):
                prev = None
            continue
        piece, start, end = item
        assert piece.ref_start is not None and piece.ref_end is not None
        if prev is not None and cases:
            last = cases[-1]
            page_gap = extracted_text[last.page_end : start]
            ref_ok = last.ref_end <= piece.ref_start and (
                ref_text[last.ref_end : piece.ref_start].strip() == ""
                if ref_text is not None
                else piece.ref_start - last.ref_end <= max_ref_gap
            )
            if ref_ok and all(_skippable(ch) for ch in page_gap):
                cases[-1] = Case(last.page_start, end, last.ref_start, piece.ref_end)
                prev = item
                continue
        cases.append(Case(start, end, piece.ref_start, piece.ref_end))
        prev = item
    return cases


def _any_piece_between(prev: object, item: object) -> bool:
    # Unlocated pieces (injected text, or skipped ones) do not break adjacency by themselves:
    # adjacency is decided on the extracted text between located pieces.
    return False


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


_UK_US_OUR = (
    "honour colour labour neighbour saviour favour behaviour armour odour vapour rumour harbour "
    "endeavour fervour splendour savour humour valour vigour rigour clamour parlour succour "
    "tumour candour"
).split()
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
    tuple(pair.split(">"))  # type: ignore[misc]
    for pair in (
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
    ).split()
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
    return [blocks[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


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


def _inject_ads(
    blocks: list[_Block], site: _Site, lang: str, rng: random.Random
) -> list[_Block]:
    def ad() -> Piece:
        text = site.ad(rng)
        if lang == "zh-Hant":
            text = _opencc("s2t", text)
        return Piece(text, None, None)

    out = [list(b) for b in blocks]
    # inline ads: split a long copied paragraph around an ad
    for _ in range(rng.randint(1, 3)):
        cands = [
            i for i, b in enumerate(out) if len(b) == 1 and b[0].copied and len(b[0].text) >= 30
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
    positions = []
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
    """A cut position with at least 10 code points on each side (at a space for English)."""
    lo, hi = 10, len(text) - 10
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


