"""Distorted query excerpts for the audio fingerprinting benchmark.

For every cell (distortion × length) ``make_queries`` cuts ``per_cell`` excerpts from random
reference tracks and ``negatives_per_cell`` from the held-out negative tracks, distorts them and
writes them as 16-bit mono WAV at 22,050 Hz (MP3 for ``mp3_64k``). Everything is in-process
(PyAV filters and numpy) and deterministic in ``seed``.

Ground truth per query: ``ref_start`` is the time in the original track where the query starts,
and query time ``t`` shows original time ``ref_start + speed * t``; ``pitch`` is the frequency
factor. Distortions:

* ``clean`` — the excerpt as decoded.
* ``mp3_64k`` — LAME (libmp3lame via PyAV) at 64 kb/s, 22,050 Hz mono; the ``.mp3`` is the query.
* ``noise_10db`` / ``noise_0db`` — pink noise at 10 dB / 0 dB SNR against the excerpt's power.
* ``speed_+5`` / ``speed_-5`` — resampling (``asetrate`` + ``aresample``): tempo and pitch ±5 %.
* ``tempo_+5`` — ``atempo=1.05``: 5 % faster, pitch kept.
* ``pitch_+1`` — one semitone up, tempo kept (``asetrate``, ``aresample``, ``atempo``).
* ``telephone`` — 300–3,400 Hz band-pass (4th-order ``highpass``/``lowpass``), 8 kHz and back.
* ``reverb`` — convolution with a synthetic room response (direct path + exponentially decaying
  noise, RT60 0.6 s, direct-to-reverberant ratio 0 dB), fed with 1 s of preceding music so the
  query starts inside a reverberant tail as a real recording would.

Excerpts quieter than −46 dBFS RMS are redrawn (a query of silence identifies nothing).

Cache: ``<cache>/queries/v<version>-s<seed>-p<per_cell>-n<negatives>-<corpus hash>/`` holds the
query files and ``manifest.json`` (written last; its presence and that of every file listed make a
second call reuse the directory).

Command line: ``python -m bench.audio.queries --per-cell N --negatives-per-cell M [--seed S]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
import wave
import zlib
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.filter
import numpy as np

from bench.audio.corpus import SAMPLE_RATE, Corpus, Track, build, decode_mono, default_cache_dir

QUERY_VERSION = 1
DISTORTIONS = (
    "clean",
    "mp3_64k",
    "noise_10db",
    "noise_0db",
    "speed_+5",
    "speed_-5",
    "tempo_+5",
    "pitch_+1",
    "telephone",
    "reverb",
)
LENGTHS = (5, 10, 20)
SEMITONE = 2.0 ** (1.0 / 12.0)
#: Excerpts whose RMS is below this (−46 dBFS) are redrawn.
MIN_RMS = 0.005
MAX_DRAWS = 50
#: Extra original audio decoded after the excerpt, for filter look-ahead.
TAIL_SECONDS = 1.0
REVERB_RT60 = 0.6
REVERB_DRR_DB = 0.0
REVERB_PREROLL = 1.0


@dataclass(frozen=True, slots=True)
class Query:
    """One query file with its ground truth (``track`` is None for negatives).

    ``source`` names the track the excerpt was cut from (the negative track for negatives).
    """

    id: str
    path: Path
    distortion: str
    length: float
    track: str | None
    ref_start: float
    speed: float
    pitch: float
    source: str = ""

    def to_json(self, root: Path) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path.relative_to(root))
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], root: Path) -> Query:
        return cls(
            id=d["id"],
            path=root / d["path"],
            distortion=d["distortion"],
            length=float(d["length"]),
            track=d["track"],
            ref_start=float(d["ref_start"]),
            speed=float(d["speed"]),
            pitch=float(d["pitch"]),
            source=d.get("source", ""),
        )


def _rate_factor(factor: float, sr: int = SAMPLE_RATE) -> tuple[int, float]:
    """``asetrate`` takes an integer rate: the rate used and the factor it really gives."""
    rate = round(sr * factor)
    return rate, rate / sr


def time_factors(distortion: str) -> tuple[float, float]:
    """``(speed, pitch)`` of a distortion, as really applied (see ``Query``)."""
    if distortion == "speed_+5":
        f = _rate_factor(1.05)[1]
        return f, f
    if distortion == "speed_-5":
        f = _rate_factor(0.95)[1]
        return f, f
    if distortion == "tempo_+5":
        return 1.05, 1.0
    if distortion == "pitch_+1":
        return 1.0, _rate_factor(SEMITONE)[1]
    if distortion not in DISTORTIONS:
        raise ValueError(f"unknown distortion {distortion!r}")
    return 1.0, 1.0


# --------------------------------------------------------------------------------------------
# Signal processing
# --------------------------------------------------------------------------------------------


def run_filters(
    x: np.ndarray, chain: Sequence[tuple[str, str]], sr: int = SAMPLE_RATE
) -> np.ndarray:
    """Run mono float32 ``x`` through an FFmpeg filter chain (PyAV); return mono float32."""
    graph = av.filter.Graph()
    src = graph.add_abuffer(format="flt", sample_rate=sr, layout="mono", time_base=Fraction(1, sr))
    prev = src
    for name, args in [
        *chain,
        ("aformat", f"sample_fmts=flt:channel_layouts=mono:sample_rates={sr}"),
    ]:
        node = graph.add(name, args)
        prev.link_to(node)
        prev = node
    sink = graph.add("abuffersink")
    prev.link_to(sink)
    graph.configure()
    out: list[np.ndarray] = []

    def drain() -> None:
        while True:
            try:
                frame = sink.pull()
            except (BlockingIOError, av.error.EOFError):
                return
            assert isinstance(frame, av.AudioFrame)
            out.append(frame.to_ndarray().reshape(-1))

    step = 4096
    for i in range(0, len(x), step):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(x[None, i : i + step], dtype=np.float32),
            format="flt",
            layout="mono",
        )
        frame.sample_rate = sr
        frame.pts = i
        frame.time_base = Fraction(1, sr)
        src.push(frame)
        drain()
    src.push(None)
    drain()
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power pink (1/f power) noise of ``n`` samples."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec /= np.sqrt(f)
    spec[0] = 0.0
    y = np.fft.irfft(spec, n)
    return y / max(float(np.sqrt(np.mean(y**2))), 1e-12)


def room_impulse_response(rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Direct path plus an exponentially decaying noise tail (RT60 ``REVERB_RT60``)."""
    n = int(2 * REVERB_RT60 * sr)
    t = np.arange(n) / sr
    predelay = int(0.008 * sr)
    tail = rng.standard_normal(n) * np.exp(-3.0 * math.log(10.0) * t / REVERB_RT60)
    tail[:predelay] = 0.0
    tail *= 10.0 ** (-REVERB_DRR_DB / 20.0) / math.sqrt(float(np.sum(tail**2)))
    h = tail
    h[0] = 1.0
    return h


