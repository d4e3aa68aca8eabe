"""Run vPDQ (PyPI ``vpdq``, Meta's video PDQ) on video files, and match them brute force.

Executed with the *vpdq* virtualenv's Python (not the project's); imports nothing from the
project and needs nothing but ``vpdq`` and the standard library.

    python _vpdq_runner.py hash --list files.txt --out hashes.jsonl
    python _vpdq_runner.py match --refs refs.jsonl --queries queries.jsonl --out results.jsonl

``hash`` calls ``vpdq.computeHash(path, seconds_per_hash=1.0, thread_count=1)`` (the binding's
default of one hash per second; one thread so that CPU time is per core) and writes one JSON line
per file: ``file``, ``features`` ([hex, quality, frame, timestamp], ...), ``cpu_s`` (process CPU
time of the call), ``error``.

``match`` is vPDQ's brute-force matcher (``vpdq_brute_matcher.match_VPDQ_hash_brute`` of
ThreatExchange, re-implemented on Python integers): both feature lists are de-duplicated by hash
and quality-filtered (quality >= 50), a feature matches when some feature of the other side is at
Hamming distance < 31; ``query_pct`` is the share of query features with a match in the
reference, ``ref_pct`` the share of reference features with a match in the query. A reference
is reported when ``query_pct >= 80`` and ``ref_pct >= 0`` (``VPDQ_QUERY_MATCH_THRESHOLD_PERCENT``
and ``VPDQ_INDEX_MATCH_THRESHOLD_PERCENT`` of ThreatExchange's ``vpdq_util``). For localisation
the matched query/reference timestamps give ``[min, max + 1 s)`` ranges.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

QUALITY_THRESHOLD = 50
DISTANCE_THRESHOLD = 31
QUERY_MATCH_PERCENT = 80.0
INDEX_MATCH_PERCENT = 0.0
SECONDS_PER_HASH = 1.0


def _hash(list_path: str, out: str) -> None:
    import vpdq

    files = [x for x in Path(list_path).read_text().splitlines() if x.strip()]
    with open(out, "w") as fh:
        for f in files:
            t0 = time.process_time()
            err = None
            feats: list[list[Any]] = []
            try:
                res = vpdq.computeHash(f, seconds_per_hash=SECONDS_PER_HASH, thread_count=1)
                feats = [
                    [x.hex, int(x.quality), int(x.frame_number), float(x.timestamp)] for x in res
                ]
            except Exception as e:  # vpdq raises plain exceptions on undecodable files
                err = f"{type(e).__name__}: {e}"
            cpu = time.process_time() - t0
            fh.write(json.dumps({"file": f, "features": feats, "cpu_s": cpu, "error": err}) + "\n")
            fh.flush()


def _prepare(feats: list[list[Any]]) -> list[tuple[int, float]]:
    """De-duplicated (by hash), quality-filtered (hash as int, timestamp)."""
    seen: set[str] = set()
    out = []
    for hx, q, _frame, ts in feats:
        if q < QUALITY_THRESHOLD or hx in seen:
            continue
        seen.add(hx)
        out.append((int(hx, 16), float(ts)))
    return out


def _matched(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> list[tuple[float, float]]:
    """For each feature of ``a`` with a match in ``b``: (its timestamp, the first match's)."""
    out = []
    for ha, ta in a:
        for hb, tb in b:
            if (ha ^ hb).bit_count() < DISTANCE_THRESHOLD:
                out.append((ta, tb))
                break
    return out


def _match(refs_path: str, queries_path: str, out: str) -> None:
    refs = [json.loads(x) for x in Path(refs_path).read_text().splitlines() if x.strip()]
    queries = [json.loads(x) for x in Path(queries_path).read_text().splitlines() if x.strip()]
    prepared = [(r["file"], _prepare(r["features"])) for r in refs]
    with open(out, "w") as fh:
        for q in queries:
            t0 = time.process_time()
            qf = _prepare(q["features"])
            found = []
            for name, rf in prepared:
                if not qf or not rf:
                    continue
                qm = _matched(qf, rf)
                if not qm:
                    continue
                rm = _matched(rf, qf)
                q_pct = 100.0 * len(qm) / len(qf)
                r_pct = 100.0 * len(rm) / len(rf)
                qs = [t for t, _ in qm]
                rs = [t for t, _ in rm]
                found.append({
                    "ref": name, "query_pct": q_pct, "ref_pct": r_pct,
                    "match": q_pct >= QUERY_MATCH_PERCENT and r_pct >= INDEX_MATCH_PERCENT,
                    "q_start": min(qs), "q_end": max(qs) + SECONDS_PER_HASH,
                    "r_start": min(rs) if rs else 0.0,
                    "r_end": (max(rs) if rs else 0.0) + SECONDS_PER_HASH,
                })  # fmt: skip
            cpu = time.process_time() - t0
            fh.write(json.dumps({"file": q["file"], "found": found, "cpu_s": cpu}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hash")
    h.add_argument("--list", required=True)
    h.add_argument("--out", required=True)
    m = sub.add_parser("match")
    m.add_argument("--refs", required=True)
    m.add_argument("--queries", required=True)
    m.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "hash":
        _hash(a.list, a.out)
    else:
        _match(a.refs, a.queries, a.out)


if __name__ == "__main__":
    main()
