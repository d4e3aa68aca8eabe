"""Scoring of the video/image benchmark: pure functions over literal inputs.

* Video-level recall per family: a positive query is *found* when its reference is reported with
  at least one segment whose query interval overlaps the true excerpt (``found``).
* False alarms: negative queries with any reported match, also per hour of negative video.
* VCSL-style segment precision/recall (He et al., CVPR 2022, the ``precision_recall`` of the
  VCSL evaluation code, re-implemented): predicted and true copies are boxes
  ``(q_start, q_end, r_start, r_end)`` in query × reference time. On each axis, precision is the
  length of predicted boxes covered by true boxes they intersect over the summed predicted
  length, recall the length of true boxes covered by predicted boxes they intersect over the
  summed true length; the box precision (recall) is the product of the two axes'. Empty cases
  follow VCSL: predictions without truth give P=0/R=1, truth without predictions P=1/R=0. Per
  positive query the pair (query, true reference) is scored; P and R are averaged over queries
  and F1 is taken from the averages (as VCSL reports it). Boxes reported against other
  references are counted separately (``wrong_ref``).
* Images: recall per family (the right reference among the answers) and false positives on
  unrelated photos.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Box = tuple[float, float, float, float]  # q_start, q_end, r_start, r_end


@dataclass(frozen=True, slots=True)
class Found:
    """One answer of a method: ``ref_id`` reported at query ``[q_start, q_end)`` ~ reference
    ``[r_start, r_end)`` (images: all times 0)."""

    ref_id: str
    q_start: float = 0.0
    q_end: float = 0.0
    r_start: float = 0.0
    r_end: float = 0.0
    score: float = 0.0

    @property
    def box(self) -> Box:
        return (self.q_start, self.q_end, self.r_start, self.r_end)


@dataclass(frozen=True, slots=True)
class Truth:
    """Ground truth of a video query; ``ref`` None for a negative."""

    family: str
    ref: str | None
    box: Box = (0.0, 0.0, 0.0, 0.0)
    seconds: float = 0.0


def union_length(segments: Iterable[tuple[float, float]]) -> float:
    """Total length of the union of ``[start, end)`` segments."""
    total = 0.0
    cur: tuple[float, float] | None = None
    for s, e in sorted((s, e) for s, e in segments if e > s):
        if cur is None or s > cur[1]:
            if cur is not None:
                total += cur[1] - cur[0]
            cur = (s, e)
        else:
            cur = (cur[0], max(cur[1], e))
    if cur is not None:
        total += cur[1] - cur[0]
    return total


def _inter(a: Box, b: Box) -> Box | None:
    q0, q1 = max(a[0], b[0]), min(a[1], b[1])
    r0, r1 = max(a[2], b[2]), min(a[3], b[3])
    if q1 <= q0 or r1 <= r0:
        return None
    return (q0, q1, r0, r1)


def _covered(boxes: Sequence[Box], others: Sequence[Box]) -> tuple[float, float, float, float]:
    """(covered q length, total q length, covered r length, total r length) of ``boxes``."""
    cq = cr = 0.0
    for b in boxes:
        inters = [i for o in others if (i := _inter(b, o)) is not None]
        if inters:
            cq += union_length((i[0], i[1]) for i in inters)
            cr += union_length((i[2], i[3]) for i in inters)
    tq = sum(max(0.0, b[1] - b[0]) for b in boxes)
    tr = sum(max(0.0, b[3] - b[2]) for b in boxes)
    return cq, tq, cr, tr


def segment_pr(pred: Sequence[Box], truth: Sequence[Box]) -> tuple[float, float]:
    """VCSL segment precision and recall of predicted boxes against true boxes (one pair)."""
    if pred and not truth:
        return 0.0, 1.0
    if truth and not pred:
        return 1.0, 0.0
    if not pred and not truth:
        return 1.0, 1.0
    eps = 1e-6
    cq, tq, cr, tr = _covered(pred, truth)
    precision = (cq / (tq + eps)) * (cr / (tr + eps))
    cq, tq, cr, tr = _covered(truth, pred)
    recall = (cq / (tq + eps)) * (cr / (tr + eps))
    return min(1.0, precision), min(1.0, recall)


def found(answers: Sequence[Found], truth: Truth) -> bool:
    """The true reference is reported with a segment overlapping the excerpt in query time.

    Answers without time extent (q_end <= q_start) count when the reference is right.
    """
    if truth.ref is None:
        return False
    q0, q1 = truth.box[0], truth.box[1]
    for a in answers:
        if a.ref_id != truth.ref:
            continue
        if a.q_end <= a.q_start or (a.q_start < q1 and a.q_end > q0):
            return True
    return False


def f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _mean(xs: Sequence[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def score_videos(
    answers: Mapping[str, Sequence[Found]], truths: Mapping[str, Truth]
) -> dict[str, Any]:
    """Recall, segment P/R/F1 per family and overall; false alarms on negatives."""
    fams: dict[str, dict[str, list[float]]] = {}
    neg_n = neg_fa = 0
    neg_seconds = 0.0
    wrong = 0
    for qid, t in truths.items():
        ans = list(answers.get(qid, ()))
        if t.ref is None:
            neg_n += 1
            neg_seconds += t.seconds
            neg_fa += bool(ans)
            continue
        c = fams.setdefault(t.family, {"hit": [], "p": [], "r": []})
        c["hit"].append(float(found(ans, t)))
        p, r = segment_pr([a.box for a in ans if a.ref_id == t.ref], [t.box])
        c["p"].append(p)
        c["r"].append(r)
        wrong += any(a.ref_id != t.ref for a in ans)
    by_family: dict[str, dict[str, Any]] = {}
    for fam, c in fams.items():
        p, r = _mean(c["p"]), _mean(c["r"])
        by_family[fam] = {
            "queries": len(c["hit"]),
            "recall": _mean(c["hit"]),
            "seg_precision": p,
            "seg_recall": r,
            "seg_f1": f1(p, r),
        }
    allc = {k: [x for c in fams.values() for x in c[k]] for k in ("hit", "p", "r")}
    p, r = _mean(allc["p"]), _mean(allc["r"])
    hours = neg_seconds / 3600
    return {
        "by_family": by_family,
        "positives": len(allc["hit"]),
        "recall": _mean(allc["hit"]),
        "seg_precision": p,
        "seg_recall": r,
        "seg_f1": f1(p, r),
        "wrong_ref_queries": wrong,
        "negatives": neg_n,
        "negative_hours": hours,
        "false_alarms": neg_fa,
        "false_alarms_per_hour": neg_fa / hours if hours > 0 else None,
    }


def score_images(
    answers: Mapping[str, Sequence[str]], truths: Mapping[str, tuple[str, str | None]]
) -> dict[str, Any]:
    """Image recall per family (right reference among the answers) and false positives.

    ``answers``: query id -> reported reference ids; ``truths``: query id -> (family, ref).
    """
    fams: dict[str, list[float]] = {}
    neg = fp = wrong = 0
    for qid, (fam, ref) in truths.items():
        got = list(answers.get(qid, ()))
        if ref is None:
            neg += 1
            fp += bool(got)
            continue
        fams.setdefault(fam, []).append(float(ref in got))
        wrong += any(g != ref for g in got)
    allh = [x for v in fams.values() for x in v]
    return {
        "by_family": {f: {"queries": len(v), "recall": _mean(v)} for f, v in fams.items()},
        "positives": len(allh),
        "recall": _mean(allh),
        "wrong_ref_queries": wrong,
        "negatives": neg,
        "false_positives": fp,
    }
