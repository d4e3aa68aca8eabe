"""Unit tests of the video/image benchmark metrics on small literal inputs."""

from __future__ import annotations

import pytest

from bench.video.metrics import (
    Found,
    Truth,
    found,
    score_images,
    score_videos,
    segment_pr,
    union_length,
)


def test_union_length_merges_overlaps() -> None:
    assert union_length([(0, 2), (1, 3), (5, 6)]) == pytest.approx(4.0)
    assert union_length([]) == 0.0
    assert union_length([(2, 1)]) == 0.0


def test_segment_pr_exact_and_partial() -> None:
    p, r = segment_pr([(10, 20, 0, 10)], [(10, 20, 0, 10)])
    assert p == pytest.approx(1.0) and r == pytest.approx(1.0)
    # prediction covers half the truth on both axes: P=1, R=0.5*0.5
    p, r = segment_pr([(10, 15, 0, 5)], [(10, 20, 0, 10)])
    assert p == pytest.approx(1.0, abs=1e-5)
    assert r == pytest.approx(0.25, abs=1e-5)
    # prediction twice as long on the query axis, exact on the reference axis
    p, r = segment_pr([(5, 25, 0, 10)], [(10, 20, 0, 10)])
    assert p == pytest.approx(0.5, abs=1e-5)
    assert r == pytest.approx(1.0, abs=1e-5)


def test_segment_pr_empty_cases_follow_vcsl() -> None:
    assert segment_pr([], [(0, 1, 0, 1)]) == (1.0, 0.0)
    assert segment_pr([(0, 1, 0, 1)], []) == (0.0, 1.0)
    assert segment_pr([], []) == (1.0, 1.0)
    # disjoint in reference time: no overlap at all
    p, r = segment_pr([(10, 20, 50, 60)], [(10, 20, 0, 10)])
    assert p == 0.0 and r == 0.0


def test_found_needs_right_ref_and_query_overlap() -> None:
    t = Truth("hflip", "a", (10, 20, 0, 10), 30)
    assert found([Found("a", 15, 25, 5, 15)], t)
    assert not found([Found("a", 20, 25, 5, 15)], t)  # touches only
    assert not found([Found("b", 10, 20, 0, 10)], t)
    assert found([Found("a")], t)  # no time extent reported: the reference alone counts
    assert not found([], t)


def test_score_videos_recall_fa_and_segments() -> None:
    truths = {
        "q1": Truth("crop", "a", (10, 20, 0, 10), 30),
        "q2": Truth("crop", "b", (5, 15, 30, 40), 25),
        "n1": Truth("negative", None, seconds=1800),
        "n2": Truth("negative", None, seconds=1800),
    }
    answers = {
        "q1": [Found("a", 10, 20, 0, 10, 1.0)],
        "q2": [Found("c", 5, 15, 30, 40, 1.0)],
        "n1": [Found("a", 0, 5, 0, 5)],
    }
    s = score_videos(answers, truths)
    assert s["recall"] == pytest.approx(0.5)
    assert s["by_family"]["crop"]["queries"] == 2
    assert s["seg_precision"] == pytest.approx(1.0, abs=1e-5)  # q2 has no box for b: P=1
    assert s["seg_recall"] == pytest.approx(0.5, abs=1e-5)
    assert s["wrong_ref_queries"] == 1
    assert s["false_alarms"] == 1
    assert s["negative_hours"] == pytest.approx(1.0)
    assert s["false_alarms_per_hour"] == pytest.approx(1.0)


def test_score_images() -> None:
    truths = {"i1": ("flip", "p1"), "i2": ("flip", "p2"), "n1": ("negative", None)}
    s = score_images({"i1": ["p1"], "i2": ["p3"], "n1": ["p1"]}, truths)
    assert s["by_family"]["flip"]["recall"] == pytest.approx(0.5)
    assert s["false_positives"] == 1 and s["negatives"] == 1
    assert s["wrong_ref_queries"] == 1
