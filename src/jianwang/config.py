"""Every configuration key, its environment variable and its default, in one place."""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from .media.archive import ArchiveLimits


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("jianwang", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Runtime settings. `from_env` reads `JIANWANG_<NAME>` for each field."""

    home: Path = field(
        default_factory=_default_home,
        metadata={"doc": "data home; everything Jianwang writes lives below it"},
    )
    database_url: str = field(
        default="", metadata={"doc": "SQLAlchemy URL; empty means SQLite at `<home>/jianwang.db`"}
    )
    max_input_bytes: int = field(
        default=256 * 1024 * 1024,
        metadata={"doc": "largest input accepted for identification or registration, bytes"},
    )
    index_shards: int = field(
        default=1,
        metadata={
            "doc": "exact-key index shards (references are spread over shards by document id)"
        },
    )
    index_delta_limit: int = field(
        default=500_000,
        metadata={
            "doc": "delta entries kept in memory before they are written as an immutable segment"
        },
    )
    max_matches: int = field(default=10, metadata={"doc": "most matches returned per input"})
    secret_key: str = field(
        default="",
        metadata={
            "doc": "key signing dashboard session cookies; empty means a random key kept in "
            "`<home>/secret.key`"
        },
    )
    session_hours: int = field(
        default=12, metadata={"doc": "hours a dashboard sign-in lasts"}
    )
    login_max_failures: int = field(
        default=5,
        metadata={"doc": "failed sign-ins in a row after which an account is locked for a while"},
    )
    login_lockout_seconds: int = field(
        default=300, metadata={"doc": "how long an account stays locked after those failures"}
    )
    archive_max_depth: int = field(
        default=4,
        metadata={"doc": "archives inside archives unpacked (1: the outer archive's members only)"},
    )
    archive_max_members: int = field(
        default=10_000,
        metadata={"doc": "members unpacked from one input, all nested archives together"},
    )
    archive_max_bytes: int = field(
        default=4 * 1024**3,
        metadata={"doc": "bytes unpacked from one input, all members together"},
    )
    archive_max_ratio: int = field(
        default=200,
        metadata={"doc": "most bytes a member may unpack to per byte of archive read"},
    )

    def archive_limits(self) -> ArchiveLimits:
        """The unpacking limits (a member is bounded by `max_input_bytes`)."""
        from .media.archive import ArchiveLimits

        return ArchiveLimits(
            max_depth=self.archive_max_depth,
            max_members=self.archive_max_members,
            max_total_bytes=self.archive_max_bytes,
            max_member_bytes=self.max_input_bytes,
            max_ratio=float(self.archive_max_ratio),
        )

    @classmethod
    def from_env(cls, home: str | Path | None = None, **overrides: object) -> Settings:
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"JIANWANG_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = Path(raw).expanduser() if f.name == "home" else _coerce(f.type, raw)
        if home is not None:
            values["home"] = Path(home).expanduser()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'jianwang.db'}"


def _coerce(type_name: object, raw: str) -> object:
    if type_name in (int, "int"):
        return int(raw)
    return raw


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, default, meaning) of every setting, for docs and tests."""
    out = []
    for f in fields(Settings):
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[operator]
        out.append((f"JIANWANG_{f.name.upper()}", str(default), f.metadata.get("doc", "")))
    return out
