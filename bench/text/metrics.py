"""Benchmark metrics: chapter-level identification and character-level PlagDet.

Character level follows Potthast, Stein, Barrón-Cedeño and Rosso (2010), "An Evaluation
Framework for Plagiarism Detection" (COLING 2010). A plagiarism *case* ``s`` and a *detection*
``r`` are both sets of characters drawn from the two documents involved — here the pirate page
(its extracted text) and the registered chapter (its ``text``). An annotation is given as

    (page_id, page_start, page_end, ref_key, ref_start, ref_end)

with half-open code-point ranges. ``r`` *detects* ``s`` when both name the same page and chapter
and their ranges overlap (on both sides, as in the PAN reference implementation, when
``side="both"``). With ``s ⊓ r = s ∩ r`` if ``r`` detects ``s`` and ``∅`` otherwise:

    prec(S, R) = 1/|R| · Σ_r |∪_s (s ⊓ r)| / |r|            (macro-averaged)
    rec(S, R)  = 1/|S| · Σ_s |∪_r (s ⊓ r)| / |s|
    gran(S, R) = 1/|S_R| · Σ_{s ∈ S_R} |R_s|     S_R: detected cases, R_s: detections of s
    plagdet    = F1(prec, rec) / log2(1 + gran)

``side`` selects which characters count: ``"both"`` (the paper: page and reference characters
together), ``"page"`` or ``"ref"`` (one document only; overlap is then required on that side).
Edge cases follow the PAN evaluation script: no cases and no detections → precision = recall =
1; exactly one of them empty → 0; granularity is 1 when nothing is detected. Micro-averaged
precision/recall (character unions) are reported as well.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

Side = Literal["both", "page", "ref"]


class Annotation(NamedTuple):
    """A case or a detection: page range ↔ reference range (code points, half-open)."""

    page_id: str
    page_start: int
    page_end: int
    ref_key: str
    ref_start: int
    ref_end: int


AnnotationLike = tuple[str, int, int, str, int, int]


def to_annotations(
    page_id: str, ref_key: str, spans: Iterable[tuple[int, int, int, int]]
) -> list[Annotation]:
    """Attach document ids to ``(page_start, page_end, ref_start, ref_end)`` spans
    (e.g. :class:`bench.text.pages.Case` objects)."""
    return [Annotation(page_id, a, b, ref_key, c, d) for a, b, c, d in spans]


# --------------------------------------------------------------------------------------------
# Interval helpers
# --------------------------------------------------------------------------------------------


def _union_len(intervals: Iterable[tuple[int, int]]) -> int:
    total = 0
    cur_s = cur_e = None
    for s, e in sorted(i for i in intervals if i[1] > i[0]):
        if cur_e is None or s > cur_e:
            if cur_e is not None and cur_s is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None and cur_s is not None:
        total += cur_e - cur_s
    return total


def _inter(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return max(a[0], b[0]), min(a[1], b[1])


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _norm(anns: Iterable[AnnotationLike], side: Side) -> list[Annotation]:
    """Annotations with a non-empty range on every counted side (empty ones are dropped)."""
    out = []
    for a in anns:
        ann = Annotation(*a)
        page_ok = ann.page_end > ann.page_start
        ref_ok = ann.ref_end > ann.ref_start
        if (side == "page" and page_ok) or (side == "ref" and ref_ok) or (page_ok and ref_ok):
            out.append(ann)
    return out


def _detects(s: Annotation, r: Annotation, side: Side) -> bool:
    if s.page_id != r.page_id or s.ref_key != r.ref_key:
        return False
    page = _overlaps((s.page_start, s.page_end), (r.page_start, r.page_end))
    ref = _overlaps((s.ref_start, s.ref_end), (r.ref_start, r.ref_end))
    if side == "page":
        return page
    if side == "ref":
        return ref
    return page and ref


def _size(a: Annotation, side: Side) -> int:
    n = 0
    if side in ("both", "page"):
        n += a.page_end - a.page_start
    if side in ("both", "ref"):
        n += a.ref_end - a.ref_start
    return n


def _covered(target: Annotation, others: Sequence[Annotation], side: Side) -> int:
    """|∪_o (target ∩ o)| over the counted sides."""
    n = 0
    if side in ("both", "page"):
        n += _union_len(
            _inter((target.page_start, target.page_end), (o.page_start, o.page_end)) for o in others
        )
    if side in ("both", "ref"):
        n += _union_len(
            _inter((target.ref_start, target.ref_end), (o.ref_start, o.ref_end)) for o in others
        )
    return n


def _pairs(
    cases: Sequence[Annotation], detections: Sequence[Annotation], side: Side
) -> tuple[list[list[Annotation]], list[list[Annotation]]]:
    """For each case its detecting detections, for each detection the cases it detects."""
    by_doc: dict[tuple[str, str], list[int]] = {}
    for j, r in enumerate(detections):
        by_doc.setdefault((r.page_id, r.ref_key), []).append(j)
    dets_of: list[list[Annotation]] = [[] for _ in cases]
    cases_of: list[list[Annotation]] = [[] for _ in detections]
    for i, s in enumerate(cases):
        for j in by_doc.get((s.page_id, s.ref_key), []):
            r = detections[j]
            if _detects(s, r, side):
                dets_of[i].append(r)
                cases_of[j].append(s)
    return dets_of, cases_of


# --------------------------------------------------------------------------------------------
# Character-level measures
# --------------------------------------------------------------------------------------------


def recall(
    cases: Iterable[AnnotationLike], detections: Iterable[AnnotationLike], side: Side = "both"
) -> float:
    """Macro-averaged character recall (Potthast et al. 2010, eq. 2)."""
    S, R = _norm(cases, side), _norm(detections, side)
    if not S and not R:
        return 1.0
    if not S or not R:
        return 0.0
    dets_of, _ = _pairs(S, R, side)
    return sum(
        _covered(s, d, side) / _size(s, side) for s, d in zip(S, dets_of, strict=True)
    ) / len(S)


def precision(
    cases: Iterable[AnnotationLike], detections: Iterable[AnnotationLike], side: Side = "both"
) -> float:
    """Macro-averaged character precision (Potthast et al. 2010, eq. 1)."""
    S, R = _norm(cases, side), _norm(detections, side)
    if not S and not R:
        return 1.0
    if not S or not R:
        return 0.0
    _, cases_of = _pairs(S, R, side)
    return sum(
        _covered(r, c, side) / _size(r, side) for r, c in zip(R, cases_of, strict=True)
    ) / len(R)


def granularity(
    cases: Iterable[AnnotationLike], detections: Iterable[AnnotationLike], side: Side = "both"
) -> float:
    """Average number of detections per detected case (≥ 1; 1 when nothing is detected)."""
    S, R = _norm(cases, side), _norm(detections, side)
    if not R:
        return 1.0
    dets_of, _ = _pairs(S, R, side)
    counts = [len(d) for d in dets_of if d]
    return sum(counts) / len(counts) if counts else 1.0


def plagdet_score(prec: float, rec: float, gran: float) -> float:
    """PlagDet = F1 / log2(1 + granularity); 0 when precision and recall are both 0."""
    if (prec == 0 and rec == 0) or prec < 0 or rec < 0 or gran < 1:
        return 0.0
    return (2 * prec * rec / (prec + rec)) / math.log2(1 + gran)


def plagdet(
    cases: Iterable[AnnotationLike], detections: Iterable[AnnotationLike], side: Side = "both"
) -> float:
    """PlagDet of ``detections`` against ``cases``."""
    S, R = list(cases), list(detections)
    return plagdet_score(precision(S, R, side), recall(S, R, side), granularity(S, R, side))


@dataclass(frozen=True, slots=True)
class CharScores:
    """Character-level scores on one side (``both``, ``page`` or ``ref``)."""

    side: str
    precision: float
    recall: float
    granularity: float
    plagdet: float
    micro_precision: float
    micro_recall: float
    cases: int
    detections: int
    detected_cases: int

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _char_keys(a: Annotation, side: Side) -> list[tuple[tuple[str, str], tuple[int, int]]]:
    out = []
    if side in ("both", "page"):
        out.append((("page", a.page_id), (a.page_start, a.page_end)))
    if side in ("both", "ref"):
        out.append((("ref", a.ref_key), (a.ref_start, a.ref_end)))
    return out


def _union_chars(items: Iterable[tuple[tuple[str, str], tuple[int, int]]]) -> int:
    by_doc: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for doc, iv in items:
        by_doc.setdefault(doc, []).append(iv)
    return sum(_union_len(ivs) for ivs in by_doc.values())


def char_scores(
    cases: Iterable[AnnotationLike], detections: Iterable[AnnotationLike], side: Side = "both"
) -> CharScores:
    """All character-level measures at once (macro P/R, granularity, PlagDet, micro P/R)."""
    S, R = _norm(cases, side), _norm(detections, side)
    prec, rec, gran = precision(S, R, side), recall(S, R, side), granularity(S, R, side)
    dets_of, _ = _pairs(S, R, side)
    hit: list[tuple[tuple[str, str], tuple[int, int]]] = []
    for s, ds in zip(S, dets_of, strict=True):
        for r in ds:
            for (doc, iv_s), (_, iv_r) in zip(
                _char_keys(s, side), _char_keys(r, side), strict=True
            ):
                hit.append((doc, _inter(iv_s, iv_r)))
    n_hit = _union_chars(hit)
    n_s = _union_chars(k for s in S for k in _char_keys(s, side))
    n_r = _union_chars(k for r in R for k in _char_keys(r, side))
    micro_p = n_hit / n_r if n_r else (1.0 if not S else 0.0)
    micro_r = n_hit / n_s if n_s else (1.0 if not R else 0.0)
    return CharScores(
        side=side,
        precision=prec,
        recall=rec,
        granularity=gran,
        plagdet=plagdet_score(prec, rec, gran),
        micro_precision=micro_p,
        micro_recall=micro_r,
        cases=len(S),
        detections=len(R),
        detected_cases=sum(1 for d in dets_of if d),
    )


# --------------------------------------------------------------------------------------------
# Chapter-level measures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChapterScores:
    """Chapter-level identification for one family (or ``"ALL"``).

    ``recall`` = positive pages whose true chapter is among the predicted keys / positive pages.
    ``precision`` = correct predicted keys / all predicted keys (positive and negative pages);
    1.0 when nothing was predicted. A negative page with any predicted key is a false positive.
    """

    family: str
    pages: int
    positives: int
    negatives: int
    true_positives: int
    recall: float
    predicted: int
    correct: int
    precision: float
    false_positive_pages: int
    false_positive_rate: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def chapter_scores(
    results: Iterable[tuple[str, str | None, Sequence[str]]],
) -> dict[str, ChapterScores]:
    """Score ``(family, truth_key_or_None, predicted_keys)`` triples, per family and ``"ALL"``."""
    rows = list(results)
    fams = sorted({f for f, _, _ in rows})
    out: dict[str, ChapterScores] = {}
    for fam in [*fams, "ALL"]:
        sel = [r for r in rows if fam == "ALL" or r[0] == fam]
        pos = [r for r in sel if r[1] is not None]
        neg = [r for r in sel if r[1] is None]
        tp = sum(1 for _, t, p in pos if t in p)
        predicted = sum(len(set(p)) for _, _, p in sel)
        correct = sum(1 for _, t, p in pos if t in set(p))
        fp_pages = sum(1 for _, _, p in neg if p)
        out[fam] = ChapterScores(
            family=fam,
            pages=len(sel),
            positives=len(pos),
            negatives=len(neg),
            true_positives=tp,
            recall=tp / len(pos) if pos else 0.0,
            predicted=predicted,
            correct=correct,
            precision=correct / predicted if predicted else 1.0,
            false_positive_pages=fp_pages,
            false_positive_rate=fp_pages / len(neg) if neg else 0.0,
        )
    return out


def char_metrics(
    cases: Iterable[Sequence[object]],
    detections: Iterable[Sequence[object]],
    side: Side = "both",
) -> dict[str, float]:
    """Convenience wrapper returning :func:`char_scores` as a plain dict.

    Accepts full 6-tuples ``(page_id, page_start, page_end, ref_key, ref_start, ref_end)`` or
    5-tuples ``(page, page_start, page_end, ref_start, ref_end)`` whose reference document is
    implied by the page (each page compared with its own true chapter).
    """

    def full(items: Iterable[Sequence[object]]) -> list[Annotation]:
        out = []
        for t in items:
            if len(t) == 5:
                page, a, b, c, d = t
                out.append(Annotation(str(page), int(a), int(b), f"ref:{page}", int(c), int(d)))  # type: ignore[call-overload]
            else:
                out.append(Annotation(*t))  # type: ignore[arg-type]
        return out

    s = char_scores(full(cases), full(detections), side)
    return {k: v for k, v in s.to_json().items() if k != "side"}  # type: ignore[misc]
