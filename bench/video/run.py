"""Video and image identification benchmark: Jianwang's method against vPDQ, same run.

    scripts/bench-video [--smoke] [--method ours|pdq-naive] [--per-family N] [--no-baseline]
                        [--scaling] [--json FILE]

Builds (or reuses) the corpus (`corpus.py`: real videos and photographs from Debian packages,
plus synthetic photo films, each marked), renders the queries (`queries.py`: 12 distortion
families of spliced excerpts, negatives >= 30 min, image queries), registers every reference
with the method, identifies every query, and prints per family: video-level recall for the
method and vPDQ; VCSL-style segment precision/recall/F1 (`metrics.py`); false alarms per hour of
unrelated video; extraction speed (× real time per core, CPU time of this process, decoding
included) on a 480p and a 1080p clip; index bytes per hour of registered video; query latency;
and the image table (recall per family, false positives on unrelated photographs).

The method is reached through the `Method` protocol below. `Ours` is the project's frame and
keypoint methods (`bench/video/ours.py`); `PdqNaive` is a deliberately simple reference
implementation (whole-frame PDQ once per second, brute-force matching) that exercises the
harness end to end.

`--scaling` calls the method's optional `pad(hours)` (synthetic filler entries in its index) and
times a sample of queries against indexes padded to 10, 100 and 1,000 hours.

`--smoke` runs everything on a tiny synthetic corpus in a few seconds (vPDQ only if its venv is
already installed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bench.video.corpus import Corpus, build, build_smoke, default_cache_dir
from bench.video.media import FrameReader, load_photo, probe
from bench.video.metrics import Found, Truth, score_images, score_videos
from bench.video.queries import (
    DEFAULT_PER_FAMILY,
    FAMILIES,
    IMAGE_FAMILIES,
    SMOKE_CONFIG,
    QueryConfig,
    QuerySet,
    make_image_queries,
    make_queries,
    speed_clips,
)

__all__ = ["Found", "Method", "Ours", "PdqNaive"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})


@runtime_checkable
class Method(Protocol):
    """What the harness needs from a video/image identification method.

    ``register`` adds one reference (``kind`` is ``"video"`` or ``"image"``); ``finish`` is
    called once after the last one; ``identify`` returns every reference the method reports for
    a query file, with the matched query/reference time ranges (images: 0 for all times).
    Optional: ``pad(hours: float) -> None`` adds synthetic entries equivalent to that many hours
    of video to the index (for ``--scaling``).
    """

    name: str

    def register(self, ref_id: str, path: Path, kind: str) -> None: ...

    def finish(self) -> None: ...

    def index_bytes(self) -> int: ...

    def identify(self, path: Path) -> list[Found]: ...


# ============================================================================================
# The project's method
# ============================================================================================


def Ours(workdir: Path) -> Method:
    """Jianwang's frame and keypoint methods (`bench/video/ours.py`)."""
    from bench.video.ours import Jianwang

    return Jianwang(workdir)


# ============================================================================================
# Reference implementation: whole-frame PDQ once per second, brute force
# ============================================================================================


def _pdq(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    import pdqhash

    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(np.asarray(bits, dtype=np.uint8)), int(quality)


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances of packed 256-bit hashes: (n, 32) × (m, 32) uint8 -> (n, m)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.uint16)
    a64 = np.ascontiguousarray(a).view(np.uint64)
    b64 = np.ascontiguousarray(b).view(np.uint64)
    out = np.zeros((len(a), len(b)), dtype=np.uint16)
    for w in range(4):
        out += np.bitwise_count(np.bitwise_xor(a64[:, w, None], b64[None, :, w]))
    return out


