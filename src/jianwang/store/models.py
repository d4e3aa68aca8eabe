"""SQLAlchemy 2 models: records and fingerprint manifests, never hash rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class HolderRow(Base):
    __tablename__ = "holders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorkRow(Base):
    __tablename__ = "works"
    # ids are never reused (public ids and index doc ids must not come back to life)
    __table_args__ = (
        UniqueConstraint("owner_id", "type", "title", name="uq_work_owner_type_title"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(500), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("holders.id"), index=True)
    identifiers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    release_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    owner: Mapped[HolderRow] = relationship(lazy="joined")
    assets: Mapped[list[AssetRow]] = relationship(
        back_populates="work", order_by="AssetRow.id", lazy="selectin"
    )


class AssetRow(Base):
    """A reference file of a work; its bytes live in the blob store under `sha256`."""

    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("work_id", "sha256", name="uq_asset_work_sha"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("works.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(500))
    media: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    work: Mapped[WorkRow] = relationship(back_populates="assets")


class FingerprintRow(Base):
    """Manifest of one asset's fingerprints in one method version; `id` is the index doc id.

    `state`: pending (recorded, not yet in the index: an interrupted registration resumes it),
    indexed, removed (tombstoned in the index).
    """

    __tablename__ = "fingerprints"
    __table_args__ = (
        UniqueConstraint("asset_id", "method", "version", name="uq_fingerprint_asset_method"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    method: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    #: blob holding the decoded reference the method works on (e.g. the extracted text)
    rendition_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    asset: Mapped[AssetRow] = relationship(lazy="joined")


class SiteRow(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    category: Mapped[str] = mapped_column(String(20), index=True)
    tier: Mapped[str] = mapped_column(String(20), index=True)
    province: Mapped[str | None] = mapped_column(String(100), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(500), nullable=True)
    notice_channel: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    domains: Mapped[list[SiteDomainRow]] = relationship(
        back_populates="site",
        order_by="SiteDomainRow.id",
        lazy="selectin",
        cascade="all, delete-orphan",
    )


class SiteDomainRow(Base):
    __tablename__ = "site_domains"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)

    site: Mapped[SiteRow] = relationship(back_populates="domains")


class UserRow(Base):
    """A person who signs in. `role`: admin or staff (the regulator), holder (a user of the
    rights holder `holder_id`) or operator (a user of the key website `site_id`)."""

    __tablename__ = "users"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(300), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), index=True)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("holders.id"), nullable=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: consecutive failed sign-ins, and until when signing in is refused after too many
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TokenRow(Base):
    """An API bearer token; only its SHA-256 is stored (the token is shown once)."""

    __tablename__ = "api_tokens"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditRow(Base):
    """Who changed what, when, through which interface (api, dashboard, cli)."""

    __tablename__ = "audit"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    via: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(50), index=True)
    target: Mapped[str] = mapped_column(String(100), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# ---------------------------------------------------------------- monitoring (migration 0003)


class PlanRow(Base):
    """How the monitor visits one key website (one plan per site)."""

    __tablename__ = "crawl_plans"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), unique=True)
    seeds: Mapped[list[str]] = mapped_column(JSON, default=list)
    sitemaps: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: URLs with `{title}`, filled with the titles of protected works
    search_templates: Mapped[list[str]] = mapped_column(JSON, default=list)
    include: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclude: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_depth: Mapped[int] = mapped_column(Integer, default=3)
    max_pages: Mapped[int] = mapped_column(Integer, default=1000)
    recrawl_minutes: Mapped[int] = mapped_column(Integer, default=1440)
    crawl_delay: Mapped[float] = mapped_column(Float, default=1.0)
    concurrency: Mapped[int] = mapped_column(Integer, default=2)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    obey_robots: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    next_due_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )

    site: Mapped[SiteRow] = relationship(lazy="joined")


class RunRow(Base):
    """One visit of a plan. `state`: running, interrupted, finished, failed."""

    __tablename__ = "crawl_runs"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("crawl_plans.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="running", index=True)
    trigger: Mapped[str] = mapped_column(String(20), default="cli")
    max_pages: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    fetched_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    leads: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    resumed: Mapped[int] = mapped_column(Integer, default=0)
    #: counts of errors and skips by kind, and the run's closing message
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    site: Mapped[SiteRow] = relationship(lazy="joined")


class FrontierRow(Base):
    """A URL of one run: queued until its work is done (so a resumed run refetches only
    what was not finished). `state`: queued, done, failed, skipped."""

    __tablename__ = "crawl_urls"
    __table_args__ = (
        UniqueConstraint("run_id", "url_key", name="uq_crawl_url_run_key"),
        Index("ix_crawl_urls_run_state", "run_id", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"))
    url_key: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    found_on: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PageRow(Base):
    """What the monitor last saw at a URL of a site: validators for conditional requests on
    recrawl, and the body it had."""

    __tablename__ = "crawl_pages"
    __table_args__ = (UniqueConstraint("site_id", "url_key", name="uq_crawl_page_site_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    url_key: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(300), nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(100), nullable=True)
    body_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaptureRow(Base):
    """Evidence: what the monitor received for one URL at one time. Never changed after it
    is written (an update raises)."""

    __tablename__ = "captures"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True, index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), nullable=True)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str] = mapped_column(Text)
    found_on: Mapped[str | None] = mapped_column(Text, nullable=True)
    redirects: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    content_type: Mapped[str] = mapped_column(String(200), default="")
    media: Mapped[str] = mapped_column(String(20))
    body_sha256: Mapped[str] = mapped_column(String(64), index=True)
    body_size: Mapped[int] = mapped_column(BigInteger)
    #: the body is the first part of a longer resource (HLS: the first minutes)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@event.listens_for(CaptureRow, "before_update")
def _captures_are_immutable(mapper: Any, connection: Any, target: CaptureRow) -> None:
    raise ValueError(f"capture {target.id} is evidence and cannot be changed")


class HitRow(Base):
    """A registered work found at a URL of a key website; one per (URL, work).
    `state`: new, confirmed, rejected."""

    __tablename__ = "hits"
    __table_args__ = (
        UniqueConstraint("url_key", "work_id", name="uq_hit_url_work"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), nullable=True, index=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("works.id"), index=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))
    last_capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), nullable=True)
    url_key: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(Text)
    found_on: Mapped[str | None] = mapped_column(Text, nullable=True)
    media: Mapped[str] = mapped_column(String(20))
    member: Mapped[str | None] = mapped_column(Text, nullable=True)
    score: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(40), default="")
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20), default="new", index=True)
    reviewer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: a confirmed work came back to this site after a removal
    reupload: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seen_count: Mapped[int] = mapped_column(Integer, default=1)

    site: Mapped[SiteRow | None] = relationship(lazy="joined")
    work: Mapped[WorkRow] = relationship(lazy="joined")


class HitEventRow(Base):
    """Append-only history of a hit: found, seen, confirmed, rejected, reopened, removed,
    reappeared."""

    __tablename__ = "hit_events"
    __table_args__ = ({"sqlite_autoincrement": True},)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), nullable=True)


class LeadRow(Base):
    """A network-disk share link (and its extraction code) seen on a key website."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("site_id", "url", name="uq_lead_site_url"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), nullable=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"))
    page_url: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(1000))
    code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    context: Mapped[str] = mapped_column(Text, default="")
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
