"""Real-text corpus for the online-literature piracy benchmark.

The corpus is built offline from package registries only (no other network):

* Debian ``fortunes-zh`` — Tang poems, Song poems and classical quotations (simplified Chinese).
* npm ``chinese-poetry`` (pinned version) — Tang/Song poetry (traditional), Song ci, Yuan qu,
  Shijing, Chuci, classical prose (古文觀止, 孟子, 大學, 中庸, 論語, 幽夢影). A bounded subset.
* Debian ``bible-kjv-text`` + ``bible-kjv`` (the reader that decompresses it) — the King James
  Bible in English.
* Optional: Debian ``diatheke`` + ``sword-text-web`` — the World English Bible, used to build a
  *retranslation* of registered KJV chapters (same verses, different wording).
* Optional: Debian ``debian-reference-zh-cn`` / ``-zh-tw`` — modern Chinese technical prose.

Texts are cut into "chapters" of 4,500–5,500 UTF-8 bytes on natural boundaries (poem, verse,
paragraph, or — for over-long paragraphs — sentence). Each chapter's ``text`` is a sequence of
newline-separated paragraphs without empty lines or leading/trailing whitespace.

Chapters are partitioned deterministically into ``registered`` (what a rights holder would
register) and ``negative`` (unregistered chapters of the same genres). Partitioning is done by
*groups* (e.g. whole Bible books, Debian-reference chapters in both scripts) and a final leak check
moves any negative chapter that shares more than a few n-grams with the registered side over to
the registered side, so that a match on a negative page is a genuine false positive.

Cache layout (``$JIANWANG_BENCH_CACHE`` or ``~/.cache/jianwang-bench``)::

    downloads/             *.deb from ``apt-get download``, chinese-poetry-<ver>.tgz from npm
    extracted/<package>/   ``dpkg-deb -x`` output; extracted/chinese-poetry/ holds only the subset
    text/kjv.txt           KJV dumped by ``bible -f``
    text/web.txt           WEB dumped by ``diatheke`` (raw OSIS-ish markup, one verse per line)
    corpus/full-v1/        registered.jsonl, negative.jsonl, retranslations.jsonl, manifest.json

``manifest.json`` is written last; its presence makes a second ``load_corpus("full")`` reuse the
cached JSONL without touching the network.

Command line: ``python -m bench.text.corpus [--source full|smoke] [--limit N] [--rebuild]``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

Lang = Literal["zh-Hans", "zh-Hant", "en"]

CORPUS_VERSION = 4
#: Chapter size window in UTF-8 bytes (inclusive).
MIN_CHAPTER_BYTES = 4500
MAX_CHAPTER_BYTES = 5500
#: Paragraphs longer than this (UTF-8 bytes) are cut at sentence ends before packing, which
#: guarantees every packed chapter lands inside the size window.
MAX_PARAGRAPH_BYTES = MAX_CHAPTER_BYTES - MIN_CHAPTER_BYTES
#: Fraction of each genre's chapters that go to the negative side (before the leak check).
NEGATIVE_FRACTION = 0.36
#: A negative chapter whose sampled n-gram containment in the registered side reaches this
#: value is moved to the registered side.
LEAK_THRESHOLD = 0.05
CHINESE_POETRY_VERSION = "2.0.1"
PARTITION_SEED = "jianwang-bench-text-v1"

DEMO_CORPUS_DIR = Path(__file__).resolve().parents[2] / "src" / "jianwang" / "demo" / "corpus"


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chapter:
    """One ~5 KB unit of text that can be registered or pirated.

    ``text`` holds newline-separated paragraphs; offsets used elsewhere in the benchmark are
    Python ``str`` indices (Unicode code points) into ``text``.
    """

    key: str
    lang: Lang
    genre: str
    title: str
    text: str
    source: str = ""  # package name and version (and file) the text came from

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Chapter:
        return cls(
            key=d["key"],
            lang=cast(Lang, d["lang"]),
            genre=d["genre"],
            title=d["title"],
            text=d["text"],
            source=d.get("source", ""),
        )


@dataclass(slots=True)
class Corpus:
    """Registered and negative chapters plus optional retranslations.

    ``retranslations`` maps a registered chapter key to an independent translation of the same
    passage (WEB for KJV chapters) with the *same line structure* as the chapter text: line ``i``
    of the retranslation renders line ``i`` of the chapter.
    """

    registered: list[Chapter]
    negative: list[Chapter]
    retranslations: dict[str, str] = field(default_factory=dict)
    source: str = "full"

    def by_key(self) -> dict[str, Chapter]:
        """All chapters (registered and negative) by key."""
        return {c.key: c for c in [*self.registered, *self.negative]}

    def stats(self) -> dict[str, Any]:
        """Counts and sizes per side, genre and language (sizes in UTF-8 bytes)."""

        def side(chs: list[Chapter]) -> dict[str, Any]:
            return {
                "chapters": len(chs),
                "bytes": sum(len(c.text.encode("utf-8")) for c in chs),
                "by_genre": dict(sorted(Counter(c.genre for c in chs).items())),
                "by_lang": dict(sorted(Counter(c.lang for c in chs).items())),
            }

        return {
            "source": self.source,
            "registered": side(self.registered),
            "negative": side(self.negative),
            "retranslations": len(self.retranslations),
        }


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _log(msg: str) -> None:
    print(f"[corpus] {msg}", file=sys.stderr, flush=True)


def default_cache_dir() -> Path:
    """``$JIANWANG_BENCH_CACHE`` or ``~/.cache/jianwang-bench``."""
    env = os.environ.get("JIANWANG_BENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "jianwang-bench"


_LEAK_CHAR_RE = re.compile(r"[a-z0-9\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WS_RE = re.compile(r"\s+")


def _clean_para(p: str) -> str:
    p = _CTRL_RE.sub("", _ANSI_RE.sub("", p))
    return _WS_RE.sub(" ", p).strip()


def _nbytes(s: str) -> int:
    return len(s.encode("utf-8"))


class _Converter:
    """Lazy OpenCC converters (the ``opencc`` PyPI package)."""

    _cache: dict[str, Any] = {}  # noqa: RUF012 - process-wide cache on purpose

    @classmethod
    def get(cls, config: str) -> Any:
        if config not in cls._cache:
            import opencc

            cls._cache[config] = opencc.OpenCC(config)
        return cls._cache[config]

    @classmethod
    def convert(cls, config: str, text: str) -> str:
        return str(cls.get(config).convert(text))


def detect_lang(text: str) -> Lang:
    """Classify ``text`` as English or simplified/traditional Chinese.

    Chinese script is decided by how many characters OpenCC's ``t2s`` would change (traditional
    only forms) versus ``s2t`` (simplified only forms).
    """
    cjk = len(_CJK_RE.findall(text))
    latin = sum(1 for ch in text if "a" <= ch.lower() <= "z")
    if cjk < latin:
        return "en"
    t2s = _Converter.convert("t2s", text)
    s2t = _Converter.convert("s2t", text)
    n_trad = sum(1 for a, b in zip(text, t2s, strict=False) if a != b)
    n_simp = sum(1 for a, b in zip(text, s2t, strict=False) if a != b)
    return "zh-Hant" if n_trad > n_simp else "zh-Hans"


_SENT_END_RE = re.compile(r"(?<=[。！？；!?;.])[”’」』\"')）]*")


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph after sentence-final punctuation (Chinese or ASCII)."""
    out: list[str] = []
    start = 0
    for m in _SENT_END_RE.finditer(paragraph):
        end = m.end()
        if end > start and (end >= len(paragraph) or paragraph[end] != paragraph[end - 1]):
            seg = paragraph[start:end].strip()
            if seg:
                out.append(seg)
            start = end
    rest = paragraph[start:].strip()
    if rest:
        out.append(rest)
    return out