class PdqNaive:
    """Whole-frame PDQ hash once per second (frames of quality < 50 skipped), brute force.

    Queries are hashed every 0.25 s (so that some query frame lies within 0.125 s of each
    reference sample). A query frame matches a reference second at Hamming distance <= 31; per reference the
    matched pairs are reduced to the ones within ±2 s of the median time offset, and the
    reference is reported when at least ``min_matches`` query frames remain. Images: one PDQ
    hash per photo, distance <= 31. No flip/crop invariance: a floor, not a competitor.
    """

    name = "pdq-naive"
    STEP = 1.0
    QUERY_STEP = 0.25
    DIST = 31
    MIN_QUALITY = 50

    def __init__(self, workdir: Path | None = None, min_matches: int = 3):
        self.min_matches = min_matches
        self._v_hash: list[np.ndarray] = []
        self._v_ref: list[int] = []
        self._v_t: list[float] = []
        self._i_hash: list[np.ndarray] = []
        self._i_ref: list[int] = []
        self.names: list[str] = []
        self.vh = np.zeros((0, 32), np.uint8)
        self.vr = np.zeros(0, np.int32)
        self.vt = np.zeros(0, np.float32)
        self.ih = np.zeros((0, 32), np.uint8)
        self.ir = np.zeros(0, np.int32)

    def _video_hashes(self, path: Path, step: float) -> list[tuple[float, np.ndarray]]:
        out = []
        secs = probe(path).seconds
        with FrameReader(path, (256, 256)) as r:
            t = 0.0
            while t < max(secs, step) - 1e-3:
                h, q = _pdq(r.at(t))
                if q >= self.MIN_QUALITY:
                    out.append((t, h))
                t += step
        return out

    def register(self, ref_id: str, path: Path, kind: str) -> None:
        self.names.append(ref_id)
        idx = len(self.names) - 1
        if kind == "image":
            h, _q = _pdq(load_photo(path, 512))
            self._i_hash.append(h)
            self._i_ref.append(idx)
            return
        for t, h in self._video_hashes(path, self.STEP):
            self._v_hash.append(h)
            self._v_ref.append(idx)
            self._v_t.append(t)

    def finish(self) -> None:
        if self._v_hash:
            self.vh = np.concatenate([self.vh, np.stack(self._v_hash)])
            self.vr = np.concatenate([self.vr, np.asarray(self._v_ref, np.int32)])
            self.vt = np.concatenate([self.vt, np.asarray(self._v_t, np.float32)])
        if self._i_hash:
            self.ih = np.concatenate([self.ih, np.stack(self._i_hash)])
            self.ir = np.concatenate([self.ir, np.asarray(self._i_ref, np.int32)])
        self._v_hash, self._v_ref, self._v_t, self._i_hash, self._i_ref = [], [], [], [], []

    def index_bytes(self) -> int:
        return int(
            self.vh.nbytes + self.vr.nbytes + self.vt.nbytes + self.ih.nbytes + self.ir.nbytes
        )

    def pad(self, hours: float) -> None:
        """Add random hashes (one per second) up to ``hours`` of padded video in the index."""
        want = int(hours * 3600) - len(self.vh)
        if want <= 0:
            return
        rng = np.random.default_rng(len(self.vh))
        self.vh = np.concatenate([self.vh, rng.integers(0, 256, (want, 32), dtype=np.uint8)])
        self.vr = np.concatenate([self.vr, np.full(want, -1, np.int32)])
        self.vt = np.concatenate([self.vt, np.zeros(want, np.float32)])

    def identify(self, path: Path) -> list[Found]:
        if path.suffix.lower() in IMAGE_SUFFIXES:
            h, _q = _pdq(load_photo(path, 512))
            d = _hamming(h[None, :], self.ih)[0]
            return [
                Found(self.names[self.ir[i]], score=float(256 - d[i]))
                for i in np.nonzero(d <= self.DIST)[0]
            ]
        qh = self._video_hashes(path, self.QUERY_STEP)
        if not qh:
            return []
        qt = np.asarray([t for t, _ in qh], np.float32)
        pairs: dict[int, list[tuple[float, float]]] = {}
        chunk = 65536
        hashes = np.stack([h for _, h in qh])
        for s in range(0, len(self.vh), chunk):
            d = _hamming(hashes, self.vh[s : s + chunk])
            qi, ri = np.nonzero(d <= self.DIST)
            for a, b in zip(qi.tolist(), (ri + s).tolist(), strict=True):
                ref = int(self.vr[b])
                if ref >= 0:
                    pairs.setdefault(ref, []).append((float(qt[a]), float(self.vt[b])))
        out = []
        for ref, ps in pairs.items():
            off = np.asarray([r - q for q, r in ps])
            med = float(np.median(off))
            keep = [(q, r) for (q, r), o in zip(ps, off, strict=True) if abs(o - med) <= 2.0]
            if len({q for q, _ in keep}) < self.min_matches:
                continue
            qs = [q for q, _ in keep]
            rs = [r for _, r in keep]
            out.append(
                Found(
                    self.names[ref],
                    min(qs),
                    max(qs) + self.QUERY_STEP,
                    min(rs),
                    max(rs) + self.STEP,
                    float(len(keep)),
                )
            )
        return sorted(out, key=lambda f: -f.score)


