"""Plain domain records and enums shared by every layer (no I/O, stdlib only)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


class MediaType(enum.StrEnum):
    """What a piece of content is, decided by sniffing its bytes."""

    AUDIO = "audio"
    VIDEO = "video"
    IMAGE = "image"
    TEXT = "text"
    FILE = "file"


class WorkType(enum.StrEnum):
    FILM = "film"
    TV = "tv"
    MUSIC = "music"
    LITERATURE = "literature"
    GAME = "game"
    ANIMATION = "animation"
    SOFTWARE = "software"
    IMAGE = "image"


class SiteCategory(enum.StrEnum):
    VIDEO = "video"
    MUSIC = "music"
    LITERATURE = "literature"
    NETWORK_DISK = "network-disk"
    GAME = "game"
    SOFTWARE = "software"
    OTHER = "other"


class SupervisionTier(enum.StrEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"


class WorkStatus(enum.StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


class Verdict(enum.StrEnum):
    """`match`: a copy; `review`: clearly derivative but below the match threshold."""

    MATCH = "match"
    REVIEW = "review"


# ---------------------------------------------------------------- errors


class JianwangError(Exception):
    """An error a user can cause; shown as one line (CLI) or a 4xx (API)."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(JianwangError):
    code = "not_found"


class Duplicate(JianwangError):
    code = "duplicate"


class Conflict(JianwangError):
    """The request is well formed but clashes with the current state (HTTP 409)."""

    code = "conflict"


class InvalidInput(JianwangError):
    code = "invalid_input"


class TooLarge(InvalidInput):
    code = "too_large"


class UnsupportedMedia(InvalidInput):
    code = "unsupported_media"


# ---------------------------------------------------------------- public ids

_PREFIX = {"work": "W", "site": "S", "holder": "H", "run": "R", "capture": "C", "hit": "HIT"}
_ID_RE = re.compile(r"^\s*([A-Za-z]{1,3})?-?0*(\d+)\s*$")


def format_id(kind: str, number: int) -> str:
    """`format_id("work", 42) == "W000042"`: stable, sortable, typed public ids."""
    return f"{_PREFIX[kind]}{number:06d}"


def parse_id(kind: str, text: str) -> int:
    """Accept `W000042`, `w42` or `42` for a work; raise InvalidInput otherwise."""
    m = _ID_RE.match(str(text))
    prefix = _PREFIX[kind]
    if not m or (m.group(1) and m.group(1).upper() != prefix) or int(m.group(2)) <= 0:
        raise InvalidInput(f"invalid {kind} id {text!r}: expected like {prefix}000042", id=text)
    return int(m.group(2))


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class RightsHolder:
    id: str
    name: str


@dataclass(frozen=True)
class Asset:
    sha256: str
    size: int
    filename: str
    media: MediaType


@dataclass(frozen=True)
class Work:
    id: str
    type: WorkType
    title: str
    owner: str
    identifiers: dict[str, str] = field(default_factory=dict)
    release_date: date | None = None
    status: WorkStatus = WorkStatus.ACTIVE
    created_at: datetime | None = None
    assets: tuple[Asset, ...] = ()


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    domains: tuple[str, ...]
    category: SiteCategory
    tier: SupervisionTier
    province: str | None = None
    contact: str | None = None
    notice_channel: str | None = None


@dataclass(frozen=True)
class Segment:
    """Aligned stretch: `query` and `reference` are [start, end) in the media's units
    (characters for text, seconds for audio and video)."""

    query: tuple[float, float]
    reference: tuple[float, float]


@dataclass(frozen=True)
class Match:
    work_id: str
    title: str
    score: float
    verdict: Verdict
    segments: tuple[Segment, ...] = ()
    method: str = ""
    #: the method's measurements behind the verdict; audio: `speed` (reference seconds per
    #: query second), `pitch` (query frequency / reference frequency), `inliers`
    evidence: dict[str, float] = field(default_factory=dict)
    #: where in an archive the match was found ("setup.zip/bin/game.exe"), None otherwise
    member: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "work_id": self.work_id,
            "title": self.title,
            "score": round(self.score, 4),
            "verdict": self.verdict.value,
            "segments": [
                {"query": list(s.query), "reference": list(s.reference)} for s in self.segments
            ],
        }
        if self.method:
            out["method"] = self.method
        if self.evidence:
            out["evidence"] = {k: round(v, 4) for k, v in self.evidence.items()}
        if self.member is not None:
            out["member"] = self.member
        return out