def _cut_long(paragraph: str, max_bytes: int = MAX_PARAGRAPH_BYTES) -> list[str]:
    """Cut a paragraph into pieces of at most ``max_bytes`` UTF-8 bytes at sentence ends."""
    if _nbytes(paragraph) <= max_bytes:
        return [paragraph]
    pieces: list[str] = []
    cur = ""
    joiner = " " if detect_lang(paragraph) == "en" else ""
    for sent in split_sentences(paragraph):
        while _nbytes(sent) > max_bytes:  # a single huge sentence: hard cut on characters
            n = max_bytes // 3
            pieces.append(sent[:n].strip())
            sent = sent[n:].strip()
        cand = f"{cur}{joiner}{sent}" if cur else sent
        if _nbytes(cand) <= max_bytes:
            cur = cand
        else:
            pieces.append(cur)
            cur = sent
    if cur:
        pieces.append(cur)
    return [p for p in pieces if p]


# --------------------------------------------------------------------------------------------
# Units, packing, dedup
# --------------------------------------------------------------------------------------------


@dataclass
class _Unit:
    """A natural text unit (poem, article, Bible chapter) before packing into chapters."""

    genre: str
    tag: str  # short source tag used in chapter keys
    source: str  # package + version (+ file)
    group: str  # partition group; chapters sharing a group end on the same side
    paras: list[str]
    alt: list[str] | None = None  # aligned alternative rendering (WEB for KJV), same length


@dataclass
class _Packed:
    genre: str
    tag: str
    source: str
    groups: list[str]
    paras: list[str]
    alt: list[str] | None
    first_title: str


def _pack(
    units: Iterable[_Unit],
    min_bytes: int = MIN_CHAPTER_BYTES,
    max_bytes: int = MAX_CHAPTER_BYTES,
) -> Iterator[_Packed]:
    """Greedily pack units into chapters of ``min_bytes``..``max_bytes`` UTF-8 bytes.

    Whole units are kept together when possible; a unit is split at paragraph boundaries only
    when the current chapter is still below the minimum. A trailing chapter below the minimum is
    dropped.
    """
    cur: list[str] = []
    cur_alt: list[str] = []
    cur_groups: list[str] = []
    cur_size = 0
    first_title = ""
    have_alt = True
    last: _Unit | None = None

    def flush() -> _Packed | None:
        nonlocal cur, cur_alt, cur_groups, cur_size, have_alt
        packed = None
        if cur and last is not None and cur_size >= min_bytes:
            packed = _Packed(
                genre=last.genre,
                tag=last.tag,
                source=last.source,
                groups=list(dict.fromkeys(cur_groups)),
                paras=cur,
                alt=cur_alt if have_alt else None,
                first_title=first_title,
            )
        cur, cur_alt, cur_groups, cur_size, have_alt = [], [], [], 0, True
        return packed

    for unit in units:
        paras: list[str] = []
        alts: list[str] = []
        for i, p in enumerate(unit.paras):
            p = _clean_para(p)
            if not any(ch.isalnum() for ch in p):
                continue  # empty or punctuation-only lines
            cut = _cut_long(p, max_bytes - min_bytes)
            paras.extend(cut)
            if unit.alt is not None and len(cut) == 1:
                alts.append(_clean_para(unit.alt[i]) or p)
            else:
                alts.extend(cut)  # cannot align a cut paragraph: keep the original
        if not paras:
            continue
        unit_size = sum(_nbytes(p) + 1 for p in paras)
        if cur and cur_size >= min_bytes and cur_size + unit_size > max_bytes:
            done = flush()
            if done:
                yield done
        last = unit
        for p, a in zip(paras, alts, strict=True):
            size = _nbytes(p) + (1 if cur else 0)
            if cur_size + size > max_bytes:
                done = flush()
                if done:
                    yield done
                size = _nbytes(p)
            if not cur:
                first_title = paras[0]
            cur.append(p)
            cur_alt.append(a)
            cur_groups.append(unit.group)
            cur_size += size
            have_alt = have_alt and unit.alt is not None
    done = flush()
    if done:
        yield done