METHODS: dict[str, Callable[[Path], Method]] = {
    "ours": lambda wd: Ours(wd),
    "pdq-naive": lambda wd: PdqNaive(wd),
}


# ============================================================================================
# Running a method
# ============================================================================================


def _cpu() -> float:
    return time.process_time()


def run_method(
    factory: Callable[[Path], Method],
    corpus: Corpus,
    qs: QuerySet,
    clips: dict[str, Path],
    workdir: Path,
    scaling: Sequence[float],
    quiet: bool,
    scaling_queries: int = 6,
    scaling_all: bool = False,
) -> dict[str, Any]:
    """Register, time and query one method; its raw answers and costs.

    ``scaling``: index sizes (hours) to pad to with the method's ``pad`` before timing a sample
    of ``scaling_queries`` positive queries against each (empty: no scaling run); with
    ``scaling_all``, every video query (negatives too) is answered again at the largest size
    (``scaling_answers``: what approximate search and the padding cost in recall and false
    alarms).
    """
    method = factory(workdir / "index")
    t0 = _cpu()
    for v in corpus.references:
        method.register(v.name, v.path, "video")
    reg_video_cpu = _cpu() - t0
    t0 = _cpu()
    method.finish()
    finish_cpu = _cpu() - t0
    # what the reference videos cost, before the photos (a few hashes each) join them
    index_bytes = method.index_bytes()
    t0 = _cpu()
    for p in corpus.ref_photos:
        method.register(p.name, p.path, "image")
    method.finish()
    reg_image_cpu = _cpu() - t0
    ref_seconds = sum(v.seconds for v in corpus.references)
    if not quiet:
        print(
            f"[bench-video] {method.name}: registered in {reg_video_cpu:.1f} CPU-s", file=sys.stderr
        )

    extraction: dict[str, Any] = {}
    for label, clip in clips.items():
        m2 = factory(workdir / f"speed-{label}")
        secs = probe(clip).seconds
        t0 = _cpu()
        m2.register(f"speed-{label}", clip, "video")
        m2.finish()
        cpu = _cpu() - t0
        extraction[label] = {"seconds": secs, "cpu_s": cpu, "x_realtime": secs / max(cpu, 1e-9)}

    answers: dict[str, list[Found]] = {}
    lat: dict[str, float] = {}
    for q in qs.videos:
        t0 = _cpu()
        answers[q.id] = list(method.identify(q.path))
        lat[q.id] = _cpu() - t0
    img_answers: dict[str, list[str]] = {}
    img_lat: dict[str, float] = {}
    for iq in qs.images:
        t0 = _cpu()
        img_answers[iq.id] = [f.ref_id for f in method.identify(iq.path)]
        img_lat[iq.id] = _cpu() - t0

    scale: dict[str, Any] = {}
    scale_answers: dict[str, list[Found]] = {}
    if scaling:
        pad = getattr(method, "pad", None)
        if pad is None:
            scale = {"note": f"{method.name} has no pad(hours)"}
        else:
            pos = [q for q in qs.videos if q.ref is not None]
            sample = pos[:: max(1, len(pos) // max(1, scaling_queries))][:scaling_queries]
            for hours in scaling:
                pad(hours)
                phases = getattr(method, "phases", None)
                before = dict(phases) if phases is not None else {}
                t0 = _cpu()
                found = 0
                for q in sample:
                    # still right at this size? (approximate search may lose copies)
                    found += any(f.ref_id == q.ref for f in method.identify(q.path))
                cpu = _cpu() - t0
                qsec = sum(q.seconds for q in sample)
                per60 = 60.0 / max(qsec, 1e-9)
                scale[f"{hours:g}h"] = {
                    "queries": len(sample),
                    "found": found,
                    "ms_per_query": 1000 * cpu / max(1, len(sample)),
                    "ms_per_60s": 1000 * cpu * per60,
                    # the index lookups and scoring alone, and decoding + hashing (a method
                    # that keeps `phases`)
                    **{
                        f"ms_per_60s_{k}": 1000 * (v - before[k]) * per60
                        for k, v in (phases or {}).items()
                    },
                    "x_realtime": qsec / max(cpu, 1e-9),
                    "index_bytes": method.index_bytes(),
                }
            if scaling_all:
                scale_answers = {q.id: list(method.identify(q.path)) for q in qs.videos}
    vq_seconds = sum(q.seconds for q in qs.videos)
    return {
        "name": method.name,
        "answers": answers,
        "image_answers": img_answers,
        "register_video_cpu_s": reg_video_cpu,
        "register_image_cpu_s": reg_image_cpu,
        "finish_cpu_s": finish_cpu,
        "ref_seconds": ref_seconds,
        "index_bytes": index_bytes,
        "index_bytes_per_hour": index_bytes / max(ref_seconds / 3600, 1e-9),
        "extraction": extraction,
        "query_cpu_s": sum(lat.values()),
        "query_ms_mean": 1000 * sum(lat.values()) / max(1, len(lat)),
        "query_x_realtime": vq_seconds / max(sum(lat.values()), 1e-9),
        "image_ms_mean": 1000 * sum(img_lat.values()) / max(1, len(img_lat)),
        "scaling": scale,
        "scaling_answers": scale_answers,
    }


def run_baseline(
    corpus: Corpus, qs: QuerySet, clips: dict[str, Path], workdir: Path, quiet: bool
) -> dict[str, Any]:
    from bench.video.vpdq_baseline import run_vpdq

    refs = [(v.name, v.path) for v in corpus.references]
    queries = [(q.id, q.path) for q in qs.videos]
    extra = [(f"speed-{k}", p) for k, p in clips.items()]
    res = run_vpdq(refs, [*queries, *extra], workdir, quiet=quiet)
    res.details["note"] = (
        "vpdq defaults: 1 hash/s, quality >= 50, distance < 31, query match >= 80 %, "
        "reference match >= 0 %"
    )
    ref_seconds = sum(v.seconds for v in corpus.references)
    extraction = {}
    for label, clip in clips.items():
        secs = probe(clip).seconds
        cpu = res.hash_cpu_s[str(clip)]
        extraction[label] = {"seconds": secs, "cpu_s": cpu, "x_realtime": secs / max(cpu, 1e-9)}
    qcpu = {q.id: res.hash_cpu_s[str(q.path)] + res.match_cpu_s.get(q.id, 0.0) for q in qs.videos}
    vq_seconds = sum(q.seconds for q in qs.videos)
    return {
        "name": "vPDQ",
        "answers": {q.id: res.answers.get(q.id, []) for q in qs.videos},
        "register_video_cpu_s": sum(res.hash_cpu_s[str(v.path)] for v in corpus.references),
        "ref_seconds": ref_seconds,
        "index_bytes": res.index_bytes,
        "index_json_bytes": res.index_json_bytes,
        "index_bytes_per_hour": res.index_bytes / max(ref_seconds / 3600, 1e-9),
        "extraction": extraction,
        "query_cpu_s": sum(qcpu.values()),
        "query_ms_mean": 1000 * sum(qcpu.values()) / max(1, len(qcpu)),
        "query_x_realtime": vq_seconds / max(sum(qcpu.values()), 1e-9),
        "details": res.details,
    }


# ============================================================================================
# Report
# ============================================================================================


def _f(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def report(corpus: Corpus, qs: QuerySet, results: list[dict[str, Any]], wall: float) -> str:
    st = corpus.stats()
    c = qs.counts()
    r, p = st["references"], st["pool"]
    lines = [
        f"corpus: {r['videos']} reference videos ({r['hours']:.2f} h: {r['real_minutes']:.1f} min "
        f"real, {r['synthetic_minutes']:.1f} min synthetic), pool {p['videos']} videos "
        f"({p['hours']:.2f} h: {p['real_minutes']:.1f} min real), {st['ref_photos']} reference "
        f"photos, {st['neg_photos']} unrelated photos in films and "
        f"{st['image_neg_photos']} as image negatives",
        f"queries: {sum(c['video_positive'].values())} positive ({c['video_positive_hours']:.2f} h), "
        f"{c['video_negative']} negative ({c['video_negative_hours']:.2f} h); "
        f"{sum(c['image_positive'].values())} image positives, {c['image_negative']} image negatives",
        "",
    ]
    names = [res["name"] for res in results]
    head = f"{'family':<14}{'n':>4}" + "".join(f"{n[:10] + ' rec':>15}" for n in names)
    head += "".join(f"{n[:10] + ' P/R/F1':>22}" for n in names)
    lines.append(head)
    for fam in [*FAMILIES, "all"]:
        cells = []
        n = 0
        for res in results:
            s = res["score"]
            cell = s if fam == "all" else s["by_family"].get(fam)
            cells.append(cell)
            if cell:
                n = cell.get("queries", s.get("positives", 0)) if fam != "all" else s["positives"]
        row = f"{fam:<14}{n:>4}"
        row += "".join(f"{_f(cl['recall'] if cl else None):>15}" for cl in cells)
        for cl in cells:
            prf = (
                "-"
                if not cl
                else (
                    f"{_f(cl['seg_precision'], '.2f')}/{_f(cl['seg_recall'], '.2f')}/"
                    f"{_f(cl['seg_f1'], '.2f')}"
                )
            )
            row += f"{prf:>22}"
        lines.append(row)
    lines.append("")
    for res in results:
        s = res["score"]
        ex = res["extraction"]
        exs = ", ".join(f"{k} {v['x_realtime']:.1f}x" for k, v in ex.items())
        lines.append(
            f"{res['name']}: false alarms {s['false_alarms']}/{s['negatives']} negatives "
            f"({_f(s['false_alarms_per_hour'], '.2f')}/h over {s['negative_hours']:.2f} h); "
            f"wrong-reference answers on {s['wrong_ref_queries']} positives"
        )
        lines.append(
            f"  extraction (x real time per core): {exs}; references "
            f"{res['ref_seconds'] / max(res['register_video_cpu_s'], 1e-9):.1f}x; index "
            f"{res['index_bytes'] / 1e3:.1f} kB = {res['index_bytes_per_hour'] / 1e6:.3f} MB/h; "
            f"query {res['query_ms_mean']:.0f} ms CPU mean ({res['query_x_realtime']:.1f}x real time)"
        )
        for k, v in (res.get("scaling") or {}).items():
            if isinstance(v, dict):
                lines.append(
                    f"  padded index {k}: {v['ms_per_query']:.1f} ms/query, "
                    f"{v.get('ms_per_60s', 0):.0f} ms per 60 s of upload "
                    f"({v['x_realtime']:.1f}x real time, decoding included"
                    + (
                        f"; search {v['ms_per_60s_search']:.0f} ms, decoding and hashing "
                        f"{v['ms_per_60s_extract']:.0f} ms"
                        if "ms_per_60s_search" in v
                        else ""
                    )
                    + "), "
                    f"right work found {v.get('found', '?')}/{v['queries']}, "
                    f"index {v['index_bytes'] / 1e6:.1f} MB"
                )
            else:
                lines.append(f"  scaling: {v}")
        if sc := res.get("scaling_score"):
            fams = ", ".join(
                f"{k} {v['recall']:.2f}" for k, v in sc["by_family"].items() if v["recall"] < 1.0
            )
            lines.append(
                f"  every query again at {sc['hours']:g} h: recall {sc['recall']:.3f}"
                f" (below 1: {fams or 'none'}), segment F1 {sc['seg_f1']:.2f}, false alarms "
                f"{sc['false_alarms']}/{sc['negatives']}, wrong reference {sc['wrong_ref_queries']}"
            )
        if res.get("details", {}).get("note"):
            lines.append(f"  ({res['details']['note']}; no padded-index run)")
    img = [res for res in results if res.get("image_score", {}).get("positives")]
    if img:
        lines.append("")
        lines.append(
            f"{'image family':<14}{'n':>4}" + "".join(f"{r['name'][:10] + ' rec':>15}" for r in img)
        )
        for fam in [*IMAGE_FAMILIES, "all"]:
            row = f"{fam:<14}"
            n = 0
            vals = []
            for res in img:
                s = res["image_score"]
                cl = s if fam == "all" else s["by_family"].get(fam)
                n = (s["positives"] if fam == "all" else cl["queries"]) if cl else n
                vals.append(_f(cl["recall"] if cl else None))
            lines.append(row + f"{n:>4}" + "".join(f"{v:>15}" for v in vals))
        for res in img:
            s = res["image_score"]
            lines.append(
                f"{res['name']}: image false positives {s['false_positives']}/{s['negatives']} "
                f"unrelated photos; wrong-reference answers {s['wrong_ref_queries']}; "
                f"{res['image_ms_mean']:.1f} ms/image"
            )
    lines.append(f"wall time {wall:.0f} s")
    return "\n".join(lines)


def run_images(
    factory: Callable[[Path], Method], corpus: Corpus, qs: QuerySet, workdir: Path, quiet: bool
) -> dict[str, Any]:
    """Image-only run: register the real reference videos (an image may be a frame of one)
    and the reference photos, then answer the image queries. Scores the whole set and its
    two halves (queries of even / odd reference photos, even / odd negatives), so that a
    setting chosen on one half can be checked on the other."""
    method = factory(workdir / "index")
    for v in corpus.references:
        if not v.synthetic:
            method.register(v.name, v.path, "video")
    t0 = _cpu()
    for p in corpus.ref_photos:
        method.register(p.name, p.path, "image")
    reg_cpu = _cpu() - t0
    method.finish()
    answers: dict[str, list[str]] = {}
    lat: list[float] = []
    for i, iq in enumerate(qs.images):
        t0 = _cpu()
        answers[iq.id] = [f.ref_id for f in method.identify(iq.path)]
        lat.append(_cpu() - t0)
        if not quiet and i % 100 == 99:
            print(f"[bench-video] {i + 1}/{len(qs.images)} image queries", file=sys.stderr)
    truth = {q.id: (q.family, q.ref) for q in qs.images}
    ref_index = {p.name: i for i, p in enumerate(corpus.ref_photos)}

    def half(q: Any) -> int:
        return (ref_index[q.ref] if q.ref is not None else int(q.id.rsplit("-", 1)[1])) % 2

    halves = [
        score_images(answers, {q.id: truth[q.id] for q in qs.images if half(q) == h})
        for h in (0, 1)
    ]
    misses = {
        q.id: {"family": q.family, "ref": q.ref, "answers": answers[q.id], "path": str(q.path)}
        for q in qs.images
        if (q.ref is None and answers[q.id]) or (q.ref is not None and answers[q.id] != [q.ref])
    }
    return {
        "name": method.name,
        "image_answers": answers,
        "image_score": score_images(answers, truth),
        "image_halves": halves,
        "image_ms_mean": 1000 * sum(lat) / max(1, len(lat)),
        "image_ms_p95": 1000 * float(np.percentile(lat, 95)) if lat else 0.0,
        "register_image_ms_mean": 1000 * reg_cpu / max(1, len(corpus.ref_photos)),
        "image_errors": misses,
    }


def image_report(corpus: Corpus, res: dict[str, Any]) -> str:
    st = corpus.stats()
    s, halves = res["image_score"], res["image_halves"]
    lines = [
        f"corpus: {st['ref_photos']} reference photos, "
        f"{st['image_neg_photos']} unrelated photos (image negatives), "
        f"{st['left_out_photos']} left out; {st['references']['real_videos']} real reference "
        "videos registered",
        "",
        f"{'image family':<14}{'n':>5}{'recall':>9}{'half 0':>9}{'half 1':>9}",
    ]
    for fam in IMAGE_FAMILIES:
        cells = [x["by_family"].get(fam) for x in (s, *halves)]
        n = cells[0]["queries"] if cells[0] else 0
        lines.append(
            f"{fam:<14}{n:>5}" + "".join(f"{_f(c['recall'] if c else None):>9}" for c in cells)
        )
    lines.append(
        f"{'all':<14}{s['positives']:>5}" + "".join(f"{_f(x['recall']):>9}" for x in (s, *halves))
    )
    lines.append("")
    lines.append(
        f"{res['name']}: false positives {s['false_positives']}/{s['negatives']} unrelated photos "
        f"(halves {halves[0]['false_positives']}/{halves[0]['negatives']}, "
        f"{halves[1]['false_positives']}/{halves[1]['negatives']}); wrong-reference answers "
        f"{s['wrong_ref_queries']}; {res['image_ms_mean']:.1f} ms/image CPU mean "
        f"(p95 {res['image_ms_p95']:.0f} ms); registration {res['register_image_ms_mean']:.0f} "
        "ms/photo"
    )
    for qid, e in sorted(res["image_errors"].items()):
        wrong = [a for a in e["answers"] if a != e["ref"]]
        if wrong:
            what = "false positive" if e["ref"] is None else "wrong reference"
            lines.append(f"  {what}: {qid} ({Path(e['path']).name}) -> {', '.join(e['answers'])}")
    return "\n".join(lines)


def _truths(qs: QuerySet) -> dict[str, Truth]:
    return {
        q.id: Truth(q.family, q.ref, (q.q_start, q.q_end, q.r_start, q.r_end), q.seconds)
        for q in qs.videos
    }


def _vpdq_ready() -> bool:
    return (default_cache_dir() / "vpdq-venv" / "bin" / "python").exists()


def _override(spec: str) -> str:
    """Apply `MODULE.NAME=VALUE` to `jianwang.fingerprint.MODULE` (the value takes the type
    of the constant it replaces); returns what was set."""
    import importlib

    target, _, value = spec.partition("=")
    mod_name, _, name = target.rpartition(".")
    if not mod_name or not name or not value:
        raise SystemExit(f"--set {spec!r}: expected MODULE.NAME=VALUE")
    mod = importlib.import_module(f"jianwang.fingerprint.{mod_name}")
    if not hasattr(mod, name):
        raise SystemExit(f"--set {spec!r}: jianwang.fingerprint.{mod_name} has no {name}")
    old = getattr(mod, name)
    setattr(mod, name, type(old)(value))
    return f"{mod_name}.{name}={getattr(mod, name)} (was {old})"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Video/image identification benchmark.")
    ap.add_argument("--method", choices=sorted(METHODS), default="ours")
    ap.add_argument("--per-family", type=int, default=DEFAULT_PER_FAMILY)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--smoke", action="store_true", help="tiny synthetic corpus, seconds")
    ap.add_argument("--no-baseline", action="store_true", help="skip vPDQ")
    ap.add_argument("--scaling", action="store_true", help="padded-index latency (pad(hours))")
    ap.add_argument(
        "--scaling-hours", default="10,100,1000", help="index sizes for --scaling (hours)"
    )
    ap.add_argument("--scaling-queries", type=int, default=6, help="queries timed per size")
    ap.add_argument(
        "--scaling-all",
        action="store_true",
        help="with --scaling: answer every video query (negatives too) again at the largest "
        "size and score it (recall and false alarms at that size)",
    )
    ap.add_argument(
        "--images-only",
        action="store_true",
        help="image queries only: no films rendered, no video queries, no vPDQ (the real "
        "reference videos and the reference photos are registered)",
    )
    ap.add_argument("--json", type=Path, default=None, help="write all figures here")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="MODULE.NAME=VALUE",
        help="ablation: override a constant of jianwang.fingerprint.MODULE for this run "
        "(e.g. visual.REF_EVERY=0.6); printed with the report",
    )
    ap.add_argument(
        "--families",
        default="",
        help="only these video families (comma-separated; negatives always run): a quick "
        "look during development, never a reported figure",
    )
    ap.add_argument("--no-images", action="store_true", help="skip the image queries")
    args = ap.parse_args(argv)
    overrides = [_override(x) for x in args.set]
    t_wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        tmpd = Path(tmp)
        if args.smoke:
            corpus = build_smoke(tmpd / "corpus")
            cfg = SMOKE_CONFIG
            clip_seconds = 1.0
        else:
            corpus = build(quiet=args.quiet, films=not args.images_only)
            cfg = QueryConfig(per_family=args.per_family, seed=args.seed)
            clip_seconds = 20.0
        if args.images_only:
            iqs = make_image_queries(corpus, cfg)
            res = run_images(METHODS[args.method], corpus, iqs, tmpd / "method", args.quiet)
            if overrides:
                print("[bench-video] overrides: " + ", ".join(overrides))
            print(image_report(corpus, res))
            if args.json:
                payload = {"corpus": corpus.stats(), "overrides": overrides, "result": res}
                args.json.write_text(json.dumps(payload, indent=1, default=str))
            return 0
        qs = make_queries(corpus, cfg, quiet=args.quiet)
        if args.families:
            keep = set(args.families.split(",")) | {"negative"}
            qs.videos = [q for q in qs.videos if q.family in keep]
        if args.no_images:
            qs.images = []
        clips = speed_clips(corpus, seconds=clip_seconds)
        factory = METHODS[args.method]
        try:
            factory(tmpd / "probe")
        except NotImplementedError as e:
            print(f"[bench-video] {args.method}: {e}; using pdq-naive", file=sys.stderr)
            factory = METHODS["pdq-naive"]
        results = []
        hours = [float(h) for h in args.scaling_hours.split(",")] if args.scaling else []
        res = run_method(
            factory,
            corpus,
            qs,
            clips,
            tmpd / "method",
            hours,
            args.quiet,
            args.scaling_queries,
            args.scaling_all,
        )
        truths = _truths(qs)
        res["score"] = score_videos(res["answers"], truths)
        if res["scaling_answers"]:
            res["scaling_score"] = score_videos(res.pop("scaling_answers"), truths)
            res["scaling_score"]["hours"] = max(hours)
        else:
            res.pop("scaling_answers")
        itruth = {q.id: (q.family, q.ref) for q in qs.images}
        res["image_score"] = score_images(res["image_answers"], itruth)
        results.append(res)
        use_base = not args.no_baseline and (not args.smoke or _vpdq_ready())
        if use_base:
            root = corpus.root or default_cache_dir()
            base = run_baseline(corpus, qs, clips, root / "vpdq-runs", args.quiet)
            base["score"] = score_videos(base["answers"], truths)
            results.append(base)
        wall = time.perf_counter() - t_wall
        if overrides:
            print("[bench-video] overrides: " + ", ".join(overrides))
        print(report(corpus, qs, results, wall))
        if args.json:
            payload = {
                "corpus": corpus.stats(),
                "queries": qs.counts(),
                "config": {
                    "per_family": cfg.per_family,
                    "seed": cfg.seed,
                    "smoke": args.smoke,
                    "overrides": overrides,
                },
                "results": [
                    {
                        **{k: v for k, v in r.items() if k not in ("answers", "image_answers")},
                        "answers": {q: [asdict(f) for f in fs] for q, fs in r["answers"].items()},
                    }
                    for r in results
                ],
                "truth": {q.id: q.to_json() for q in qs.videos},
            }
            args.json.write_text(json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
