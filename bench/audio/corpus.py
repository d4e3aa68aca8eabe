"""Real-music corpus for the audio fingerprinting benchmark.

The music comes from Debian packages of free game soundtracks, fetched with ``apt-get download``
and unpacked with ``dpkg -x`` (no other network):

* ``wesnoth-1.16-music`` — orchestral/folk (Ogg Vorbis).
* ``warzone2100-music`` — electronic/ambient (Opus), three albums.
* ``singularity-music`` — ambient/electronic (Ogg Vorbis).

``EXTRA_PACKAGES`` are only fetched if these three cannot give the sizes below.

Tracks shorter than ``MIN_SECONDS`` are skipped, and so are known alternate versions of the same
piece (``*_enhanced``/``*-old``/``*-epic`` remasters and re-arrangements: only the longest version
of such a family is kept), so that a negative track never shares audio with a reference.

The split is deterministic: per package, tracks sorted by name are shuffled with a fixed seed and
the first ``NEGATIVE_FRACTION`` become held-out negatives (never registered); the rest are
references. The build checks that there are at least ``MIN_REFERENCES`` references totalling
``MIN_REFERENCE_HOURS`` hours and ``MIN_NEGATIVES`` negatives.

Cache layout (``$JIANWANG_BENCH_CACHE/audio`` or ``~/.cache/jianwang-bench/audio``)::

    downloads/             *.deb from ``apt-get download``
    extracted/<package>/   ``dpkg -x`` output (``.done`` marks a complete extraction)
    corpus-v1.json         the split with durations; reused when every listed file exists

Command line: ``python -m bench.audio.corpus [--cache DIR] [--rebuild] [--quiet]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from bench import debian

CORPUS_VERSION = 1
PACKAGES = ("wesnoth-1.16-music", "warzone2100-music", "singularity-music")
#: Fetched in this order, one at a time, only while the size targets are not met.
EXTRA_PACKAGES = ("ufoai-music", "nexuiz-music", "hyperrogue-music", "fb-music-high")
AUDIO_EXTENSIONS = frozenset({".ogg", ".oga", ".opus", ".flac", ".mp3", ".wav"})
MIN_SECONDS = 30.0
MIN_REFERENCES = 60
MIN_REFERENCE_HOURS = 5.0
MIN_NEGATIVES = 12
NEGATIVE_FRACTION = 0.18
SPLIT_SEED = "jianwang-bench-audio-v1"
#: Stem suffixes marking another version of the same piece (``menu`` / ``menu_enhanced``).
_VARIANT_RE = re.compile(r"(?:[_-](?:enhanced|old|epic))+$", re.IGNORECASE)
#: Sample rate used for decoding throughout the audio benchmark.
SAMPLE_RATE = 22050


@dataclass(frozen=True, slots=True)
class Track:
    """One music file: ``name`` is ``package/path-below-the-music-dir`` (unique)."""

    name: str
    path: Path
    seconds: float
    package: str

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Track:
        return cls(
            name=d["name"], path=Path(d["path"]), seconds=float(d["seconds"]), package=d["package"]
        )


@dataclass(slots=True)
class Corpus:
    """Reference tracks (registered) and held-out negative tracks (never registered)."""

    references: list[Track]
    negatives: list[Track]

    def stats(self) -> dict[str, Any]:
        """Track counts and hours per side and package."""

        def side(tracks: list[Track]) -> dict[str, Any]:
            by_pkg: dict[str, int] = {}
            for t in tracks:
                by_pkg[t.package] = by_pkg.get(t.package, 0) + 1
            return {
                "tracks": len(tracks),
                "hours": round(sum(t.seconds for t in tracks) / 3600, 3),
                "by_package": dict(sorted(by_pkg.items())),
            }

        return {"references": side(self.references), "negatives": side(self.negatives)}

    def by_name(self) -> dict[str, Track]:
        """All tracks by name."""
        return {t.name: t for t in [*self.references, *self.negatives]}


class CorpusError(RuntimeError):
    """The corpus could not be built to the required size."""


def default_cache_dir() -> Path:
    """``$JIANWANG_BENCH_CACHE/audio`` or ``~/.cache/jianwang-bench/audio``."""
    env = os.environ.get("JIANWANG_BENCH_CACHE")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "jianwang-bench"
    return root / "audio"


# --------------------------------------------------------------------------------------------
# Audio helpers shared by the benchmark
# --------------------------------------------------------------------------------------------


def decode_mono(path: Path, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode a whole file to mono float32 samples at ``rate`` with PyAV."""
    chunks: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)


def probe_seconds(path: Path) -> float:
    """Duration from the container (or stream) header, in seconds; 0.0 if unknown."""
    with av.open(str(path)) as container:
        if container.duration:
            return float(container.duration) / 1e6
        stream = container.streams.audio[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    return 0.0


# --------------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------------


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"[audio-corpus] {msg}", file=sys.stderr, flush=True)


def _fetch(package: str, cache: Path, quiet: bool) -> Path:
    """``apt-get download`` + ``dpkg -x`` ``package`` into the cache; return its root."""
    try:
        return debian.fetch(package, cache, lambda m: _log(m, quiet))[0]
    except debian.FetchError as e:
        raise CorpusError(str(e)) from e


