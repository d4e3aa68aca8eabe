"""The bundled demonstration: every pirate page gets the verdict its truth file expects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jianwang import Jianwang
from jianwang.demo import demo_dir

BIN = Path(sys.executable).with_name("jianwang")


def test_demo_pages_get_expected_verdicts(home: Path) -> None:
    base = demo_dir()
    truth = json.loads((base / "pages" / "truth.json").read_text(encoding="utf-8"))
    manifest = base / "corpus" / "manifest.csv"
    with Jianwang.open(home=home) as jw:
        report = jw.registry.import_manifest(manifest)
        assert report.failed == []
        titles = {w.assets[0].filename: w.title for w in jw.registry.list_works()[0]}
        for row in truth:
            ident = jw.identify((base / "pages" / row["file"]).read_bytes(), row["file"])
            if row["expected"] == "none":
                assert all(m.verdict.value != "match" for m in ident.matches), row["file"]
                continue
            mine = [m for m in ident.matches if m.title == titles[row["truth"]]]
            assert mine, row["file"]
            if row["expected"] == "match":
                assert mine[0].verdict.value == "match", row["file"]
            else:  # a retranslation: flagged, at least for review
                assert mine[0].verdict.value in ("review", "match"), row["file"]


def test_demo_command_is_idempotent(home: Path) -> None:
    env = {"JIANWANG_HOME": str(home), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([str(BIN), "demo"], env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "Registered 14 works" in first.stdout and "match" in first.stdout
    second = subprocess.run(
        [str(BIN), "demo", "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0
    lines = [json.loads(x) for x in second.stdout.splitlines()]
    assert len(lines) == 15 and all("matches" in x for x in lines)
