"""Smoke run of the video benchmark (synthetic corpus, offline, seconds): the harness must run
end to end with the reference method and produce every figure. Accuracy is not checked here:
the full benchmark (`scripts/bench-video`) measures it on real material."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("method", "name"), [("ours", "jianwang"), ("pdq-naive", "pdq-naive")])
def test_video_benchmark_smoke(tmp_path: Path, method: str, name: str) -> None:
    out = tmp_path / "r.json"
    res = subprocess.run(
        [sys.executable, "-m", "bench.video.run", "--smoke", "--no-baseline", "--scaling",
         "--scaling-hours", "1,2,5", "--scaling-queries", "2",
         "--method", method, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert "reencode_150k" in res.stdout and "screenshot" in res.stdout
    r = json.loads(out.read_text())
    assert r["queries"]["video_negative"] > 0
    assert set(r["queries"]["video_positive"]) == {
        "reencode_150k", "res_360p", "fps_15", "crop_20", "letterbox", "hflip", "speed_1.05",
        "color", "logo_ticker", "pip", "camcorder", "combo",
    }  # fmt: skip
    (m,) = r["results"]
    assert m["name"] == name
    assert set(m["score"]["by_family"]) == set(r["queries"]["video_positive"])
    assert m["extraction"]["480p"]["x_realtime"] > 0
    assert m["extraction"]["1080p"]["x_realtime"] > 0
    assert m["index_bytes"] > 0
    assert m["image_score"]["positives"] > 0
    assert set(m["scaling"]) == {"1h", "2h", "5h"}
    # the ground truth of every positive query lies inside the query
    for t in r["truth"].values():
        if t["ref"] is not None:
            assert 0 <= t["q_start"] < t["q_end"] <= t["seconds"] + 0.1
            assert t["r_start"] < t["r_end"]


def test_image_only_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = subprocess.run(
        [sys.executable, "-m", "bench.video.run", "--smoke", "--images-only", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert "screenshot" in res.stdout and "half 0" in res.stdout
    r = json.loads(out.read_text())["result"]
    assert r["image_score"]["positives"] > 0 and r["image_score"]["negatives"] > 0
    assert len(r["image_halves"]) == 2
    assert r["image_ms_mean"] > 0