def _short_name(package: str, rel: Path) -> str:
    """``package/<path below the last 'music' directory>`` (or the full relative path)."""
    parts = rel.parts
    cut = max((i for i, p in enumerate(parts[:-1]) if "music" in p.lower()), default=-1)
    return f"{package}/{'/'.join(parts[cut + 1 :])}"


def _list_tracks(package: str, root: Path, quiet: bool) -> list[Track]:
    """Audio files of one package, at least ``MIN_SECONDS`` long, one per variant family."""
    found: list[Track] = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in AUDIO_EXTENSIONS:
            continue
        try:
            secs = probe_seconds(p)
        except (av.error.FFmpegError, IndexError):
            _log(f"skipping unreadable {p}", quiet)
            continue
        name = _short_name(package, p.relative_to(root))
        if secs < MIN_SECONDS:
            _log(f"skipping short ({secs:.1f} s) {name}", quiet)
            continue
        found.append(Track(name=name, path=p, seconds=round(secs, 3), package=package))
    families: dict[str, list[Track]] = {}
    for t in found:
        stem = Path(t.name).stem
        families.setdefault(_VARIANT_RE.sub("", stem).lower(), []).append(t)
    kept: list[Track] = []
    for members in families.values():
        members.sort(key=lambda t: (-t.seconds, t.name))
        kept.append(members[0])
        for other in members[1:]:
            _log(f"skipping {other.name}: another version of {members[0].name}", quiet)
    return sorted(kept, key=lambda t: t.name)


def _split(by_package: dict[str, list[Track]]) -> Corpus:
    refs: list[Track] = []
    negs: list[Track] = []
    for package in sorted(by_package):
        tracks = sorted(by_package[package], key=lambda t: t.name)
        random.Random(f"{SPLIT_SEED}|{package}").shuffle(tracks)
        n_neg = max(1, round(len(tracks) * NEGATIVE_FRACTION)) if len(tracks) > 1 else 0
        negs.extend(tracks[:n_neg])
        refs.extend(tracks[n_neg:])
    return Corpus(
        references=sorted(refs, key=lambda t: t.name), negatives=sorted(negs, key=lambda t: t.name)
    )


def _shortfall(corpus: Corpus) -> str | None:
    hours = sum(t.seconds for t in corpus.references) / 3600
    problems = []
    if len(corpus.references) < MIN_REFERENCES:
        problems.append(f"{len(corpus.references)} references < {MIN_REFERENCES}")
    if hours < MIN_REFERENCE_HOURS:
        problems.append(f"{hours:.2f} h of references < {MIN_REFERENCE_HOURS} h")
    if len(corpus.negatives) < MIN_NEGATIVES:
        problems.append(f"{len(corpus.negatives)} negatives < {MIN_NEGATIVES}")
    return "; ".join(problems) or None


def _load_manifest(path: Path) -> Corpus | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != CORPUS_VERSION:
        return None
    corpus = Corpus(
        references=[Track.from_json(d) for d in data["references"]],
        negatives=[Track.from_json(d) for d in data["negatives"]],
    )
    if all(t.path.is_file() for t in [*corpus.references, *corpus.negatives]):
        return corpus
    return None


def build(cache: Path | None = None, quiet: bool = False, rebuild: bool = False) -> Corpus:
    """Fetch, unpack, list and split the music corpus (idempotent; cached in ``cache``)."""
    cache = (cache or default_cache_dir()).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    manifest = cache / f"corpus-v{CORPUS_VERSION}.json"
    if not rebuild and (cached := _load_manifest(manifest)) is not None:
        _log(f"reusing {manifest}: {_describe(cached)}", quiet)
        return cached

    by_package: dict[str, list[Track]] = {}
    extras = list(EXTRA_PACKAGES)
    packages = list(PACKAGES)
    while True:
        for package in packages:
            if package not in by_package:
                by_package[package] = _list_tracks(package, _fetch(package, cache, quiet), quiet)
                secs = sum(t.seconds for t in by_package[package])
                _log(f"{package}: {len(by_package[package])} tracks, {secs / 3600:.2f} h", quiet)
        corpus = _split(by_package)
        problem = _shortfall(corpus)
        if problem is None:
            break
        if not extras:
            raise CorpusError(f"not enough music even with {sorted(by_package)}: {problem}")
        _log(f"not enough music ({problem}); adding {extras[0]}", quiet)
        packages.append(extras.pop(0))

    payload = {
        "version": CORPUS_VERSION,
        "packages": sorted(by_package),
        "references": [t.to_json() for t in corpus.references],
        "negatives": [t.to_json() for t in corpus.negatives],
    }
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False))
    tmp.replace(manifest)
    _log(f"wrote {manifest}: {_describe(corpus)}", quiet)
    return corpus


def _describe(corpus: Corpus) -> str:
    s = corpus.stats()
    r, n = s["references"], s["negatives"]
    return (
        f"{r['tracks']} references ({r['hours']:.2f} h, {r['by_package']}), "
        f"{n['tracks']} negatives ({n['hours']:.2f} h, {n['by_package']})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: build the corpus and print its statistics as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--cache", type=Path, default=None, help="cache dir (default: %(default)s)")
    ap.add_argument("--rebuild", action="store_true", help="re-list and re-split the tracks")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    corpus = build(args.cache, quiet=args.quiet, rebuild=args.rebuild)
    print(json.dumps(corpus.stats(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