def _fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = len(x) + len(h) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[:n]


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad to exactly ``n`` samples."""
    if len(y) >= n:
        return y[:n]
    return np.concatenate([y, np.zeros(n - len(y), dtype=y.dtype)])


def distort(
    distortion: str,
    audio: np.ndarray,
    start: int,
    n: int,
    rng: np.random.Generator,
    sr: int = SAMPLE_RATE,
) -> np.ndarray:
    """Query samples (``n``, float32) for ``audio`` from sample ``start`` under ``distortion``."""
    speed, _ = time_factors(distortion)
    need = math.ceil(n * speed) + int(TAIL_SECONDS * sr)
    x = audio[start : start + need].astype(np.float64)
    if distortion in ("clean", "mp3_64k"):
        y = x[:n]
    elif distortion.startswith("noise_"):
        snr_db = float(distortion.removeprefix("noise_").removesuffix("db"))
        y = x[:n]
        power = float(np.mean(y**2))
        y = y + pink_noise(n, rng) * math.sqrt(power / 10.0 ** (snr_db / 10.0))
    elif distortion.startswith("speed_"):
        rate, _ = _rate_factor(speed, sr)
        y = run_filters(x.astype(np.float32), [("asetrate", str(rate)), ("aresample", str(sr))], sr)
    elif distortion == "tempo_+5":
        y = run_filters(x.astype(np.float32), [("atempo", f"{speed:.6f}")], sr)
    elif distortion == "pitch_+1":
        rate, factor = _rate_factor(SEMITONE, sr)
        chain = [("asetrate", str(rate)), ("aresample", str(sr)), ("atempo", f"{1 / factor:.9f}")]
        y = run_filters(x.astype(np.float32), chain, sr)
    elif distortion == "telephone":
        chain = [
            ("highpass", "f=300"),
            ("highpass", "f=300"),
            ("lowpass", "f=3400"),
            ("lowpass", "f=3400"),
            ("aresample", "8000"),
            ("aresample", str(sr)),
        ]
        y = run_filters(x.astype(np.float32), chain, sr)
    elif distortion == "reverb":
        pre = min(start, int(REVERB_PREROLL * sr))
        wet = _fft_convolve(
            audio[start - pre : start + n].astype(np.float64), room_impulse_response(rng, sr)
        )
        y = wet[pre : pre + n]
        dry_rms = math.sqrt(float(np.mean(x[:n] ** 2)))
        y = y * dry_rms / max(math.sqrt(float(np.mean(y**2))), 1e-12)
    else:
        raise ValueError(f"unknown distortion {distortion!r}")
    y = _fit(np.asarray(y, dtype=np.float64), n)
    peak = float(np.max(np.abs(y))) if n else 0.0
    if peak > 0.99:
        y *= 0.99 / peak
    return y.astype(np.float32)


def write_wav(path: Path, x: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    """16-bit mono PCM WAV."""
    pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def write_mp3(path: Path, x: np.ndarray, sr: int = SAMPLE_RATE, bit_rate: int = 64000) -> None:
    """Mono MP3 with libmp3lame (PyAV)."""
    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=sr, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(x[None, :], dtype=np.float32), format="flt", layout="mono"
        )
        frame.sample_rate = sr
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout="mono", rate=sr
        )
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))


# --------------------------------------------------------------------------------------------
# Planning and rendering
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    id: str
    distortion: str
    length: int
    source: Track
    negative: bool


def _plan(corpus: Corpus, per_cell: int, negatives_per_cell: int, seed: int) -> list[_Plan]:
    plans: list[_Plan] = []
    refs = sorted(corpus.references, key=lambda t: t.name)
    negs = sorted(corpus.negatives, key=lambda t: t.name)
    for distortion in DISTORTIONS:
        for length in LENGTHS:
            rng = random.Random(f"jianwang-audio-queries|{seed}|{distortion}|{length}")
            for i in range(per_cell):
                qid = f"{distortion}-{length:02d}s-p{i:03d}"
                plans.append(_Plan(qid, distortion, length, rng.choice(refs), False))
            for i in range(negatives_per_cell):
                qid = f"{distortion}-{length:02d}s-n{i:03d}"
                plans.append(_Plan(qid, distortion, length, rng.choice(negs), True))
    return plans


def _render_track(args: tuple[Track, list[_Plan], Path, int]) -> list[Query]:
    """Decode one track and render all its queries (process-pool worker)."""
    track, plans, outdir, seed = args
    sr = SAMPLE_RATE
    audio = decode_mono(track.path, sr)
    out: list[Query] = []
    for p in plans:
        rng = np.random.default_rng([seed, zlib.crc32(p.id.encode())])
        speed, pitch = time_factors(p.distortion)
        n = p.length * sr
        need = math.ceil(n * speed) + int(TAIL_SECONDS * sr)
        hi = max(0, len(audio) - need)
        best = (-1.0, 0)
        for _ in range(MAX_DRAWS):
            start = int(rng.integers(0, hi + 1))
            rms = math.sqrt(
                float(np.mean(np.square(audio[start : start + need], dtype=np.float64)))
            )
            if rms > best[0]:
                best = (rms, start)
            if rms >= MIN_RMS:
                break
        start = best[1]
        y = distort(p.distortion, audio, start, n, rng, sr)
        if p.distortion == "mp3_64k":
            path = outdir / f"{p.id}.mp3"
            write_mp3(path, y, sr)
        else:
            path = outdir / f"{p.id}.wav"
            write_wav(path, y, sr)
        out.append(
            Query(
                id=p.id,
                path=path,
                distortion=p.distortion,
                length=float(p.length),
                track=None if p.negative else track.name,
                ref_start=start / sr,
                speed=speed,
                pitch=pitch,
                source=track.name,
            )
        )
    return out


def _corpus_hash(corpus: Corpus) -> str:
    h = hashlib.sha1()
    for side, tracks in (("r", corpus.references), ("n", corpus.negatives)):
        for t in sorted(tracks, key=lambda t: t.name):
            h.update(f"{side}|{t.name}|{t.seconds:.3f}\n".encode())
    return h.hexdigest()[:10]


def query_dir(
    corpus: Corpus, per_cell: int, negatives_per_cell: int, seed: int = 0, cache: Path | None = None
) -> Path:
    """The cache directory for these parameters."""
    root = (cache or default_cache_dir()).expanduser() / "queries"
    key = f"v{QUERY_VERSION}-s{seed}-p{per_cell}-n{negatives_per_cell}-{_corpus_hash(corpus)}"
    return root / key


def _load(outdir: Path) -> list[Query] | None:
    try:
        data = json.loads((outdir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    queries = [Query.from_json(d, outdir) for d in data["queries"]]
    return queries if all(q.path.is_file() for q in queries) else None


def make_queries(
    corpus: Corpus,
    per_cell: int,
    negatives_per_cell: int,
    seed: int = 0,
    cache: Path | None = None,
    quiet: bool = True,
    workers: int | None = None,
) -> list[Query]:
    """All queries for every (distortion, length) cell, built once and cached on disk."""
    outdir = query_dir(corpus, per_cell, negatives_per_cell, seed, cache)
    cached = _load(outdir)
    if cached is not None:
        return cached
    t0 = time.perf_counter()
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    plans = _plan(corpus, per_cell, negatives_per_cell, seed)
    by_track: dict[str, list[_Plan]] = {}
    for p in plans:
        by_track.setdefault(p.source.name, []).append(p)
    jobs = [(by_track[k][0].source, by_track[k], outdir, seed) for k in sorted(by_track)]
    # Longest tracks first so the pool ends evenly.
    jobs.sort(key=lambda j: -j[0].seconds)
    if not quiet:
        print(
            f"[audio-queries] rendering {len(plans)} queries from {len(jobs)} tracks into {outdir}",
            file=sys.stderr,
            flush=True,
        )
    n_workers = workers or min(len(jobs), os.cpu_count() or 1) or 1
    rendered: dict[str, Query] = {}
    if n_workers > 1:
        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            for qs in pool.map(_render_track, jobs):
                rendered.update((q.id, q) for q in qs)
    else:
        for job in jobs:
            rendered.update((q.id, q) for q in _render_track(job))
    queries = [rendered[p.id] for p in plans]
    payload = {
        "version": QUERY_VERSION,
        "seed": seed,
        "per_cell": per_cell,
        "negatives_per_cell": negatives_per_cell,
        "corpus_hash": _corpus_hash(corpus),
        "sample_rate": SAMPLE_RATE,
        "build_seconds": round(time.perf_counter() - t0, 1),
        "queries": [q.to_json(outdir) for q in queries],
    }
    tmp = outdir / "manifest.tmp"
    tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False))
    tmp.replace(outdir / "manifest.json")
    if not quiet:
        print(f"[audio-queries] built in {payload['build_seconds']} s", file=sys.stderr, flush=True)
    return queries


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: build (or reuse) the queries and print counts per cell."""
    ap = argparse.ArgumentParser(description="Build the distorted audio queries.")
    ap.add_argument("--per-cell", type=int, default=40)
    ap.add_argument("--negatives-per-cell", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args(argv)
    corpus = build(args.cache, quiet=True)
    t0 = time.perf_counter()
    queries = make_queries(
        corpus, args.per_cell, args.negatives_per_cell, args.seed, args.cache, quiet=False
    )
    elapsed = time.perf_counter() - t0
    cells = Counter((q.distortion, int(q.length), q.track is None) for q in queries)
    where = query_dir(corpus, args.per_cell, args.negatives_per_cell, args.seed, args.cache)
    print(f"{len(queries)} queries in {where} ({elapsed:.1f} s)")
    print(f"{'distortion':<12}" + "".join(f"{f'{n}s pos/neg':>14}" for n in LENGTHS))
    for d in DISTORTIONS:
        row = "".join(f"{f'{cells[(d, n, False)]}/{cells[(d, n, True)]}':>14}" for n in LENGTHS)
        print(f"{d:<12}{row}")
    secs = sum(q.length for q in queries)
    print(
        f"positives {sum(q.track is not None for q in queries)}, "
        f"negatives {sum(q.track is None for q in queries)}, audio {secs / 3600:.2f} h"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
