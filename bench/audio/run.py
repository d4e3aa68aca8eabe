"""Music identification benchmark: Jianwang's audio method against audfprint, same run.

    scripts/bench-audio [--smoke] [--per-cell N] [--negatives-per-cell M] [--no-baseline]
                        [--scaling] [--json FILE]

Builds (or reuses) the corpus of real game soundtracks from Debian's packages (`corpus.py`),
cuts 5/10/20 s queries under ten distortions (`queries.py`), registers every reference with
the audio method into an on-disk index exactly as the application does (exact-key index plus
reference store), identifies every query, and prints per distortion and length: recall@1
(right track), recall with the offset within 1 s, wrong-track answers, false positives on the
negatives; then query speed (audio seconds per CPU-second, decoding included), extraction
speed (x real time per core, decoding included) and index bytes per hour of reference audio,
each beside audfprint's on the same queries (`audfprint_baseline.py`).

`--scaling` adds query time against indexes of 5, 50 and 500 hours. The larger ones are padded
with copies of the real references' fingerprints whose time-ratio fields are scrambled per
copy (so they keep the real distribution of keys, but match nothing): synthetic, said so.

`--smoke` runs the whole pipeline on a few synthetic songs in seconds (part of the tests).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.audio.corpus import Corpus, Track
from bench.audio.queries import DISTORTIONS, LENGTHS, Query
from jianwang.domain import Verdict
from jianwang.fingerprint.audio import AudioFingerprinter
from jianwang.fingerprint.base import Candidate, Fingerprints, Hits, Role
from jianwang.index.exact import ExactIndex
from jianwang.index.forward import ReferenceStore
from jianwang.media.audio import Audio, decode_audio


@dataclass
class Answer:
    track: str | None
    offset: float | None
    verdict: str
    inliers: float
    speed: float
    pitch: float
    cpu_s: float
    seconds: float
    #: the reference time at query start implied by every reported segment (a recording that
    #: repeats itself, a loop, is matched at each repetition)
    offsets: tuple[float, ...] = ()


class Ours:
    """The audio method over an on-disk index, as `identify.Identifier` uses it."""

    def __init__(self, root: Path):
        self.method = AudioFingerprinter()
        self.index = ExactIndex(root / "index")
        self.store = ReferenceStore(root / "references")
        self.root = root
        self.names: dict[int, str] = {}
        self._refs: dict[int, Any] = {}

    def add_fingerprints(self, doc: int, fp: Fingerprints, packed: bytes) -> None:
        self.store.put(doc, packed)
        self.index.add(doc, fp.codes, fp.positions)

    def flush(self) -> None:
        with self.index.writing():
            self.index.flush()

    def bytes(self) -> int:
        return sum(f.stat().st_size for f in self.root.rglob("*") if f.is_file())

    def _prepared(self, doc: int) -> Any:
        if doc not in self._refs:
            packed = self.store.get(doc)
            self._refs[doc] = None if packed is None else self.method.unpack_reference(packed)
        return self._refs[doc]

    def identify(self, audio: Audio) -> list[Candidate]:
        fp = self.method.extract(audio, Role.QUERY)
        if len(fp) == 0:
            return []
        found = self.index.lookup(fp.codes)
        hits = Hits(fp.positions[found.query_pos], found.doc, found.ref_pos)
        return self.method.score(fp, hits, self._prepared)


def _answer(ours: Ours, path: Path) -> Answer:
    t0 = time.process_time()
    audio = decode_audio(path)
    cands = ours.identify(audio)
    cpu = time.process_time() - t0
    best = cands[0] if cands else None
    if best is None or best.verdict != Verdict.MATCH:
        # a review answer keeps its inliers (how close a miss or a negative came)
        return Answer(
            None,
            None,
            best.verdict.value if best else "none",
            best.evidence.get("inliers", 0.0) if best else 0.0,
            1.0,
            1.0,
            cpu,
            audio.seconds,
        )
    ev = best.evidence
    return Answer(
        ours.names.get(best.doc, f"doc{best.doc}"),
        float(ev["offset"]),
        best.verdict.value,
        float(ev["inliers"]),
        float(ev["speed"]),
        float(ev["pitch"]),
        cpu,
        audio.seconds,
        tuple(s.ref_start - float(ev["speed"]) * s.query_start for s in best.spans),
    )


def score(
    answers: dict[str, Answer], queries: list[Query], tolerance: float = 1.0
) -> dict[str, Any]:
    cells: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"pos": 0, "track": 0, "hit": 0, "hit_any": 0, "wrong": 0, "neg": 0, "fp": 0}
    )
    speed_err: list[float] = []
    pitch_err: list[float] = []
    for q in queries:
        a = answers[q.id]
        c = cells[f"{q.distortion}/{int(q.length)}"]
        if q.track is None:
            c["neg"] += 1
            c["fp"] += a.track is not None
            continue
        c["pos"] += 1
        if a.track == q.track:
            c["track"] += 1
            if any(abs(o - q.ref_start) < tolerance for o in (*a.offsets, a.offset or -1e9)):
                c["hit_any"] += 1
            if a.offset is not None and abs(a.offset - q.ref_start) < tolerance:
                c["hit"] += 1
                speed_err.append(abs(a.speed / q.speed - 1))
                pitch_err.append(abs(a.pitch / q.pitch - 1))
        elif a.track is not None:
            c["wrong"] += 1

    def total(pred: Any) -> dict[str, int]:
        out = {"pos": 0, "track": 0, "hit": 0, "hit_any": 0, "wrong": 0, "neg": 0, "fp": 0}
        for k, c in cells.items():
            if pred(k):
                for f in out:
                    out[f] += c[f]
        return out

    by_distortion = {d: total(lambda k, d=d: k.startswith(f"{d}/")) for d in DISTORTIONS}
    by_length = {str(n): total(lambda k, n=n: k.endswith(f"/{n}")) for n in LENGTHS}
    every = total(lambda k: True)
    return {
        "tolerance_s": tolerance,
        "cells": dict(cells),
        "by_distortion": by_distortion,
        "by_length": by_length,
        "all": every,
        "recall": every["hit"] / max(every["pos"], 1),
        "recall_any_segment": every["hit_any"] / max(every["pos"], 1),
        "recall_at_1": every["track"] / max(every["pos"], 1),
        "speed_error_median": float(np.median(speed_err)) if speed_err else None,
        "pitch_error_median": float(np.median(pitch_err)) if pitch_err else None,
    }


def _pct(c: dict[str, int], field: str = "hit") -> str:
    return f"{c[field] / c['pos']:.1%}" if c["pos"] else "-"


def report(s: dict[str, Any], base: dict[str, Any] | None) -> str:
    head = f"{'distortion':<12}" + "".join(f"{f'{n}s @1/off':>16}" for n in LENGTHS)
    head += f"{'all':>8}{'wrong':>7}{'FP':>8}" + (f"{'audfprint':>11}" if base else "")
    lines = [head]
    for d in DISTORTIONS:
        row = f"{d:<12}"
        for n in LENGTHS:
            c = s["cells"].get(f"{d}/{n}")
            row += f"{(_pct(c, 'track') + '/' + _pct(c)) if c else '-':>16}"
        t = s["by_distortion"][d]
        row += f"{_pct(t):>8}{t['wrong']:>7}{str(t['fp']) + '/' + str(t['neg']):>8}"
        if base:
            b = base["by_distortion"].get(d)
            row += f"{(f'{b:.1%}' if b is not None else '-'):>11}"
        lines.append(row)
    row = f"{'all':<12}"
    for n in LENGTHS:
        c = s["by_length"][str(n)]
        row += f"{(_pct(c, 'track') + '/' + _pct(c)):>16}"
    t = s["all"]
    row += f"{_pct(t):>8}{t['wrong']:>7}{str(t['fp']) + '/' + str(t['neg']):>8}"
    if base:
        row += f"{base['recall']:>11.1%}"
    lines.append(row)
    return "\n".join(lines)


# ------------------------------------------------------------------ scaling


def _scrambled(fp: Fingerprints, salt: int) -> Fingerprints:
    """The same fingerprints with the two 4-bit time-ratio fields (bits 0-7 of the audio
    method's keys) permuted per copy: a reference with the real distribution of keys that
    matches nothing in particular."""
    rng = np.random.default_rng(salt)
    perm = rng.permutation(16).astype(np.uint64)
    r1 = (fp.codes & np.uint64(15)).astype(np.int64)
    r2 = ((fp.codes >> np.uint64(4)) & np.uint64(15)).astype(np.int64)
    rest = fp.codes & ~np.uint64(0xFF)
    codes = rest | perm[r1] | (perm[r2] << np.uint64(4))
    return Fingerprints(fp.method, fp.version, codes, fp.positions, fp.data)


def scaling(
    fps: dict[int, tuple[Fingerprints, bytes]],
    names: dict[int, str],
    real_hours: float,
    queries: list[Query],
    hours: tuple[float, ...] = (5.0, 50.0, 500.0),
) -> list[dict[str, Any]]:
    out = []
    for target in hours:
        copies = max(1, round(target / real_hours))
        with tempfile.TemporaryDirectory(prefix="jw-scale-") as tmp:
            ours = Ours(Path(tmp))
            ours.names = dict(names)
            doc = 0
            with ours.index.writing():
                for c in range(copies):
                    for d, (fp, packed) in fps.items():
                        doc += 1
                        the_fp = fp if c == 0 else _scrambled(fp, doc)
                        ours.add_fingerprints(d if c == 0 else 100_000 + doc, the_fp, packed)
                ours.index.flush()
                ours.index.compact()  # one segment, as `jianwang index compact` leaves it
            size = ours.bytes()
            cpu = 0.0
            secs = 0.0
            hits = 0
            for q in queries:
                a = _answer(ours, q.path)
                cpu += a.cpu_s
                secs += a.seconds
                hits += a.track == q.track
            out.append(
                {
                    "hours": round(copies * real_hours, 1),
                    "postings": int(
                        sum(len(seg.keys) for sh in ours.index.shards for seg in sh.segments)
                    ),
                    "bytes": size,
                    "queries": len(queries),
                    "ms_per_query": 1000 * cpu / max(len(queries), 1),
                    "x_real_time": secs / max(cpu, 1e-9),
                    "recall_at_1": hits / max(len(queries), 1),
                }
            )
            print(
                f"  {out[-1]['hours']:>7.1f} h  {out[-1]['postings']:>11,} postings  "
                f"{size / 1e6:>8.1f} MB  {out[-1]['ms_per_query']:>7.1f} ms/query  "
                f"{out[-1]['x_real_time']:>6.0f}x real time  recall@1 {out[-1]['recall_at_1']:.1%}",
                flush=True,
            )
    return out


# ------------------------------------------------------------------ smoke corpus


def _synthetic_corpus(root: Path, songs: int, negatives: int) -> Corpus:
    """A few synthetic songs (notes with harmonics and drums), encoded to Ogg Vorbis by
    FFmpeg: real decoding, made-up music. For the smoke run only."""
    from tests.audio_fixtures import encode, song

    refs, negs = [], []
    for i in range(songs + negatives):
        path = root / f"song{i}.ogg"
        path.write_bytes(encode(song(i, 40.0, 22050), 22050, "ogg"))
        t = Track(f"synthetic/song{i}.ogg", path, 40.0, "synthetic")
        (refs if i < songs else negs).append(t)
    return Corpus(refs, negs)


def _smoke_queries(corpus: Corpus, root: Path) -> list[Query]:
    from bench.audio.corpus import decode_mono
    from bench.audio.queries import SAMPLE_RATE, distort, time_factors, write_wav

    rng = np.random.default_rng(0)
    out = []
    for k, d in enumerate(("clean", "speed_+5", "pitch_+1", "noise_10db")):
        for j, track in enumerate(corpus.references[:3] + corpus.negatives[:1]):
            x = decode_mono(track.path, SAMPLE_RATE)
            speed, pitch = time_factors(d)
            start = 5.0 + 3 * j
            y = distort(d, x, int(start * SAMPLE_RATE), int(10 * SAMPLE_RATE), rng)
            path = root / f"q{k}-{j}.wav"
            write_wav(path, y)
            is_ref = track in corpus.references
            out.append(
                Query(
                    f"q{k}-{j}",
                    path,
                    d,
                    10.0,
                    track.name if is_ref else None,
                    start,
                    speed,
                    pitch,
                    track.name,
                )
            )
    return out


# ------------------------------------------------------------------ main


def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="jw-bench-audio-"))
    try:
        if args.smoke:
            corpus = _synthetic_corpus(tmp, 5, 1)
            queries = _smoke_queries(corpus, tmp)
        else:
            from bench.audio.corpus import build
            from bench.audio.queries import make_queries

            corpus = build(quiet=False)
            queries = make_queries(
                corpus, args.per_cell, args.negatives_per_cell, args.seed, quiet=False
            )
        print(
            f"corpus: {len(corpus.references)} references "
            f"({sum(t.seconds for t in corpus.references) / 3600:.2f} h), "
            f"{len(corpus.negatives)} negative tracks; {len(queries)} queries",
            flush=True,
        )
        ours = Ours(tmp / "jianwang")
        t0 = time.process_time()
        ref_seconds = 0.0
        decode_cpu = 0.0
        fps: dict[int, tuple[Fingerprints, bytes]] = {}
        for doc, track in enumerate(corpus.references, 1):
            d0 = time.process_time()
            audio = decode_audio(track.path)
            decode_cpu += time.process_time() - d0
            ref_seconds += audio.seconds
            fp = ours.method.extract(audio, Role.REFERENCE)
            packed = ours.method.pack_reference(fp.data)
            with ours.index.writing():
                ours.add_fingerprints(doc, fp, packed)
            ours.names[doc] = track.name
            if args.scaling:
                fps[doc] = (fp, packed)
        ours.flush()
        extract_cpu = time.process_time() - t0
        index_bytes = ours.bytes()
        print(
            f"jianwang: registered {ref_seconds / 3600:.2f} h in {extract_cpu:.1f} CPU-s "
            f"({ref_seconds / extract_cpu:.0f}x real time per core, decoding included; "
            f"{ref_seconds / max(extract_cpu - decode_cpu, 1e-9):.0f}x without the "
            f"{decode_cpu:.1f} CPU-s of decoding); "
            f"index + reference store {index_bytes / 1e6:.2f} MB "
            f"= {index_bytes / (ref_seconds / 3600) / 1e6:.2f} MB per hour",
            flush=True,
        )
        answers: dict[str, Answer] = {}
        for i, q in enumerate(queries, 1):
            answers[q.id] = _answer(ours, q.path)
            if i % 100 == 0:
                print(f"  {i}/{len(queries)} queries", file=sys.stderr, flush=True)
        q_cpu = sum(a.cpu_s for a in answers.values())
        q_secs = sum(a.seconds for a in answers.values())
        s = score(answers, queries)
        base_s = None
        base_info: dict[str, Any] = {}
        if not args.smoke and not args.no_baseline:
            from bench.audio.audfprint_baseline import run_audfprint
            from bench.audio.audfprint_baseline import score as base_score
            from bench.audio.corpus import default_cache_dir

            work = default_cache_dir() / "audfprint-runs" / f"bench-p{args.per_cell}"
            res = run_audfprint(corpus.references, queries, work, quiet=True)
            base_s = base_score(res, queries)
            base_info = {
                "extract_x_real_time": res.ref_seconds_total / max(res.extract_cpu_s, 1e-9),
                # audfprint reads 11,025 Hz WAV; the conversion (all refs and queries) was ours
                "wav_conversion_cpu_s": res.decode_cpu_s,
                "query_x_real_time": res.query_seconds_total / max(res.match_cpu_s, 1e-9),
                "mb_per_hour": res.db_bytes / (res.ref_seconds_total / 3600) / 1e6,
                "false_positives": base_s["false_positives"],
                "wrong_track": base_s["wrong_track"],
            }
        print()
        print("Jianwang: recall@1 (right track) / with offset within 1 s; then all, wrong, FP")
        print(report(s, base_s))
        print(
            f"recall with the offset of any reported segment within 1 s (a looping recording "
            f"matches at each repetition): {s['recall_any_segment']:.1%}; by distortion: "
            + ", ".join(f"{d} {_pct(t, 'hit_any')}" for d, t in s["by_distortion"].items())
        )
        print(
            f"negatives: {s['all']['fp']} false positives of {s['all']['neg']}; "
            f"wrong-track answers {s['all']['wrong']}; median speed error "
            f"{(s['speed_error_median'] or 0):.2%}, pitch error {(s['pitch_error_median'] or 0):.2%}"
        )
        ours_q = q_secs / max(q_cpu, 1e-9)
        ours_x = ref_seconds / max(extract_cpu, 1e-9)
        ours_x_nodecode = ref_seconds / max(extract_cpu - decode_cpu, 1e-9)
        ours_mb = index_bytes / (ref_seconds / 3600) / 1e6
        print(
            f"query speed {ours_q:.0f}x real time per core "
            f"({1000 * q_cpu / max(len(queries), 1):.0f} ms per query, decoding included)"
        )
        if base_s:
            # audfprint reads WAV that we decoded for it; charge it the same decoding we paid
            base_with_decode = ref_seconds / (
                ref_seconds / base_info["extract_x_real_time"] + decode_cpu
            )
            base_info["extract_x_real_time_with_decoding"] = base_with_decode
            print(
                f"audfprint: recall {base_s['recall']:.1%}, FP {base_s['false_positives']}"
                f"/{base_s['negatives']}, wrong {base_s['wrong_track']}; "
                f"extraction {base_info['extract_x_real_time']:.0f}x, "
                f"query {base_info['query_x_real_time']:.0f}x real time, "
                f"{base_info['mb_per_hour']:.2f} MB/h"
            )
            print(
                f"ratios (Jianwang / audfprint, same run): recall "
                f"{s['recall'] / max(base_s['recall'], 1e-9):.2f}x, extraction speed "
                f"{ours_x_nodecode / base_info['extract_x_real_time']:.2f}x from decoded audio "
                f"({ours_x / base_with_decode:.2f}x with the same decoding of the Ogg/Opus "
                f"files charged to both), query speed "
                f"{ours_q / base_info['query_x_real_time']:.2f}x, index size "
                f"{ours_mb / base_info['mb_per_hour']:.2f}x"
            )
        out: dict[str, Any] = {
            "jianwang": s,
            "extract_x_real_time": ours_x,
            "extract_x_real_time_without_decoding": ours_x_nodecode,
            "query_x_real_time": ours_q,
            "mb_per_hour": ours_mb,
            "baseline": base_s,
            "baseline_costs": base_info,
            "answers": [
                {
                    "id": q.id,
                    "distortion": q.distortion,
                    "length": q.length,
                    "truth": q.track,
                    "ref_start": q.ref_start,
                    **{k: getattr(answers[q.id], k) for k in Answer.__dataclass_fields__},
                }
                for q in queries
            ],
        }
        if args.scaling:
            print("scaling (hours of index; padding beyond the real corpus is synthetic):")
            sample = [q for q in queries if q.track is not None and q.length == 10][::4]
            out["scaling"] = scaling(fps, ours.names, ref_seconds / 3600, sample)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="synthetic songs, seconds")
    ap.add_argument("--per-cell", type=int, default=40)
    ap.add_argument("--negatives-per-cell", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-baseline", action="store_true", help="skip audfprint")
    ap.add_argument("--scaling", action="store_true", help="query time at 5, 50, 500 hours")
    ap.add_argument("--json", type=Path, help="write all figures here")
    args = ap.parse_args(argv)
    out = run(args)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
