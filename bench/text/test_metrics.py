"""Unit tests for bench.text.metrics (Potthast et al. 2010 measures and chapter scores)."""

from __future__ import annotations

import math

import pytest

from bench.text.metrics import (
    chapter_scores,
    char_scores,
    granularity,
    plagdet,
    plagdet_score,
    precision,
    recall,
    to_annotations,
)

CASE = [("page1", 0, 100, "ch1", 0, 100)]


def test_perfect_detection_scores_one() -> None:
    s = char_scores(CASE, CASE)
    assert (s.precision, s.recall, s.granularity, s.plagdet) == (1.0, 1.0, 1.0, 1.0)
    assert s.micro_precision == s.micro_recall == 1.0
    assert plagdet(CASE, CASE, side="page") == plagdet(CASE, CASE, side="ref") == 1.0


def test_half_detection() -> None:
    det = [("page1", 0, 50, "ch1", 0, 50)]
    assert recall(CASE, det) == pytest.approx(0.5)
    assert precision(CASE, det) == pytest.approx(1.0)
    assert granularity(CASE, det) == 1.0
    # F1(1, 0.5) = 2/3, log2(2) = 1
    assert plagdet(CASE, det) == pytest.approx(2 / 3)


def test_split_detection_has_granularity_two() -> None:
    dets = [("page1", 0, 50, "ch1", 0, 50), ("page1", 50, 100, "ch1", 50, 100)]
    assert granularity(CASE, dets) == 2.0
    assert recall(CASE, dets) == precision(CASE, dets) == 1.0
    assert plagdet(CASE, dets) == pytest.approx(1 / math.log2(3))


def test_detection_twice_as_long_halves_precision() -> None:
    det = [("page1", 0, 200, "ch1", 0, 200)]
    assert precision(CASE, det) == pytest.approx(0.5)
    assert recall(CASE, det) == 1.0


def test_sides_count_different_characters() -> None:
    # Right page range, reference range only half right.
    det = [("page1", 0, 100, "ch1", 0, 50)]
    assert recall(CASE, det, side="page") == 1.0
    assert recall(CASE, det, side="ref") == pytest.approx(0.5)
    assert recall(CASE, det, side="both") == pytest.approx(150 / 200)
    assert precision(CASE, det, side="both") == 1.0


def test_wrong_reference_detects_nothing() -> None:
    det = [("page1", 0, 100, "ch2", 0, 100)]
    assert recall(CASE, det) == precision(CASE, det) == 0.0
    assert plagdet(CASE, det) == 0.0
    # Right document pair but no overlap on the reference side: not a detection with side=both.
    det = [("page1", 0, 100, "ch1", 300, 400)]
    assert recall(CASE, det) == 0.0
    assert recall(CASE, det, side="page") == 1.0


def test_macro_averages_over_cases_and_detections() -> None:
    cases = [("p", 0, 100, "c", 0, 100), ("p", 200, 300, "c", 200, 300)]
    dets = [("p", 0, 100, "c", 0, 100), ("p", 500, 600, "c", 500, 600)]
    assert recall(cases, dets) == pytest.approx(0.5)
    assert precision(cases, dets) == pytest.approx(0.5)
    s = char_scores(cases, dets)
    assert s.detected_cases == 1 and s.cases == 2 and s.detections == 2
    assert s.micro_precision == pytest.approx(0.5)


def test_empty_edge_cases_follow_pan() -> None:
    assert recall([], []) == precision([], []) == 1.0
    assert recall(CASE, []) == precision(CASE, []) == 0.0
    assert granularity(CASE, []) == 1.0
    assert plagdet(CASE, []) == 0.0
    assert plagdet_score(0.0, 0.0, 1.0) == 0.0


def test_annotations_helper_and_case_tuples() -> None:
    anns = to_annotations("p", "c", [(0, 10, 5, 15)])
    assert anns[0] == ("p", 0, 10, "c", 5, 15)
    assert plagdet(anns, anns) == 1.0


def test_chapter_scores() -> None:
    rows = [
        ("clean", "a", ["a"]),
        ("clean", "b", ["x"]),
        ("clean", None, []),
        ("clean", None, ["a"]),
        ("ocr", "a", []),
    ]
    scores = chapter_scores(rows)
    clean = scores["clean"]
    assert clean.recall == 0.5
    assert clean.precision == pytest.approx(1 / 3)
    assert clean.false_positive_pages == 1 and clean.false_positive_rate == 0.5
    assert scores["ocr"].recall == 0.0 and scores["ocr"].precision == 1.0
    assert scores["ALL"].positives == 3 and scores["ALL"].true_positives == 1
