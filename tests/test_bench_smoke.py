"""A small smoke run of the text benchmark (offline, bundled corpus): it must run end to end
and find the copies. The full benchmark is `scripts/bench-text`, not part of the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _smoke(module: str, out: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run a benchmark's `--smoke` mode; its output and its JSON figures."""
    import json

    res = subprocess.run(
        [sys.executable, "-m", module, "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return res, json.loads(out.read_text())


def test_text_benchmark_smoke(tmp_path: Path) -> None:
    res, r = _smoke("bench.text.run", tmp_path / "r.json")
    assert "throughput" in res.stdout and "plagdet" in res.stdout
    fams = r["families"]
    assert set(fams) >= {"clean", "injected_ads", "mixed"}
    assert all(f["pages"] > 0 for f in fams.values())
    # a smoke run is small, so only a loose floor: the copies are found and nothing else
    assert fams["clean"]["recall"] == 1.0
    assert sum(f["false_positive_pages"] for f in fams.values()) == 0
    assert r["pages_per_second_per_core"] > 0 and r["baseline_pages_per_second_per_core"] > 0


def test_audio_benchmark_smoke(tmp_path: Path) -> None:
    """Synthetic songs through the audio benchmark's whole pipeline (the full run needs the
    Debian corpus and audfprint: `scripts/bench-audio`)."""
    res, r = _smoke("bench.audio.run", tmp_path / "a.json")
    s = r["jianwang"]
    assert "query speed" in res.stdout and "MB per hour" in res.stdout
    assert s["by_distortion"]["clean"]["hit"] == s["by_distortion"]["clean"]["pos"] > 0
    assert s["all"]["fp"] == 0 and s["all"]["wrong"] == 0
    assert r["extract_x_real_time"] > 0 and r["query_x_real_time"] > 0


def test_files_benchmark_smoke(tmp_path: Path) -> None:
    """This machine's binaries through the software benchmark's whole pipeline (the full run
    fetches Debian releases, PyPI wheels and game data: `scripts/bench-files`)."""
    res, r = _smoke("bench.files.run", tmp_path / "f.json")
    assert "false positives" in res.stdout and "MB/s" in res.stdout
    kinds = r["jianwang"]["by_distortion"]
    assert {"renamed", "patched", "appended", "truncated", "zip", "7z", "nested"} <= set(kinds)
    for kind in ("renamed", "patched", "zip", "nested"):
        assert kinds[kind]["rate"] == 1.0, kind
    assert r["jianwang"]["negatives"] >= 10 and r["jianwang"]["false_positives"] == 0
    assert r["baseline"]["by_distortion"]["zip"]["rate"] == 0.0  # it does not unpack
    # negatives are split: thresholds chosen on half A are checked on held-out half B
    assert set(r["jianwang"]["negative_halves"]) == {"A", "B"}
    t = r["throughput"]
    assert t["jianwang_mb_per_s_per_core"] > 0 and t["baseline_mb_per_s_per_core"] > 0


def test_api_load_check_smoke(tmp_path: Path) -> None:
    """identify over HTTP against a real uvicorn server for a few seconds (the full load
    check is `scripts/bench-api`: 20 clients for 60 s)."""
    res, r = _smoke("bench.api.run", tmp_path / "api.json")
    assert "requests/s" in res.stdout and "p99" in res.stdout
    assert r["requests"] > 0 and r["errors"] == 0, r["error_samples"]
    assert r["requests_per_second"] > 0 and r["p50_ms"] <= r["p99_ms"]


def test_monitor_benchmark_smoke(tmp_path: Path) -> None:
    """A small local pirate web crawled at per-host concurrency 1 and 2 beside the bare
    crawler (the full run, 1,000+ pages and concurrency 4, is `scripts/bench-monitor`)."""
    res, r = _smoke("bench.monitor.run", tmp_path / "m.json")
    assert "pages/s" in res.stdout and "scaling" in res.stdout
    for level in ("1", "2"):
        m = r["monitor"][level]
        assert m["accuracy"]["recall"] == 1.0, m["accuracy"]
        assert m["accuracy"]["clean_false_positives"] == 0
        assert m["forbidden_requests"] == 0 and m["captures_verified"]
        assert r["pages_per_second"][level] > 0 and m["peak_mb"] > 0
    assert r["baseline_pages_per_second"] > 0
    assert r["traps"]["forbidden_requests"] == 0 and r["traps"]["summary"]["error.refused"] == 3
