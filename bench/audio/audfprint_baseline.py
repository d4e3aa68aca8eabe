"""audfprint (Dan Ellis's landmark fingerprinter) as the baseline of the audio benchmark.

audfprint runs *beside* the project: PyPI ``audfprint2`` (a maintained fork of
``dpwe/audfprint``, pinned to ``AUDFPRINT_VERSION``) is installed in its own virtualenv under
``<cache>/audfprint-venv`` and driven by ``_audfprint_runner.py`` with that venv's Python.

audfprint normally decodes through an ``ffmpeg`` binary, which this machine lacks. Every reference
and query is therefore decoded once here (PyAV) to 16-bit mono WAV at 11,025 Hz — audfprint's own
analysis rate — cached under ``<cache>/wav11k/``, and the runner flips audfprint's built-in
no-ffmpeg switch (``audfprint2.utils.audio.HAVE_FFMPEG = False``), so it reads them with
``scipy.io.wavfile``. The decoding cost is reported separately (``decode_cpu_s``); audfprint's
own figures do not include it (with ffmpeg it would run in a child process anyway).

All analysis and matching parameters are audfprint's command-line defaults (density 20 hashes/s,
fanout 3, 5 peaks/frame, 4 query shifts, 2^20 × 100 hash table, min 5 aligned hashes, ...). The one
storage parameter that may differ is ``maxtime``: audfprint keeps reference times modulo
``maxtime`` frames (default 16,384 frames = 380 s), so offsets in longer tracks wrap around;
``maxtime=None`` (the default here) picks the smallest power of two that holds the longest
reference, ``maxtime=16384`` reproduces audfprint's out-of-the-box database.

Offset convention: audfprint's ``aligntime`` is (reference frame − query frame) of the aligned
hashes, i.e. the reference frame at which the query's frame 0 lies; ``offset = aligntime × 256 /
11,025 s`` is therefore directly the reference time at which the query starts (checked against
``Query.ref_start`` on clean queries: agreement within one or two 23 ms hops).

Command line::

    python -m bench.audio.audfprint_baseline --per-cell 40 --negatives-per-cell 10 \
        [--limit-refs N] [--maxtime N] [--jobs 2] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.audio.corpus import Corpus, Track, build, decode_mono, default_cache_dir
from bench.audio.queries import DISTORTIONS, LENGTHS, Query, make_queries, write_wav

AUDFPRINT_PACKAGE = "audfprint2"
AUDFPRINT_VERSION = "0.1.2"
AUDFPRINT_RATE = 11025
AUDFPRINT_HOP = 256
#: audfprint's default ``--maxtime`` (frames).
AUDFPRINT_DEFAULT_MAXTIME = 16384
RUNNER = Path(__file__).with_name("_audfprint_runner.py")


@dataclass(frozen=True, slots=True)
class AudfprintMatch:
    """audfprint's answer for one query (``track`` None when it reports no match).

    ``offset``: reference time (s) at which the query starts; ``score``: time-aligned matching
    hashes of the best hit; ``raw``: all hashes shared with that reference.
    """

    query_id: str
    track: str | None
    offset: float | None
    score: int
    raw: int
    query_hashes: int
    cpu_s: float


@dataclass(slots=True)
class AudfprintResult:
    """Matches per query id plus costs (CPU seconds of audfprint's processes, bytes on disk)."""

    matches: dict[str, AudfprintMatch]
    extract_cpu_s: float
    ref_seconds_total: float
    match_cpu_s: float
    query_seconds_total: float
    db_bytes: int
    decode_cpu_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["matches"] = [asdict(m) for m in self.matches.values()]
        return d


# --------------------------------------------------------------------------------------------
# audfprint installation and input conversion
# --------------------------------------------------------------------------------------------


def ensure_audfprint(venv: Path | None = None) -> Path:
    """Create the audfprint virtualenv if needed; return its Python."""
    venv = (venv or default_cache_dir() / "audfprint-venv").expanduser()
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('audfprint2'))"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == AUDFPRINT_VERSION:
            return python
    base = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    )
    subprocess.run(
        [str(base if base.exists() else sys.executable), "-m", "venv", str(venv)], check=True
    )
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{AUDFPRINT_PACKAGE}=={AUDFPRINT_VERSION}"],
        check=True,
    )
    return python