@dataclass(frozen=True)
class Identification:
    """The answer to "is this input a copy of a registered work?"."""

    input: str
    media: MediaType
    matches: tuple[Match, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "media": self.media.value,
            "matches": [m.to_json() for m in self.matches],
        }


# ---------------------------------------------------------------- accounts


class Unauthenticated(JianwangError):
    """No valid credentials (HTTP 401)."""

    code = "unauthenticated"


class Forbidden(JianwangError):
    """Authenticated, but the role may not do this (HTTP 403)."""

    code = "forbidden"


class Throttled(JianwangError):
    """Too many failed sign-ins; `retry_after` seconds to wait (HTTP 429)."""

    code = "too_many_attempts"


class Role(enum.StrEnum):
    """admin and staff work for the regulator; a holder user acts for one rights holder;
    an operator user for one key website."""

    ADMIN = "admin"
    STAFF = "staff"
    HOLDER = "holder"
    OPERATOR = "operator"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    holder_id: str | None = None
    holder_name: str | None = None
    site_id: str | None = None
    site_name: str | None = None
    active: bool = True
    created_at: datetime | None = None

    @property
    def is_regulator(self) -> bool:
        return self.role in (Role.ADMIN, Role.STAFF)


@dataclass(frozen=True)
class ApiToken:
    id: int
    user_id: int
    username: str
    name: str
    prefix: str
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    via: str
    action: str
    target: str
    details: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- monitoring


class HitState(enum.StrEnum):
    NEW = "new"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class RunState(enum.StrEnum):
    RUNNING = "running"
    INTERRUPTED = "interrupted"  # Ctrl-C, a crash or the page budget: the next run resumes it
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class Plan:
    """How the monitor visits a key website."""

    site_id: str
    site_name: str
    seeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    search_templates: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_depth: int = 3
    max_pages: int = 1000
    recrawl_minutes: int = 1440
    crawl_delay: float = 1.0
    concurrency: int = 2
    user_agent: str = ""
    obey_robots: bool = True
    enabled: bool = True
    last_run_at: datetime | None = None
    next_due_at: datetime | None = None


@dataclass(frozen=True)
class Run:
    id: str
    site_id: str
    site_name: str
    state: RunState
    trigger: str
    max_pages: int
    started_at: datetime
    finished_at: datetime | None
    pages: int
    fetched_bytes: int
    hits: int
    leads: int
    errors: int
    skipped: int
    resumed: int
    queued: int
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capture:
    """Evidence: one response exactly as received, sealed by the SHA-256 of its body."""

    id: str
    site_id: str | None
    run_id: str | None
    url: str
    final_url: str
    found_on: str | None
    redirects: tuple[dict[str, Any], ...]
    fetched_at: datetime
    ip: str
    status: int
    headers: tuple[tuple[str, str], ...]
    content_type: str
    media: str
    body_sha256: str
    body_size: int
    truncated: bool
    screenshot_sha256: str | None


@dataclass(frozen=True)
class HitEvent:
    at: datetime
    actor: str
    action: str
    reason: str | None
    capture_id: str | None


@dataclass(frozen=True)
class Hit:
    id: str
    site_id: str | None
    site_name: str | None
    work_id: str
    title: str
    owner: str
    url: str
    found_on: str | None
    media: str
    member: str | None
    score: float
    verdict: str
    method: str
    segments: tuple[Segment, ...]
    state: HitState
    reviewer: str | None
    reason: str | None
    reupload: bool
    removed_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    seen_count: int
    capture_id: str
    last_capture_id: str
    events: tuple[HitEvent, ...] = ()


@dataclass(frozen=True)
class Lead:
    """A network-disk share link seen on a key website, with its extraction code."""

    id: int
    site_id: str
    provider: str
    url: str
    code: str | None
    page_url: str
    context: str
    capture_id: str
    first_seen_at: datetime
