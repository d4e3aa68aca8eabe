"""Run audfprint2 (Dan Ellis's audfprint, PyPI fork) on pre-converted WAV files.

Executed with the *audfprint* virtualenv's Python (not the project's); imports nothing from the
project. Inputs must be 16-bit mono WAV at 11,025 Hz: audfprint's reader is switched to its own
built-in no-ffmpeg path (``audfprint2.utils.audio.HAVE_FFMPEG = False``: ``scipy.io.wavfile``,
samples / 32768), which is exactly what audfprint does when told there is no ffmpeg. Analysis and
matching parameters are audfprint's command-line defaults, taken from its own argument parser.

    python _audfprint_runner.py ingest --db DB.pklz --list refs.txt [--maxtime N]
    python _audfprint_runner.py match --db DB.pklz --list queries.txt --out results.jsonl

``match`` writes one JSON line per query: ``file``, ``name`` (best reference file or null),
``aligned`` (time-consistent matching hashes), ``raw`` (all common hashes), ``offset_frames``
(audfprint's ``aligntime``: reference frame minus query frame), ``offset_s`` (times the hop,
256 / 11,025 s), ``query_hashes``, ``cpu_s``. A ``*.summary.json`` next to ``--out`` (or the
database) gives CPU seconds spent loading and in the loop.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import audfprint2.utils.audio as afp_audio
import numpy as np
from audfprint2 import cli
from audfprint2.core import hash_table

afp_audio.HAVE_FFMPEG = False


def _files(list_path: str) -> list[str]:
    return [line.rstrip("\n") for line in Path(list_path).read_text().splitlines() if line.strip()]


def _defaults(cmd: str, db: str) -> argparse.Namespace:
    return cli.parse_args([cmd, "-d", db])


def _analyzer(args: argparse.Namespace, is_match: bool) -> object:
    return cli.setup_analyzer(
        args.density,
        is_match,
        args.pks_per_frame,
        args.fanout,
        args.freq_sd,
        args.shifts,
        args.samplerate,
        args.continue_on_error,
        None,
    )


def ingest(db: str, list_path: str, maxtime: int | None) -> dict[str, object]:
    """Build a new database from the listed WAV files and save it (like ``audfprint new``)."""
    args = _defaults("new", db)
    analyzer = _analyzer(args, is_match=False)
    maxtime = maxtime or args.maxtime
    ht = hash_table.HashTable(hashbits=args.hashbits, depth=args.bucketsize, maxtime=maxtime)
    ht.params["samplerate"] = analyzer.target_sr  # type: ignore[attr-defined]
    t0 = time.process_time()
    nhashes = 0
    files = _files(list_path)
    for f in files:
        _dur, n = analyzer.ingest(ht, f)  # type: ignore[attr-defined]
        nhashes += n
    t1 = time.process_time()
    saved = ht.save(db)
    t2 = time.process_time()
    return {
        "files": len(files),
        "hashes": nhashes,
        "seconds": analyzer.soundfiletotaldur,  # type: ignore[attr-defined]
        "analysis_cpu_s": t1 - t0,
        "save_cpu_s": t2 - t1,
        "db": saved,
        "maxtime": maxtime,
        "params": {
            "density": args.density,
            "fanout": args.fanout,
            "pks_per_frame": args.pks_per_frame,
            "freq_sd": args.freq_sd,
            "hashbits": args.hashbits,
            "bucketsize": args.bucketsize,
            "samplerate": args.samplerate,
        },
    }


def match(db: str, list_path: str, out: str) -> dict[str, object]:
    """Match every listed query against the database (like ``audfprint match``)."""
    args = _defaults("match", db)
    t0 = time.process_time()
    ht = hash_table.HashTable(db)
    t1 = time.process_time()
    analyzer = _analyzer(args, is_match=True)
    matcher = cli.setup_matcher(
        args.match_win,
        args.search_depth,
        args.min_count,
        args.max_matches,
        args.exact_count,
        args.find_time_range,
        args.time_quantile,
        args.sortbytime,
        args.illustrate,
        args.illustrate_hpf,
    )
    t_hop = analyzer.n_hop / analyzer.target_sr  # type: ignore[attr-defined]
    files = _files(list_path)
    with open(out, "w") as fh:
        for f in files:
            q0 = time.process_time()
            rslts, _dur, nhash = matcher.match_file(analyzer, ht, f)
            row: dict[str, object] = {
                "file": f,
                "name": None,
                "aligned": 0,
                "raw": 0,
                "offset_frames": None,
                "offset_s": None,
                "query_hashes": int(nhash),
            }
            if len(rslts):
                tophit, aligned, aligntime, raw = (int(v) for v in np.asarray(rslts[0])[:4])
                row.update(
                    name=ht.names[tophit],
                    aligned=aligned,
                    raw=raw,
                    offset_frames=aligntime,
                    offset_s=aligntime * t_hop,
                )
            row["cpu_s"] = time.process_time() - q0
            fh.write(json.dumps(row) + "\n")
    t2 = time.process_time()
    return {
        "queries": len(files),
        "load_cpu_s": t1 - t0,
        "loop_cpu_s": t2 - t1,
        "t_hop": t_hop,
        "shifts": analyzer.shifts,  # type: ignore[attr-defined]
        "maxtime": 1 << int(ht.maxtimebits),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["ingest", "match"])
    ap.add_argument("--db", required=True)
    ap.add_argument("--list", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--maxtime", type=int, default=None)
    ap.add_argument("--summary", default=None)
    a = ap.parse_args(argv)
    if a.cmd == "ingest":
        summary = ingest(a.db, a.list, a.maxtime)
    else:
        if not a.out:
            ap.error("match needs --out")
        summary = match(a.db, a.list, a.out)
    text = json.dumps(summary, default=str)
    if a.summary:
        Path(a.summary).write_text(text)
    print(text, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
