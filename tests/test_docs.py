"""Documentation stays true: every setting and command is in the README, the public API is
pinned, and the architecture document names the modules that exist."""

from __future__ import annotations

from pathlib import Path

import typer

import jianwang
from jianwang.cli import app
from jianwang.config import describe

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    for var, _default, doc in describe():
        assert var in README, var
        assert doc, f"{var} has no description"


def _commands(group: typer.Typer, prefix: str = "") -> list[str]:
    out = [f"{prefix}{c.name or c.callback.__name__}" for c in group.registered_commands]  # type: ignore[union-attr]
    for sub in group.registered_groups:
        out += _commands(sub.typer_instance, f"{prefix}{sub.name} ")  # type: ignore[arg-type]
    return out


def test_every_command_is_documented() -> None:
    commands = _commands(app)
    assert "works add" in commands and "identify" in commands
    for cmd in commands:
        assert f"jianwang {cmd}" in README or cmd.split()[-1] in README, cmd


def test_public_api_is_pinned() -> None:
    assert sorted(jianwang.__all__) == sorted(
        [
            "Identification",
            "Jianwang",
            "JianwangError",
            "Match",
            "MediaType",
            "Segment",
            "Settings",
            "SiteInput",
            "Verdict",
            "Work",
            "WorkInput",
            "WorkType",
            "__version__",
        ]
    )


def test_architecture_names_existing_modules() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for module in (
        "fingerprint.normalize",
        "fingerprint.text",
        "index.exact",
        "index.forward",
        "services.registry",
        "store.catalog",
        "media.html",
        "media.archive",
        "fingerprint.files",
        "services.accounts",
        "web.policy",
        "web.api",
        "web.dashboard",
    ):
        assert module in text, module
        assert (ROOT / "src" / "jianwang" / (module.replace(".", "/") + ".py")).exists()