class _Dedup:
    """Drops units whose (t2s-normalised) CJK 8-gram shingles were mostly seen before.

    Only shingles whose CRC32 is divisible by 4 are kept (a deterministic 1/4 sample).
    """

    def __init__(self, n: int = 8, threshold: float = 0.5) -> None:
        self.n = n
        self.threshold = threshold
        self.seen: set[int] = set()
        self.dropped = 0

    def shingles(self, text: str) -> list[int]:
        norm = "".join(_CJK_RE.findall(_Converter.convert("t2s", text)))
        if len(norm) < self.n:
            return [zlib.crc32(norm.encode("utf-8"))] if norm else []
        out = []
        for i in range(len(norm) - self.n + 1):
            h = zlib.crc32(norm[i : i + self.n].encode("utf-8"))
            if h % 4 == 0:
                out.append(h)
        return out

    def accept(self, text: str) -> bool:
        sh = self.shingles(text)
        if not sh:
            return True
        seen = sum(1 for h in sh if h in self.seen)
        if seen / len(sh) >= self.threshold:
            self.dropped += 1
            return False
        self.seen.update(sh)
        return True


# --------------------------------------------------------------------------------------------
# Fetching packages into the cache
# --------------------------------------------------------------------------------------------


class SourceUnavailable(RuntimeError):
    """A package could not be fetched or read; optional sources are skipped on this."""


def _run(
    cmd: Sequence[str], cwd: Path | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(cmd), cwd=cwd, check=True, text=True, capture_output=True, **kw)
    except FileNotFoundError as e:
        raise SourceUnavailable(f"{cmd[0]} not found") from e
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or e.stdout or "").strip().splitlines()[-3:]
        raise SourceUnavailable(f"{' '.join(cmd)} failed: {' | '.join(tail)}") from e


class _Fetcher:
    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.downloads = cache / "downloads"
        self.extracted = cache / "extracted"
        self.versions: dict[str, str] = {}
        self._apt_updated = False

    def apt_deb(self, package: str) -> Path:
        """Download ``package``'s .deb into downloads/ (reused if present)."""
        self.downloads.mkdir(parents=True, exist_ok=True)
        found = sorted(self.downloads.glob(f"{package}_*.deb"))
        if not found:
            _log(f"apt-get download {package}")
            try:
                _run(["apt-get", "download", package], cwd=self.downloads)
            except SourceUnavailable:
                if self._apt_updated or os.geteuid() != 0:
                    raise
                _log("apt-get update (package lists may be missing)")
                _run(["apt-get", "update"])
                self._apt_updated = True
                _run(["apt-get", "download", package], cwd=self.downloads)
            found = sorted(self.downloads.glob(f"{package}_*.deb"))
            if not found:
                raise SourceUnavailable(f"apt-get download {package} produced no .deb")
        deb = found[-1]
        self.versions[package] = deb.name.split("_")[1]
        return deb

    def apt_extract(self, package: str) -> Path:
        """``dpkg-deb -x`` the package into extracted/<package>/ (reused if complete)."""
        dest = self.extracted / package
        if not (dest / ".done").exists():
            deb = self.apt_deb(package)
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            _run(["dpkg-deb", "-x", str(deb), str(dest)])
            (dest / ".done").write_text(deb.name)
        else:
            self.versions[package] = (dest / ".done").read_text().split("_")[1]
        return dest

    def npm_tarball(self, name: str, version: str) -> Path:
        self.downloads.mkdir(parents=True, exist_ok=True)
        tgz = self.downloads / f"{name}-{version}.tgz"
        if not tgz.exists():
            _log(f"npm pack {name}@{version} (large download)")
            _run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=self.downloads)
            if not tgz.exists():
                raise SourceUnavailable(f"npm pack {name}@{version} produced no tarball")
        self.versions[name] = version
        return tgz

    def npm_extract_subset(self, name: str, version: str, members: Sequence[str]) -> Path:
        """Extract only ``members`` (paths below ``package/``) of the npm tarball."""
        dest = self.extracted / name
        stamp = dest / ".done"
        want = sorted(set(members))
        if stamp.exists() and json.loads(stamp.read_text()) == {"v": version, "m": want}:
            self.versions[name] = version
            return dest
        tgz = self.npm_tarball(name, version)
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        wanted = {f"package/{m}" for m in want}
        _log(f"extracting {len(wanted)} files from {tgz.name}")
        got = 0
        with tarfile.open(tgz, "r:gz") as tf:
            for member in tf:
                if member.name in wanted and member.isfile():
                    src = tf.extractfile(member)
                    if src is None:
                        continue
                    out = dest / member.name.removeprefix("package/")
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(src.read())
                    got += 1
        missing = [m for m in want if not (dest / m).exists()]
        if missing:
            _log(f"chinese-poetry: {len(missing)} expected files missing, e.g. {missing[:3]}")
        stamp.write_text(json.dumps({"v": version, "m": want}))
        return dest


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


def _parse_fortunes(path: Path) -> list[list[str]]:
    """Entries of a fortune file: lists of lines, ANSI colour codes removed."""
    text = _ANSI_RE.sub("", path.read_text(encoding="utf-8", errors="replace"))
    entries = []
    for raw in re.split(r"^%\s*$", text, flags=re.M):
        lines = [ln.rstrip() for ln in raw.strip("\n").split("\n")]
        lines = [ln for ln in lines if ln.strip()]
        if lines:
            entries.append(lines)
    return entries


