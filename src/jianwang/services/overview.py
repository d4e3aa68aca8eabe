"""Counts for the overview page and `GET /api/v1/overview`, limited to what a user may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..domain import parse_id
from ..store.models import AuditRow, HolderRow, SiteRow, UserRow, WorkRow


def overview(
    sessions: sessionmaker[Session],
    owner: str | None = None,
    site: str | None = None,
    works_visible: bool = True,
    everything: bool = False,
) -> dict[str, Any]:
    """`owner`: count only this rights holder's works; `site`: only this site;
    `works_visible`: False for site operators (no work counts); `everything`: add user and
    audit counts (the regulator)."""
    out: dict[str, Any] = {}
    with sessions() as s:
        if works_visible:
            stmt = select(WorkRow.type, WorkRow.status, func.count()).join(
                HolderRow, WorkRow.owner_id == HolderRow.id
            )
            if owner is not None:
                stmt = stmt.where(HolderRow.name == owner)
            by_type: dict[str, int] = {}
            by_status: dict[str, int] = {}
            for wtype, status, n in s.execute(stmt.group_by(WorkRow.type, WorkRow.status)):
                by_status[status] = by_status.get(status, 0) + n
                if status == "active":
                    by_type[wtype] = by_type.get(wtype, 0) + n
            out["works"] = {
                "active": by_status.get("active", 0),
                "removed": by_status.get("removed", 0),
                "by_type": dict(sorted(by_type.items())),
            }
            hstmt = select(func.count()).select_from(HolderRow)
            if owner is not None:
                hstmt = hstmt.where(HolderRow.name == owner)
            out["holders"] = int(s.scalar(hstmt) or 0)
        sstmt = select(SiteRow.category, SiteRow.tier, func.count())
        if site is not None:
            sstmt = sstmt.where(SiteRow.id == parse_id("site", site))
        by_category: dict[str, int] = {}
        by_tier: dict[str, int] = {}
        total = 0
        for cat, tier, n in s.execute(sstmt.group_by(SiteRow.category, SiteRow.tier)):
            by_category[cat] = by_category.get(cat, 0) + n
            by_tier[tier] = by_tier.get(tier, 0) + n
            total += n
        out["sites"] = {
            "total": total,
            "by_category": dict(sorted(by_category.items())),
            "by_tier": dict(sorted(by_tier.items())),
        }
        if everything:
            users: dict[str, int] = {}
            for role, n in s.execute(
                select(UserRow.role, func.count()).where(UserRow.active).group_by(UserRow.role)
            ):
                users[role] = n
            out["users"] = dict(sorted(users.items()))
            out["audit_entries"] = int(s.scalar(select(func.count()).select_from(AuditRow)) or 0)
    return out