def _wav_cache_path(src: Path, cache: Path) -> Path:
    st = src.stat()
    key = hashlib.sha1(f"{src.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:20]
    return cache / f"{key}.wav"


def _convert(job: tuple[Path, Path]) -> tuple[float, float]:
    """Decode ``src`` to an 11,025 Hz mono WAV at ``dst``; (CPU seconds, audio seconds)."""
    src, dst = job
    t0 = time.process_time()
    x = decode_mono(src, AUDFPRINT_RATE)
    tmp = dst.with_suffix(f".{os.getpid()}.tmp")
    write_wav(tmp, x, AUDFPRINT_RATE)
    tmp.replace(dst)
    return time.process_time() - t0, len(x) / AUDFPRINT_RATE


def to_wav11k(
    sources: Sequence[Path], cache: Path | None = None, jobs: int = 0
) -> tuple[list[Path], float]:
    """Cached 11,025 Hz mono 16-bit WAV copies of ``sources``; also the CPU seconds spent now."""
    cache = cache or default_cache_dir() / "wav11k"
    cache.mkdir(parents=True, exist_ok=True)
    outs = [_wav_cache_path(s, cache) for s in sources]
    todo = sorted({(s, o) for s, o in zip(sources, outs, strict=True) if not o.exists()})
    cpu = 0.0
    workers = jobs or os.cpu_count() or 1
    if todo and workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            cpu = sum(c for c, _ in pool.map(_convert, todo, chunksize=4))
    else:
        cpu = sum(_convert(j)[0] for j in todo)
    return outs, cpu


def _wav_seconds(path: Path) -> float:
    return (path.stat().st_size - 44) / 2 / AUDFPRINT_RATE


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run_children(cmds: list[list[str]], quiet: bool) -> float:
    """Run the commands concurrently; CPU seconds (user + system) they used."""
    before = _children_cpu()
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for cmd in cmds
    ]
    for cmd, p in zip(cmds, procs, strict=True):
        _out, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{err[-3000:]}")
        if not quiet:
            print(err.strip().splitlines()[-1] if err.strip() else "", file=sys.stderr)
    return _children_cpu() - before


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def run_audfprint(
    refs: list[Track],
    queries: list[Query],
    workdir: Path,
    *,
    maxtime: int | None = None,
    jobs: int = 1,
    venv: Path | None = None,
    quiet: bool = True,
) -> AudfprintResult:
    """Build an audfprint database of ``refs`` and match every query against it.

    ``jobs`` > 1 splits the queries over that many matcher processes (each loads the database;
    its loading is included in ``match_cpu_s`` and reported in ``details``).
    """
    python = ensure_audfprint(venv)
    workdir.mkdir(parents=True, exist_ok=True)
    ref_wavs, decode_refs = to_wav11k([t.path for t in refs])
    query_wavs, decode_queries = to_wav11k([q.path for q in queries])
    name_of = {str(w): t.name for w, t in zip(ref_wavs, refs, strict=True)}
    if maxtime is None:
        frames = max(_wav_seconds(w) for w in ref_wavs) * AUDFPRINT_RATE / AUDFPRINT_HOP
        maxtime = max(AUDFPRINT_DEFAULT_MAXTIME, 1 << math.ceil(math.log2(frames + 1)))

    db = workdir / "fpdbase.pklz"
    db.unlink(missing_ok=True)
    (workdir / "refs.txt").write_text("".join(f"{w}\n" for w in ref_wavs))
    ingest_summary = workdir / "ingest.summary.json"
    cmd = [str(python), str(RUNNER), "ingest", "--db", str(db), "--list", str(workdir / "refs.txt")]
    cmd += ["--maxtime", str(maxtime), "--summary", str(ingest_summary)]
    if not quiet:
        print(f"[audfprint] ingesting {len(refs)} references", file=sys.stderr, flush=True)
    extract_cpu = _run_children([cmd], quiet)
    ingest_info = json.loads(ingest_summary.read_text())

    jobs = max(1, min(jobs, len(queries)))
    chunks = [list(range(i, len(queries), jobs)) for i in range(jobs)]
    cmds = []
    for j, idx in enumerate(chunks):
        (workdir / f"queries-{j}.txt").write_text("".join(f"{query_wavs[i]}\n" for i in idx))
        cmds.append([
            str(python), str(RUNNER), "match", "--db", str(db),
            "--list", str(workdir / f"queries-{j}.txt"),
            "--out", str(workdir / f"results-{j}.jsonl"),
            "--summary", str(workdir / f"match-{j}.summary.json"),
        ])  # fmt: skip
    if not quiet:
        print(f"[audfprint] matching {len(queries)} queries ({jobs} process(es))", file=sys.stderr)
    match_cpu = _run_children(cmds, quiet)

    by_wav: dict[str, dict[str, Any]] = {}
    match_info = []
    for j in range(jobs):
        for line in (workdir / f"results-{j}.jsonl").read_text().splitlines():
            row = json.loads(line)
            by_wav[row["file"]] = row
        match_info.append(json.loads((workdir / f"match-{j}.summary.json").read_text()))
    matches: dict[str, AudfprintMatch] = {}
    for q, w in zip(queries, query_wavs, strict=True):
        row = by_wav[str(w)]
        matches[q.id] = AudfprintMatch(
            query_id=q.id,
            track=name_of.get(row["name"]) if row["name"] else None,
            offset=row["offset_s"],
            score=int(row["aligned"]),
            raw=int(row["raw"]),
            query_hashes=int(row["query_hashes"]),
            cpu_s=float(row["cpu_s"]),
        )
    return AudfprintResult(
        matches=matches,
        extract_cpu_s=extract_cpu,
        ref_seconds_total=sum(_wav_seconds(w) for w in ref_wavs),
        match_cpu_s=match_cpu,
        query_seconds_total=sum(_wav_seconds(w) for w in query_wavs),
        db_bytes=db.stat().st_size,
        decode_cpu_s=decode_refs + decode_queries,
        details={
            "audfprint": f"{AUDFPRINT_PACKAGE} {AUDFPRINT_VERSION}",
            "maxtime": maxtime,
            "ingest": ingest_info,
            "match": match_info,
            "decode_refs_cpu_s": decode_refs,
            "decode_queries_cpu_s": decode_queries,
        },
    )


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def score(result: AudfprintResult, queries: list[Query], tolerance: float = 1.0) -> dict[str, Any]:
    """Recall per distortion/length (right track, |offset − ref_start| < ``tolerance``) and FPs."""
    cells: dict[str, dict[str, Any]] = {}
    tot = {"pos": 0, "hit": 0, "track_only": 0, "wrong": 0, "neg": 0, "fp": 0}
    for q in queries:
        m = result.matches[q.id]
        key = f"{q.distortion}/{int(q.length)}"
        c = cells.setdefault(
            key, {"pos": 0, "hit": 0, "track_only": 0, "wrong": 0, "neg": 0, "fp": 0}
        )
        if q.track is None:
            c["neg"] += 1
            c["fp"] += m.track is not None
            continue
        c["pos"] += 1
        if m.track == q.track:
            ok = m.offset is not None and abs(m.offset - q.ref_start) < tolerance
            c["hit" if ok else "track_only"] += 1
        elif m.track is not None:
            c["wrong"] += 1
    for c in cells.values():
        for k in tot:
            tot[k] += c[k]
        c["recall"] = c["hit"] / c["pos"] if c["pos"] else None
    by_distortion: dict[str, float | None] = {}
    for d in DISTORTIONS:
        pos = sum(c["pos"] for k, c in cells.items() if k.startswith(f"{d}/"))
        hit = sum(c["hit"] for k, c in cells.items() if k.startswith(f"{d}/"))
        by_distortion[d] = hit / pos if pos else None
    by_length: dict[str, float | None] = {}
    for n in LENGTHS:
        pos = sum(c["pos"] for k, c in cells.items() if k.endswith(f"/{n}"))
        hit = sum(c["hit"] for k, c in cells.items() if k.endswith(f"/{n}"))
        by_length[str(n)] = hit / pos if pos else None
    return {
        "tolerance_s": tolerance,
        "recall": tot["hit"] / tot["pos"] if tot["pos"] else None,
        "right_track_any_offset": (tot["hit"] + tot["track_only"]) / tot["pos"]
        if tot["pos"]
        else None,
        "wrong_track": tot["wrong"],
        "negatives": tot["neg"],
        "false_positives": tot["fp"],
        "by_distortion": by_distortion,
        "by_length": by_length,
        "cells": cells,
    }