_CLASSIC_QUOTES = {
    "论语": "classical_prose",
    "道德经": "classical_prose",
    "菜根谭": "quotations",
    "增广贤文": "quotations",
    "谚语": "quotations",
}


def _fortunes_units(fx: _Fetcher, poets: set[str]) -> list[_Unit]:
    root = fx.apt_extract("fortunes-zh") / "usr/share/games/fortunes"
    ver = f"fortunes-zh {fx.versions['fortunes-zh']}"
    units: list[_Unit] = []
    for name, genre, tag in (
        ("tang300", "tang_poetry", "fz-tang"),
        ("song100", "song_poetry", "fz-song"),
    ):
        for i, lines in enumerate(_parse_fortunes(root / name)):
            units.append(
                _Unit(genre, tag, f"{ver}: {name}", f"{tag}-{i}", [ln.strip() for ln in lines])
            )
    for i, lines in enumerate(_parse_fortunes(root / "chinese")):
        attrib = [ln.strip() for ln in lines if ln.strip().startswith("--")]
        if not attrib:
            continue
        att = attrib[-1]
        found = next((g for k, g in _CLASSIC_QUOTES.items() if k in att), None)
        if found is None:
            m = re.match(r"--\s*([^\s《(（,，]+)\s*《", att)
            if not (m and m.group(1) in poets):
                continue  # modern authors, Debian docs, unattributed entries: skipped
        genre = found or "quotations"
        body = [ln.strip() for ln in lines if not ln.strip().startswith("--")]
        body.append("——" + att.lstrip("- ").strip())
        units.append(_Unit(genre, "fz-cn", f"{ver}: chinese", f"fz-cn-{i}", body))
    return units


_QTS_TANG = [f"quantangshi/poet.tang.{n}.json" for n in range(0, 57001, 7000)]
_QTS_SONG = [f"quantangshi/poet.song.{n}.json" for n in range(0, 250001, 50000)]
_SONGCI = ["songci/宋词三百首.json"] + [f"songci/ci.song.{n}.json" for n in range(0, 20001, 5000)]
_CP_MISC = [
    "quantangshi/authors.tang.json",
    "quantangshi/authors.song.json",
    "songci/author.song.json",
    "yuanqu/yuanqu.json",
    "shijing/shijing.json",
    "chuci/chuci.json",
    "mengxue/guwenguanzhi.json",
    "sishuwujing/mengzi.json",
    "sishuwujing/daxue.json",
    "sishuwujing/zhongyong.json",
    "lunyu/lunyu.json",
    "youmengying/youmengying.json",
    "caocaoshiji/caocao.json",
]


def _chinese_poetry_root(fx: _Fetcher) -> Path:
    return (
        fx.npm_extract_subset(
            "chinese-poetry",
            CHINESE_POETRY_VERSION,
            [f"dist/{m}" for m in _QTS_TANG + _QTS_SONG + _SONGCI + _CP_MISC],
        )
        / "dist"
    )


def _load_json(path: Path) -> Any:
    if not path.exists():
        _log(f"missing {path.name}; skipped")
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def _poets(cp: Path) -> set[str]:
    names: set[str] = set()
    for rel in (
        "quantangshi/authors.tang.json",
        "quantangshi/authors.song.json",
        "songci/author.song.json",
    ):
        for a in _load_json(cp / rel):
            if isinstance(a, dict) and a.get("name"):
                names.add(_Converter.convert("t2s", str(a["name"])))
    return names


def _chinese_poetry_units(cp: Path) -> list[_Unit]:
    ver = f"chinese-poetry {CHINESE_POETRY_VERSION}"
    units: list[_Unit] = []

    def poem(
        genre: str, tag: str, rel: str, i: int, title: str, author: str, lines: list[str]
    ) -> None:
        head = f"《{title}》{author}".strip() if title else author
        units.append(_Unit(genre, tag, f"{ver}: {rel}", f"{tag}-{rel}-{i}", [head, *lines]))

    for rel in _QTS_TANG:
        for i, p in enumerate(_load_json(cp / rel)):
            poem(
                "tang_poetry",
                "qts",
                rel,
                i,
                p.get("title", ""),
                p.get("author", ""),
                p.get("paragraphs", []),
            )
    for rel in _QTS_SONG:
        for i, p in enumerate(_load_json(cp / rel)):
            poem(
                "song_poetry",
                "qss",
                rel,
                i,
                p.get("title", ""),
                p.get("author", ""),
                p.get("paragraphs", []),
            )
    for rel in _SONGCI:
        for i, p in enumerate(_load_json(cp / rel)):
            poem(
                "song_ci",
                "ci",
                rel,
                i,
                p.get("rhythmic", ""),
                p.get("author", ""),
                p.get("paragraphs", []),
            )
    for i, p in enumerate(_load_json(cp / "caocaoshiji/caocao.json")):
        poem(
            "pre_tang_poetry",
            "caocao",
            "caocao",
            i,
            p.get("title", ""),
            "曹操",
            p.get("paragraphs", []),
        )
    for i, p in enumerate(_load_json(cp / "shijing/shijing.json")):
        title = f"{p.get('title', '')}"
        head = f"{p.get('chapter', '')}·{p.get('section', '')}"
        poem("pre_tang_poetry", "shijing", "shijing", i, title, head, p.get("content", []))
    for i, p in enumerate(_load_json(cp / "chuci/chuci.json")):
        poem(
            "pre_tang_poetry",
            "chuci",
            "chuci",
            i,
            p.get("title", ""),
            p.get("author", ""),
            p.get("content", []),
        )
    for i, p in enumerate(_load_json(cp / "yuanqu/yuanqu.json")[:3000]):
        poem(
            "yuanqu",
            "yq",
            "yuanqu",
            i,
            p.get("title", ""),
            p.get("author", ""),
            p.get("paragraphs", []),
        )
    gw = _load_json(cp / "mengxue/guwenguanzhi.json")
    for vi, vol in enumerate(gw.get("content", []) if isinstance(gw, dict) else []):
        for ai, art in enumerate(vol.get("content", [])):
            author = str(art.get("author", "")).strip()
            head = f"{art.get('chapter', '')} {art.get('source', '')} {author}".strip()
            units.append(
                _Unit(
                    "classical_prose",
                    "gwgz",
                    f"{ver}: guwenguanzhi",
                    f"gwgz-{vi}-{ai}",
                    [head, *art.get("paragraphs", [])],
                )
            )
    for rel, tag in (
        ("sishuwujing/mengzi.json", "mengzi"),
        ("sishuwujing/daxue.json", "daxue"),
        ("sishuwujing/zhongyong.json", "zhongyong"),
        ("lunyu/lunyu.json", "lunyu"),
    ):
        data = _load_json(cp / rel)
        for i, sec in enumerate(data if isinstance(data, list) else [data]):
            units.append(
                _Unit(
                    "classical_prose",
                    tag,
                    f"{ver}: {rel}",
                    f"{tag}-{i}",
                    [str(sec.get("chapter", "")), *sec.get("paragraphs", [])],
                )
            )
    ymy = _load_json(cp / "youmengying/youmengying.json")
    units.append(
        _Unit(
            "classical_prose",
            "ymy",
            f"{ver}: youmengying",
            "ymy",
            ["幽夢影", *(str(e.get("content", "")) for e in ymy)],
        )
    )
    return units


