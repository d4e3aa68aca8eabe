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
    session_hours: int = field(default=12, metadata={"doc": "hours a dashboard sign-in lasts"})
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

    crawl_allow_networks: str = field(
        default="",
        metadata={
            "doc": "comma-separated IP networks the monitor may fetch although they are private, "
            "loopback or link-local (e.g. `127.0.0.1/32` for a local test site); cloud "
            "metadata addresses are refused always"
        },
    )
    crawl_user_agent: str = field(
        default="JianwangMonitor/0.1 (+https://github.com/jianwang; copyright monitoring)",
        metadata={
            "doc": "User-Agent of the monitor (a plan may set its own); robots.txt rules "
            "are matched against it"
        },
    )
    crawl_timeout_seconds: int = field(
        default=20,
        metadata={"doc": "seconds to connect, and the longest silence while reading a response"},
    )
    crawl_page_seconds: int = field(
        default=60, metadata={"doc": "longest time for one page, redirects included"}
    )
    crawl_page_max_bytes: int = field(
        default=8 * 1024 * 1024,
        metadata={"doc": "largest page (HTML, text, playlists) read, after decompression"},
    )
    crawl_media_max_bytes: int = field(
        default=256 * 1024 * 1024,
        metadata={"doc": "largest media file or download fetched (streamed to disk)"},
    )
    crawl_media_max_seconds: int = field(
        default=180,
        metadata={"doc": "seconds of an HLS stream fetched for fingerprinting (its first minutes)"},
    )
    crawl_media_deadline_seconds: int = field(
        default=600, metadata={"doc": "longest time for one media file, download or stream"}
    )
    crawl_retries: int = field(
        default=2, metadata={"doc": "retries after a 429, a 5xx or a broken connection"}
    )
    crawl_backoff_seconds: str = field(
        default="1.0",
        metadata={"doc": "first wait before a retry (doubled each time; Retry-After wins)"},
    )
    crawl_search_titles: int = field(
        default=200,
        metadata={"doc": "most work titles filled into a plan's search templates per run"},
    )
    chromium: str = field(
        default="chromium",
        metadata={"doc": "Chromium used for page screenshots in captures; empty: no screenshots"},
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
