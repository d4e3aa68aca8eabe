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
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
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