def _debref_units(fx: _Fetcher) -> list[_Unit]:
    from selectolax.lexbor import LexborHTMLParser

    units: list[_Unit] = []
    for variant in ("zh-cn", "zh-tw"):
        pkg = f"debian-reference-{variant}"
        root = fx.apt_extract(pkg) / "usr/share/debian-reference"
        ver = f"{pkg} {fx.versions[pkg]}"
        for i in range(1, 13):
            path = root / f"ch{i:02d}.{variant}.html"
            if not path.exists():
                continue
            tree = LexborHTMLParser(path.read_text(encoding="utf-8"))
            paras = []
            for node in tree.css("p"):
                s = _clean_para(node.text())
                cjk = len(_CJK_RE.findall(s))
                if cjk >= 20 and cjk / max(1, len(s)) > 0.4:
                    paras.append(s)
            # Both scripts of one Debian-reference chapter share a partition group.
            units.append(
                _Unit(
                    "modern_prose",
                    f"debref-{variant[-2:]}",
                    f"{ver}: {path.name}",
                    f"debref-ch{i:02d}",
                    paras,
                )
            )
    return units


#: (KJV abbreviation as printed by ``bible -f``, SWORD/WEB name, display name)
_BIBLE_BOOKS: list[tuple[str, str]] = [
    ("Genesis", "Genesis"),
    ("Exodus", "Exodus"),
    ("Leviticus", "Leviticus"),
    ("Numbers", "Numbers"),
    ("Deuteronomy", "Deuteronomy"),
    ("Joshua", "Joshua"),
    ("Judges", "Judges"),
    ("Ruth", "Ruth"),
    ("I Samuel", "1 Samuel"),
    ("II Samuel", "2 Samuel"),
    ("I Kings", "1 Kings"),
    ("II Kings", "2 Kings"),
    ("I Chronicles", "1 Chronicles"),
    ("II Chronicles", "2 Chronicles"),
    ("Ezra", "Ezra"),
    ("Nehemiah", "Nehemiah"),
    ("Esther", "Esther"),
    ("Job", "Job"),
    ("Psalms", "Psalms"),
    ("Proverbs", "Proverbs"),
    ("Ecclesiastes", "Ecclesiastes"),
    ("Song of Solomon", "Song of Solomon"),
    ("Isaiah", "Isaiah"),
    ("Jeremiah", "Jeremiah"),
    ("Lamentations", "Lamentations"),
    ("Ezekiel", "Ezekiel"),
    ("Daniel", "Daniel"),
    ("Hosea", "Hosea"),
    ("Joel", "Joel"),
    ("Amos", "Amos"),
    ("Obadiah", "Obadiah"),
    ("Jonah", "Jonah"),
    ("Micah", "Micah"),
    ("Nahum", "Nahum"),
    ("Habakkuk", "Habakkuk"),
    ("Zephaniah", "Zephaniah"),
    ("Haggai", "Haggai"),
    ("Zechariah", "Zechariah"),
    ("Malachi", "Malachi"),
    ("Matthew", "Matthew"),
    ("Mark", "Mark"),
    ("Luke", "Luke"),
    ("John", "John"),
    ("Acts", "Acts"),
    ("Romans", "Romans"),
    ("I Corinthians", "1 Corinthians"),
    ("II Corinthians", "2 Corinthians"),
    ("Galatians", "Galatians"),
    ("Ephesians", "Ephesians"),
    ("Philippians", "Philippians"),
    ("Colossians", "Colossians"),
    ("I Thessalonians", "1 Thessalonians"),
    ("II Thessalonians", "2 Thessalonians"),
    ("I Timothy", "1 Timothy"),
    ("II Timothy", "2 Timothy"),
    ("Titus", "Titus"),
    ("Philemon", "Philemon"),
    ("Hebrews", "Hebrews"),
    ("James", "James"),
    ("I Peter", "1 Peter"),
    ("II Peter", "2 Peter"),
    ("I John", "1 John"),
    ("II John", "2 John"),
    ("III John", "3 John"),
    ("Jude", "Jude"),
    ("Revelation of John", "Revelation"),
]
#: Books with heavy parallel passages share one partition group.
_BOOK_GROUPS = {
    "Matthew": "synoptic",
    "Mark": "synoptic",
    "Luke": "synoptic",
    "I Samuel": "monarchy",
    "II Samuel": "monarchy",
    "I Kings": "monarchy",
    "II Kings": "monarchy",
    "I Chronicles": "monarchy",
    "II Chronicles": "monarchy",
    "Ezra": "return",
    "Nehemiah": "return",
    "Ephesians": "eph-col",
    "Colossians": "eph-col",
    "II Peter": "2pet-jude",
    "Jude": "2pet-jude",
}


