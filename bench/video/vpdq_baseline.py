"""vPDQ (Meta's video PDQ, PyPI ``vpdq``) as the baseline of the video benchmark.

vPDQ runs *beside* the project: ``vpdq`` (pinned to ``VPDQ_VERSION``) is built from its sdist in
its own virtualenv under ``<cache>/vpdq-venv`` — it compiles against the system's libav*
libraries, so ``pkg-config`` and ``libavcodec-dev libavformat-dev libavutil-dev libswscale-dev``
(``libavdevice-dev libavfilter-dev`` too) are installed with ``apt-get install`` when
``pkg-config`` cannot find them — and driven by ``_vpdq_runner.py`` with that venv's Python.

vPDQ decodes the original files itself (its libav integration) at one hash per second (the
binding's default), one thread; matching is its brute-force matcher with its shipped thresholds
(quality >= 50, Hamming distance < 31, >= 80 % of the query's frames matched, >= 0 % of the
reference's), see the runner. Note that the 80 % query threshold is meant for whole-video
matching: a query whose copied excerpt is less than 80 % of it (our queries splice 3–10 s of
unrelated footage on each side) can only match when filler frames happen to match too. The
per-reference percentages are kept in the result (``details``) for other thresholds.

Costs: hashing CPU seconds per file (measured inside the runner around ``computeHash``, decoding
included), matching CPU seconds per query, and the index size as 32 bytes of hash + 4 bytes of
timestamp per kept reference feature (vPDQ stores nothing else) plus the JSON size actually
written.

Command line (on the benchmark's corpus and queries)::

    python -m bench.video.vpdq_baseline [--per-family N] [--smoke DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.video.corpus import default_cache_dir
from bench.video.metrics import Found

VPDQ_PACKAGE = "vpdq"
VPDQ_VERSION = "0.2.5"
RUNNER = Path(__file__).with_name("_vpdq_runner.py")
APT_PACKAGES = (
    "pkg-config",
    "libavcodec-dev",
    "libavformat-dev",
    "libavutil-dev",
    "libswscale-dev",
    "libavdevice-dev",
    "libavfilter-dev",
)
BYTES_PER_FEATURE = 36


class VpdqUnavailable(RuntimeError):
    """vpdq could not be installed; the message says why."""


@dataclass(slots=True)
class VpdqResult:
    answers: dict[str, list[Found]]
    hash_cpu_s: dict[str, float]  # file -> CPU seconds of computeHash
    match_cpu_s: dict[str, float]  # query id -> CPU seconds of matching
    index_bytes: int
    index_json_bytes: int
    details: dict[str, Any] = field(default_factory=dict)


def _libav_ok() -> bool:
    try:
        done = subprocess.run(
            ["pkg-config", "--exists", "libavcodec", "libavformat", "libavutil", "libswscale"],
            capture_output=True,
        )
    except FileNotFoundError:
        return False
    return done.returncode == 0


def ensure_vpdq(venv: Path | None = None, quiet: bool = True) -> Path:
    """Create the vpdq virtualenv if needed (apt-get the libav dev packages first); its Python."""
    venv = (venv or default_cache_dir() / "vpdq-venv").expanduser()
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m, vpdq; print(m.version('vpdq'))"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == VPDQ_VERSION:
            return python
    if not _libav_ok():
        if not quiet:
            print(f"[vpdq] apt-get install {' '.join(APT_PACKAGES)}", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = ["apt-get", "install", "-y", "-q", *APT_PACKAGES]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, env=env)
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0 or not _libav_ok():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise VpdqUnavailable(f"libav development packages missing: {' | '.join(tail)}")
    base = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    )
    subprocess.run(
        [str(base if base.exists() else sys.executable), "-m", "venv", str(venv)], check=True
    )
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"{VPDQ_PACKAGE}=={VPDQ_VERSION}"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise VpdqUnavailable(f"pip install vpdq=={VPDQ_VERSION} failed: {' | '.join(tail)}")
    return python


def _key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def hash_files(
    python: Path, files: Sequence[Path], cache: Path, jobs: int = 2, quiet: bool = True
) -> dict[str, dict[str, Any]]:
    """vPDQ hashes of ``files`` (cached per file content key): file -> runner row."""
    cache.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict[str, Any]] = {}
    todo = []
    for f in files:
        c = cache / f"{_key(f)}.json"
        if c.exists():
            rows[str(f)] = json.loads(c.read_text())
        else:
            todo.append(f)
    if todo:
        if not quiet:
            print(f"[vpdq] hashing {len(todo)} files", file=sys.stderr, flush=True)
        jobs = max(1, min(jobs, len(todo)))
        procs = []
        for j in range(jobs):
            lst = cache / f"todo-{os.getpid()}-{j}.txt"
            lst.write_text("".join(f"{f}\n" for f in todo[j::jobs]))
            out = cache / f"out-{os.getpid()}-{j}.jsonl"
            cmd = [str(python), str(RUNNER), "hash", "--list", str(lst), "--out", str(out)]
            procs.append((subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True), lst, out))
        for p, lst, out in procs:
            _o, err = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"vpdq hashing failed ({p.returncode}): {err[-2000:]}")
            for line in out.read_text().splitlines():
                row = json.loads(line)
                f = Path(row["file"])
                (cache / f"{_key(f)}.json").write_text(json.dumps(row))
                rows[row["file"]] = row
            lst.unlink()
            out.unlink()
    return rows


def run_vpdq(
    refs: Sequence[tuple[str, Path]],
    queries: Sequence[tuple[str, Path]],
    workdir: Path,
    *,
    jobs: int = 2,
    venv: Path | None = None,
    quiet: bool = True,
) -> VpdqResult:
    """Hash references and queries with vPDQ and match every query against every reference."""
    python = ensure_vpdq(venv, quiet)
    workdir.mkdir(parents=True, exist_ok=True)
    hcache = workdir / "hashes"
    rows = hash_files(python, [p for _, p in [*refs, *queries]], hcache, jobs, quiet)
    name_of = {str(p): rid for rid, p in refs}
    ref_lines = [json.dumps(rows[str(p)]) for _, p in refs]
    (workdir / "refs.jsonl").write_text("\n".join(ref_lines) + "\n")
    json_bytes = (workdir / "refs.jsonl").stat().st_size
    kept = 0
    for _, p in refs:
        hexes = {h for h, q, _f, _t in rows[str(p)]["features"] if q >= 50}
        kept += len(hexes)
    # matching, split over ``jobs`` processes
    qids = {str(p): qid for qid, p in queries}
    jobs = max(1, min(jobs, len(queries)))
    procs = []
    t0 = time.perf_counter()
    for j in range(jobs):
        ql = workdir / f"queries-{j}.jsonl"
        ql.write_text("".join(json.dumps(rows[str(p)]) + "\n" for _, p in queries[j::jobs]))
        out = workdir / f"results-{j}.jsonl"
        cmd = [str(python), str(RUNNER), "match", "--refs", str(workdir / "refs.jsonl")]
        cmd += ["--queries", str(ql), "--out", str(out)]
        procs.append((subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True), out))
    answers: dict[str, list[Found]] = {}
    match_cpu: dict[str, float] = {}
    percents: dict[str, list[dict[str, Any]]] = {}
    for p, out in procs:
        _o, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"vpdq matching failed ({p.returncode}): {err[-2000:]}")
        for line in out.read_text().splitlines():
            row = json.loads(line)
            qid = qids[row["file"]]
            match_cpu[qid] = float(row["cpu_s"])
            percents[qid] = [
                {"ref": name_of[f["ref"]], "query_pct": round(f["query_pct"], 1),
                 "ref_pct": round(f["ref_pct"], 1)}
                for f in row["found"]
            ]  # fmt: skip
            answers[qid] = [
                Found(
                    name_of[f["ref"]],
                    f["q_start"],
                    f["q_end"],
                    f["r_start"],
                    f["r_end"],
                    f["query_pct"],
                )
                for f in row["found"]
                if f["match"]
            ]
    errors = {f: r["error"] for f, r in rows.items() if r.get("error")}
    return VpdqResult(
        answers=answers,
        hash_cpu_s={f: float(r["cpu_s"]) for f, r in rows.items()},
        match_cpu_s=match_cpu,
        index_bytes=kept * BYTES_PER_FEATURE,
        index_json_bytes=json_bytes,
        details={
            "vpdq": f"{VPDQ_PACKAGE} {VPDQ_VERSION}",
            "match_wall_s": time.perf_counter() - t0,
            "percents": percents,
            "errors": errors,
            "features": {name_of.get(f, f): len(r["features"]) for f, r in rows.items()},
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: run vPDQ alone on the benchmark's queries and print its scores."""
    from bench.video.corpus import build, build_smoke
    from bench.video.metrics import Truth, score_videos
    from bench.video.queries import DEFAULT_PER_FAMILY, SMOKE_CONFIG, QueryConfig, make_queries

    ap = argparse.ArgumentParser(description="Run vPDQ on the video benchmark.")
    ap.add_argument("--per-family", type=int, default=DEFAULT_PER_FAMILY)
    ap.add_argument("--smoke", type=Path, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    if args.smoke:
        corpus, cfg = build_smoke(args.smoke), SMOKE_CONFIG
    else:
        corpus, cfg = build(), QueryConfig(per_family=args.per_family)
    qs = make_queries(corpus, cfg)
    root = corpus.root or default_cache_dir()
    res = run_vpdq(
        [(v.name, v.path) for v in corpus.references],
        [(q.id, q.path) for q in qs.videos],
        root / "vpdq-runs",
        jobs=args.jobs,
        quiet=False,
    )
    truths = {
        q.id: Truth(q.family, q.ref, (q.q_start, q.q_end, q.r_start, q.r_end), q.seconds)
        for q in qs.videos
    }
    print(json.dumps(score_videos(res.answers, truths), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