def format_report(result: AudfprintResult, s: dict[str, Any]) -> str:
    """A plain-text table of recall per distortion × length, false positives and costs."""
    lines = [
        f"{'distortion':<12}" + "".join(f"{f'{n}s':>8}" for n in LENGTHS) + f"{'all':>8}{'FP':>8}"
    ]
    for d in DISTORTIONS:
        row = ""
        fp = neg = 0
        for n in LENGTHS:
            c = s["cells"].get(f"{d}/{n}")
            row += f"{c['recall']:>8.1%}" if c and c["recall"] is not None else f"{'-':>8}"
            fp += c["fp"] if c else 0
            neg += c["neg"] if c else 0
        r = s["by_distortion"][d]
        lines.append(f"{d:<12}{row}{(f'{r:.1%}' if r is not None else '-'):>8}{f'{fp}/{neg}':>8}")
    by_len = "".join(
        f"{(f'{v:.1%}' if v is not None else '-'):>8}" for v in s["by_length"].values()
    )
    fps = f"{s['false_positives']}/{s['negatives']}"
    lines.append(f"{'all':<12}{by_len}{s['recall']:>8.1%}{fps:>8}")
    lines.append(
        f"right track at any offset {s['right_track_any_offset']:.1%}, "
        f"wrong track {s['wrong_track']}, "
        f"false positives {s['false_positives']}/{s['negatives']} negatives"
    )
    per_hour = result.extract_cpu_s / max(result.ref_seconds_total, 1e-9) * 3600
    lines.append(
        f"extract {result.extract_cpu_s:.1f} CPU-s for {result.ref_seconds_total / 3600:.2f} h "
        f"({per_hour:.1f} CPU-s per hour); "
        f"db {result.db_bytes / 1e6:.2f} MB; match {result.match_cpu_s:.1f} CPU-s for "
        f"{len(result.matches)} queries ({result.query_seconds_total / 60:.1f} min of audio, "
        f"{1000 * result.match_cpu_s / max(len(result.matches), 1):.0f} ms/query); "
        f"WAV decoding (ours) {result.decode_cpu_s:.1f} CPU-s"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: run the baseline on the corpus and print recall, false positives and costs."""
    ap = argparse.ArgumentParser(description="Run audfprint on the audio benchmark.")
    ap.add_argument("--per-cell", type=int, default=40)
    ap.add_argument("--negatives-per-cell", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit-refs", type=int, default=0, help="use only the first N refs/negatives")
    ap.add_argument("--maxtime", type=int, default=None, help="audfprint maxtime (frames)")
    ap.add_argument("--jobs", type=int, default=1, help="matcher processes")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    corpus = build(quiet=True)
    if args.limit_refs:
        corpus = Corpus(corpus.references[: args.limit_refs], corpus.negatives[: args.limit_refs])
    t0 = time.perf_counter()
    queries = make_queries(corpus, args.per_cell, args.negatives_per_cell, args.seed, quiet=False)
    print(f"queries ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    tag = f"p{args.per_cell}-n{args.negatives_per_cell}-s{args.seed}-r{len(corpus.references)}"
    tag += f"-t{args.maxtime or 'auto'}"
    workdir = args.workdir or default_cache_dir() / "audfprint-runs" / tag
    t0 = time.perf_counter()
    result = run_audfprint(
        corpus.references, queries, workdir, maxtime=args.maxtime, jobs=args.jobs, quiet=False
    )
    wall = time.perf_counter() - t0
    s = score(result, queries)
    (workdir / "result.json").write_text(
        json.dumps({"score": s, "result": result.to_json()}, default=str)
    )
    print(format_report(result, s))
    print(f"maxtime {result.details['maxtime']} frames; wall {wall:.1f} s; results in {workdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