def _kjv_verses(fx: _Fetcher) -> list[tuple[int, int, int, str]]:
    """(book index, chapter, verse, text) for the whole KJV via ``bible -f``."""
    out = fx.cache / "text" / "kjv.txt"
    if not out.exists():
        data = fx.apt_extract("bible-kjv-text") / "usr/lib"
        reader = fx.apt_extract("bible-kjv") / "usr/bin/bible"
        proc = _run([str(reader), "-p", str(data), "-f", "gen1:1-rev22:21"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(proc.stdout, encoding="utf-8")
    else:
        fx.apt_deb("bible-kjv-text")
    verses = []
    abbrevs: dict[str, int] = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$", line)
        if not m:
            continue
        book = abbrevs.setdefault(m.group(1), len(abbrevs))
        verses.append((book, int(m.group(2)), int(m.group(3)), m.group(4).strip()))
    if len(abbrevs) != len(_BIBLE_BOOKS):
        raise SourceUnavailable(f"KJV dump has {len(abbrevs)} books, expected 66")
    return verses


def _web_verses(fx: _Fetcher) -> dict[tuple[int, int, int], str]:
    """WEB verse texts keyed like KJV verses; empty dict (with a message) if unavailable."""
    out = fx.cache / "text" / "web.txt"
    if not out.exists():
        if shutil.which("diatheke") is None or not _has_sword_web():
            if os.geteuid() != 0 or os.environ.get("JIANWANG_BENCH_NO_APT_INSTALL"):
                raise SourceUnavailable("diatheke/sword-text-web not installed (not root)")
            _log("apt-get install -y diatheke sword-text-web")
            _run(
                ["apt-get", "install", "-y", "diatheke", "sword-text-web"],
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
        proc = _run(["diatheke", "-b", "engWEB2015eb", "-k", "Gen 1:1-Rev 22:21"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(proc.stdout, encoding="utf-8")
    try:
        ver = _run(["dpkg-query", "-W", "-f", "${Version}", "sword-text-web"]).stdout.strip()
        fx.versions["sword-text-web"] = ver
    except SourceUnavailable:
        pass
    names = {web: i for i, (web, _) in enumerate(_BIBLE_BOOKS)}
    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    line_re = re.compile(rf"^.*?(?<![A-Za-z])({alt}) (\d+):(\d+): (.*)$")
    verses: dict[tuple[int, int, int], str] = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        m = line_re.match(line)
        if not m:
            continue
        body = _clean_web(m.group(4))
        if body:
            verses[(names[m.group(1)], int(m.group(2)), int(m.group(3)))] = body
    return verses


def _has_sword_web() -> bool:
    return Path("/usr/share/sword/mods.d/engWEB2015eb.conf").exists()


def _clean_web(body: str) -> str:
    body = re.sub(r"<note\b.*?</note>", "", body)
    body = re.sub(r"<title\b.*?</title>", "", body)
    body = body.replace("</w><w", "</w> <w")
    body = re.sub(r"<[^>]+>", "", body)
    body = html.unescape(body)
    body = re.sub(r"([,;:!?])(?=[A-Za-z“])", r"\1 ", body)
    return _WS_RE.sub(" ", body).strip()


def _kjv_units(fx: _Fetcher, with_web: bool) -> tuple[list[_Unit], str | None]:
    verses = _kjv_verses(fx)
    ver = f"bible-kjv-text {fx.versions['bible-kjv-text']}"
    web: dict[tuple[int, int, int], str] = {}
    skipped = None
    if with_web:
        try:
            web = _web_verses(fx)
            _log(f"WEB verses: {len(web)}")
        except SourceUnavailable as e:
            skipped = f"retranslation family skipped: {e}"
            _log(skipped)
    units: list[_Unit] = []
    by_chapter: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for b, c, v, t in verses:
        by_chapter.setdefault((b, c), []).append((v, t))
    for (b, c), vs in by_chapter.items():
        web_name, display = _BIBLE_BOOKS[b]
        heading = f"{display} {c}"
        paras = [heading, *(t for _, t in vs)]
        alt_list = [heading, *(web.get((b, c, v), "") for v, _ in vs)]
        ok = web and sum(1 for a in alt_list[1:] if a) >= 0.95 * len(vs)
        units.append(
            _Unit(
                "scripture",
                "kjv",
                ver,
                _BOOK_GROUPS.get(web_name, web_name),
                paras,
                alt=alt_list if ok else None,
            )
        )
    return units, skipped


# --------------------------------------------------------------------------------------------
# Building the full corpus
# --------------------------------------------------------------------------------------------

#: Maximum chapters kept per genre (evenly spaced over what the sources yield).
_GENRE_CAPS = {
    "tang_poetry": 300,
    "song_poetry": 150,
    "song_ci": 200,
    "yuanqu": 120,
    "pre_tang_poetry": 80,
    "classical_prose": 200,
    "quotations": 60,
    "modern_prose": 120,
    "scripture": 700,
}


def _stable_hash(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def _spaced(items: list[Any], cap: int) -> list[Any]:
    if len(items) <= cap:
        return items
    return [items[(i * len(items)) // cap] for i in range(cap)]


def _leak_shingles(text: str, lang: str) -> list[int]:
    """Sampled shingles for the leak check: 8 CJK chars or ASCII letters/digits (t2s), or 8
    lower-cased words. ASCII counts on the CJK side because technical prose (the Debian
    reference) shares commands and file names between its two translations."""
    if lang == "en":
        words = re.findall(r"[a-z]+", text.lower())
        grams = (" ".join(words[i : i + 8]) for i in range(max(0, len(words) - 7)))
    else:
        # Taiwan phrases (軟體, 網路, 檔案) to mainland ones, then characters: the Debian
        # reference's two translations share much text once localised vocabulary is undone
        folded = _Converter.convert("t2s", _Converter.convert("tw2sp", text)).lower()
        norm = "".join(_LEAK_CHAR_RE.findall(folded))
        grams = (norm[i : i + 8] for i in range(max(0, len(norm) - 7)))
    out = []
    for g in grams:
        h = zlib.crc32(g.encode("utf-8"))
        if h % 2 == 0:
            out.append(h)
    return out


def _build_full(cache: Path, with_web: bool = True) -> tuple[Corpus, dict[str, Any]]:
    t0 = time.monotonic()
    fx = _Fetcher(cache)
    skipped: list[str] = []
    cp = _chinese_poetry_root(fx)
    poets = _poets(cp)
    units: list[_Unit] = _fortunes_units(fx, poets)
    _log(f"fortunes-zh: {len(units)} units")
    units += _chinese_poetry_units(cp)
    _log(f"+ chinese-poetry: {len(units)} units")
    try:
        units += _debref_units(fx)
    except SourceUnavailable as e:
        skipped.append(f"modern_prose skipped: {e}")
        _log(skipped[-1])
    dedup = _Dedup()
    # "□" marks characters lost in the source edition: such units are dropped outright.
    zh_units = [
        u for u in units if "□" not in "".join(u.paras) and dedup.accept("\n".join(u.paras))
    ]
    _log(f"dedup: dropped {dedup.dropped} duplicate units, {len(zh_units)} left")
    kjv, web_skip = _kjv_units(fx, with_web)
    if web_skip:
        skipped.append(web_skip)
    all_units = zh_units + kjv

    # Pack per (genre, tag) stream so chapters never mix genres or sources.
    streams: dict[tuple[str, str], list[_Unit]] = {}
    for u in all_units:
        streams.setdefault((u.genre, u.tag), []).append(u)
    per_genre: dict[str, list[tuple[_Packed, str]]] = {}
    for (genre, tag), us in streams.items():
        for n, pk in enumerate(_pack(us)):
            per_genre.setdefault(genre, []).append((pk, f"{genre}/{tag}-{n:04d}"))
    chapters: list[Chapter] = []
    groups: dict[str, str] = {}
    alts: dict[str, str] = {}
    for genre in sorted(per_genre):
        for pk, key in _spaced(per_genre[genre], _GENRE_CAPS.get(genre, 100)):
            text = "\n".join(pk.paras)
            lang = detect_lang(text)
            title = _chapter_title(genre, key, pk.first_title)
            if lang == "zh-Hant":
                title = _Converter.convert("s2t", title)
            chapters.append(Chapter(key, lang, genre, title, text, pk.source))
            groups[key] = f"{genre}:{pk.groups[0]}"
            if pk.alt is not None:
                alts[key] = "\n".join(pk.alt)
    _log(f"packed {len(chapters)} chapters")

    registered, negative = _partition(chapters, groups)
    # Leak check: move negatives that share n-grams with the registered side.
    reg_sh: set[int] = set()
    for c in registered:
        reg_sh.update(_leak_shingles(c.text, c.lang))
    # a chapter moved to the registered side may itself leak into others: repeat until stable
    moved = 0
    changed = True
    while changed:
        changed = False
        kept: list[Chapter] = []
        for c in negative:
            sh = _leak_shingles(c.text, c.lang)
            leak = sum(1 for h in sh if h in reg_sh) / max(1, len(sh))
            if leak >= LEAK_THRESHOLD:
                registered.append(c)
                reg_sh.update(sh)
                moved += 1
                changed = True
            else:
                kept.append(c)
        negative = kept
    _log(f"leak check moved {moved} negative chapters to registered")

    rng = random.Random(PARTITION_SEED)
    registered.sort(key=lambda c: c.key)
    negative.sort(key=lambda c: c.key)
    rng.shuffle(registered)
    rng.shuffle(negative)
    reg_keys = {c.key for c in registered}
    retr = {k: v for k, v in sorted(alts.items()) if k in reg_keys}
    corpus = Corpus(registered, negative, retr, source="full")
    meta = {
        "version": CORPUS_VERSION,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_seconds": round(time.monotonic() - t0, 1),
        "package_versions": dict(sorted(fx.versions.items())),
        "dedup_dropped_units": dedup.dropped,
        "leak_moved": moved,
        "skipped": skipped,
        "stats": corpus.stats(),
    }
    return corpus, meta


_GENRE_NAMES = {
    "tang_poetry": "唐诗选",
    "song_poetry": "宋诗选",
    "song_ci": "宋词选",
    "yuanqu": "元曲选",
    "pre_tang_poetry": "先秦汉魏诗选",
    "classical_prose": "古文选",
    "quotations": "名言集",
    "modern_prose": "Debian 参考手册选",
}


def _chapter_title(genre: str, key: str, first: str) -> str:
    n = int(key.rsplit("-", 1)[1]) + 1
    if genre == "scripture":
        return f"{first} (KJV)"
    first = first.split("》")[0].lstrip("《")[:24]
    return f"{_GENRE_NAMES.get(genre, genre)} 第{n}章 {first}".strip()


def _partition(
    chapters: list[Chapter], groups: dict[str, str]
) -> tuple[list[Chapter], list[Chapter]]:
    """Per genre, shuffle groups deterministically and fill the negative side group by group."""
    registered: list[Chapter] = []
    negative: list[Chapter] = []
    by_genre: dict[str, list[Chapter]] = {}
    for c in chapters:
        by_genre.setdefault(c.genre, []).append(c)
    for genre, chs in sorted(by_genre.items()):
        members: dict[str, list[Chapter]] = {}
        for c in chs:
            members.setdefault(groups[c.key], []).append(c)
        order = sorted(members, key=lambda g: _stable_hash(PARTITION_SEED, g))
        target = math.ceil(NEGATIVE_FRACTION * len(chs))
        neg_n = 0
        for g in order:
            if neg_n < target and neg_n + len(members[g]) <= target * 1.25:
                negative.extend(members[g])
                neg_n += len(members[g])
            else:
                registered.extend(members[g])
        _log(f"  {genre}: {len(chs)} chapters -> {len(chs) - neg_n} registered, {neg_n} negative")
    return registered, negative


# --------------------------------------------------------------------------------------------
# JSONL cache
# --------------------------------------------------------------------------------------------


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _corpus_dir(cache: Path) -> Path:
    return cache / "corpus" / f"full-v{CORPUS_VERSION}"


def _save(corpus: Corpus, meta: dict[str, Any], cache: Path) -> None:
    d = _corpus_dir(cache)
    d.mkdir(parents=True, exist_ok=True)
    _write_jsonl(d / "registered.jsonl", (c.to_json() for c in corpus.registered))
    _write_jsonl(d / "negative.jsonl", (c.to_json() for c in corpus.negative))
    _write_jsonl(
        d / "retranslations.jsonl",
        ({"key": k, "text": v} for k, v in corpus.retranslations.items()),
    )
    (d / "manifest.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")


def _load_cached(cache: Path) -> Corpus | None:
    d = _corpus_dir(cache)
    man = d / "manifest.json"
    if not man.exists():
        return None
    meta = json.loads(man.read_text())
    if meta.get("version") != CORPUS_VERSION:
        return None
    return Corpus(
        registered=[Chapter.from_json(r) for r in _read_jsonl(d / "registered.jsonl")],
        negative=[Chapter.from_json(r) for r in _read_jsonl(d / "negative.jsonl")],
        retranslations={r["key"]: r["text"] for r in _read_jsonl(d / "retranslations.jsonl")},
        source="full",
    )


# --------------------------------------------------------------------------------------------
# Smoke corpus (shipped demo files only)
# --------------------------------------------------------------------------------------------


def _read_manifest(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _smoke_corpus(demo_dir: Path) -> Corpus:
    """Registered = files in ``manifest.csv``; negative = ``unregistered/manifest.csv``.

    Keys are file paths relative to the demo corpus folder. Retranslations come from
    ``retranslations/<stem>.web.txt`` when present.
    """

    def load(sub: str) -> list[Chapter]:
        base = demo_dir / sub if sub else demo_dir
        man = base / "manifest.csv"
        if not man.exists():
            return []
        out = []
        for row in _read_manifest(man):
            rel = f"{sub}/{row['file']}" if sub else row["file"]
            text = "\n".join(
                p
                for p in (
                    _clean_para(x) for x in (base / row["file"]).read_text("utf-8").split("\n")
                )
                if p
            )
            genre = Path(row["file"]).stem.rsplit("-", 1)[0]
            out.append(Chapter(rel, detect_lang(text), genre, row["title"], text, "demo corpus"))
        return out

    registered = load("")
    negative = load("unregistered")
    retr: dict[str, str] = {}
    for c in registered:
        alt = demo_dir / "retranslations" / f"{Path(c.key).stem}.web.txt"
        if alt.exists():
            retr[c.key] = alt.read_text("utf-8").strip("\n")
    return Corpus(registered, negative, retr, source="smoke")


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def load_corpus(
    source: Literal["full", "smoke"],
    cache_dir: Path | None = None,
    limit: int | None = None,
    *,
    rebuild: bool = False,
    with_retranslations: bool = True,
) -> Corpus:
    """Load (building on first use) the benchmark corpus.

    Args:
        source: ``"full"`` downloads and builds the real corpus (cached); ``"smoke"`` reads the
            small corpus shipped in ``src/jianwang/demo/corpus/`` (no downloads).
        cache_dir: cache root; default :func:`default_cache_dir`.
        limit: keep at most this many registered chapters (a deterministic, genre-mixed prefix)
            and the same proportion of negatives (at least one); retranslations follow.
        rebuild: ignore a cached full corpus and build it again (downloads are still reused).
        with_retranslations: try to fetch WEB via diatheke for the retranslation family.
    """
    if source == "smoke":
        corpus = _smoke_corpus(DEMO_CORPUS_DIR)
    elif source == "full":
        cache = cache_dir or default_cache_dir()
        cached = None if rebuild else _load_cached(cache)
        if cached is not None:
            _log(f"using cached corpus in {_corpus_dir(cache)}")
            corpus = cached
        else:
            _log(f"building full corpus in {cache}")
            corpus, meta = _build_full(cache, with_web=with_retranslations)
            _save(corpus, meta, cache)
            _log(
                f"built in {meta['build_seconds']} s: {json.dumps(meta['stats'], ensure_ascii=False)}"
            )
    else:
        raise ValueError(f"unknown corpus source {source!r}")
    if limit is not None and limit < len(corpus.registered):
        ratio = len(corpus.negative) / max(1, len(corpus.registered))
        reg = corpus.registered[:limit]
        neg = corpus.negative[: max(1, math.ceil(limit * ratio))]
        keys = {c.key for c in reg}
        corpus = Corpus(
            reg,
            neg,
            {k: v for k, v in corpus.retranslations.items() if k in keys},
            source=corpus.source,
        )
    return corpus


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", choices=["full", "smoke"], default="full")
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    corpus = load_corpus(args.source, args.cache_dir, args.limit, rebuild=args.rebuild)
    stats = corpus.stats()
    stats["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(stats, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
