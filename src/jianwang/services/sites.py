"""Key websites under supervision: registering, importing and listing them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ..domain import (
    Duplicate,
    InvalidInput,
    JianwangError,
    NotFound,
    Site,
    SiteCategory,
    SupervisionTier,
    format_id,
    parse_id,
)
from ..store.models import SiteDomainRow, SiteRow
from .registry import ImportReport

_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain(raw: str) -> str:
    """Lower-case IDNA (punycode) form of a host name; a URL is reduced to its host."""
    s = raw.strip().lower()
    s = re.sub(r"^[a-z][a-z0-9+.-]*://", "", s).split("/")[0].split(":")[0].rstrip(".")
    if s.startswith("www."):
        s = s[4:]
    try:
        s = s.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(f"invalid domain {raw!r}") from None
    labels = s.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels) or len(s) > 253:
        raise InvalidInput(f"invalid domain {raw!r}")
    return s


@dataclass(frozen=True)
class SiteInput:
    name: str
    domains: Sequence[str]
    category: SiteCategory | str
    tier: SupervisionTier | str
    province: str | None = None
    contact: str | None = None
    notice_channel: str | None = None


class Sites:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def add(self, site: SiteInput) -> Site:
        name = site.name.strip()
        if not name:
            raise InvalidInput("a site needs a name")
        category = _enum(SiteCategory, site.category, "site category")
        tier = _enum(SupervisionTier, site.tier, "supervision tier")
        province = (site.province or "").strip() or None
        if tier == SupervisionTier.PROVINCIAL and not province:
            raise InvalidInput("a provincially supervised site needs --province")
        if tier == SupervisionTier.NATIONAL and province:
            raise InvalidInput("a nationally supervised site has no province")
        domains = list(dict.fromkeys(normalize_domain(d) for d in site.domains if d.strip()))
        if not domains:
            raise InvalidInput("a site needs at least one domain")
        with self.sessions.begin() as s:
            if s.scalar(select(SiteRow).where(SiteRow.name == name)) is not None:
                raise Duplicate(f"a site named {name!r} is already registered")
            taken = s.scalars(select(SiteDomainRow).where(SiteDomainRow.domain.in_(domains))).all()
            if taken:
                t = taken[0]
                raise Duplicate(
                    f"domain {t.domain} already belongs to {format_id('site', t.site_id)}"
                )
            row = SiteRow(
                name=name,
                category=category.value,
                tier=tier.value,
                province=province,
                contact=(site.contact or "").strip() or None,
                notice_channel=(site.notice_channel or "").strip() or None,
            )
            row.domains = [SiteDomainRow(domain=d) for d in domains]
            s.add(row)
            s.flush()
            return _to_site(row)

    def get(self, site_id: str) -> Site:
        sid = parse_id("site", site_id)
        with self.sessions() as s:
            row = s.get(SiteRow, sid)
            if row is None:
                raise NotFound(f"no site {format_id('site', sid)}")
            return _to_site(row)

    def list(
        self,
        category: str | None = None,
        tier: str | None = None,
        province: str | None = None,
        query: str | None = None,
        limit: int = 100,
        offset: int = 0,
        sort: str = "id",
        only: str | None = None,
    ) -> tuple[list[Site], int]:
        """(sites, total matching); `sort` is id, name, category, tier or province (prefix
        - for descending); `only` restricts the list to one site id."""
        columns = {
            "id": SiteRow.id,
            "name": SiteRow.name,
            "category": SiteRow.category,
            "tier": SiteRow.tier,
            "province": SiteRow.province,
        }
        col = columns.get(sort.lstrip("-"))
        if col is None:
            raise InvalidInput(f"cannot sort by {sort!r}; one of: {', '.join(columns)}")
        order = col.desc() if sort.startswith("-") else col
        stmt = select(SiteRow)
        if only is not None:
            stmt = stmt.where(SiteRow.id == parse_id("site", only))
        if category:
            stmt = stmt.where(SiteRow.category == _enum(SiteCategory, category, "category").value)
        if tier:
            stmt = stmt.where(SiteRow.tier == _enum(SupervisionTier, tier, "tier").value)
        if province:
            stmt = stmt.where(SiteRow.province == province)
        if query:
            stmt = stmt.where(SiteRow.name.contains(query, autoescape=True))
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(stmt.order_by(order, SiteRow.id).limit(limit).offset(offset)).all()
            return [_to_site(r) for r in rows], int(total)

    def import_csv(
        self, path: Path, progress: Callable[[int, int], None] | None = None
    ) -> ImportReport:
        """Columns: name, domains (separated by ';'), category, tier, province, contact,
        notice_channel. Sites already registered (by name) are skipped."""
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {path}: {exc}") from None
        reader = csv.DictReader(io.StringIO(text))
        fields = {f.strip().lower() for f in reader.fieldnames or []}
        missing = {"name", "domains", "category", "tier"} - fields
        if missing:
            raise InvalidInput(f"{path} lacks column(s): {', '.join(sorted(missing))}")
        rows = list(reader)
        report = ImportReport()
        for i, rec in enumerate(rows, start=2):
            rec = {(k or "").strip().lower(): (v or "").strip() for k, v in rec.items()}
            with self.sessions() as s:
                existing = s.scalar(select(SiteRow).where(SiteRow.name == rec.get("name")))
            if existing is not None:
                report.skipped.append(format_id("site", existing.id))
            else:
                try:
                    site = self.add(
                        SiteInput(
                            rec.get("name", ""),
                            rec.get("domains", "").split(";"),
                            rec.get("category", ""),
                            rec.get("tier", ""),
                            rec.get("province"),
                            rec.get("contact"),
                            rec.get("notice_channel"),
                        )
                    )
                    report.added.append(site.id)
                except JianwangError as exc:
                    report.failed.append((i, exc.message))
            if progress:
                progress(i - 1, len(rows))
        return report


def _enum(cls: type, value: object, what: str):  # type: ignore[no-untyped-def]
    try:
        return cls(str(value).strip().lower())
    except ValueError:
        options = ", ".join(m.value for m in cls)  # type: ignore[attr-defined]
        raise InvalidInput(f"unknown {what} {value!r}; one of: {options}") from None


def _to_site(row: SiteRow) -> Site:
    return Site(
        id=format_id("site", row.id),
        name=row.name,
        domains=tuple(d.domain for d in row.domains),
        category=SiteCategory(row.category),
        tier=SupervisionTier(row.tier),
        province=row.province,
        contact=row.contact,
        notice_channel=row.notice_channel,
    )
