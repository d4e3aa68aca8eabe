"""The identify core's view of the records (`identify.Catalog`), backed by the SQL store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, bindparam, select

from ..domain import format_id
from ..identify import Reference
from .blobs import BlobStore
from .models import AssetRow, FingerprintRow, WorkRow

_REFERENCE = (
    select(
        FingerprintRow.id.label("doc"),
        WorkRow.id,
        WorkRow.title,
        WorkRow.status,
        FingerprintRow.rendition_sha256,
        FingerprintRow.state,
        FingerprintRow.method,
    )
    .select_from(FingerprintRow)
    .join(AssetRow, FingerprintRow.asset_id == AssetRow.id)
    .join(WorkRow, AssetRow.work_id == WorkRow.id)
)


class StoreCatalog:
    """One query per batch of unknown doc ids (the identifier caches the answers)."""

    def __init__(self, engine: Engine, blobs: BlobStore):
        self.engine = engine
        self.blobs = blobs
        self._stmt = _REFERENCE.where(
            FingerprintRow.id.in_(bindparam("docs", expanding=True)),
            FingerprintRow.method == bindparam("method"),
        )

    def references(self, method: str, docs: list[int]) -> dict[int, Reference]:
        if not docs:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(self._stmt, {"docs": docs, "method": method}).all()
        return {row.doc: _reference(row) for row in rows}

    def all_references(self, method: str, limit: int) -> dict[int, Reference] | None:
        """Every reference of `method`, or None when there are more than `limit`."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                _REFERENCE.where(FingerprintRow.method == method).limit(limit + 1)
            ).all()
        if len(rows) > limit:
            return None
        return {row.doc: _reference(row) for row in rows}

    def rendition(self, key: str) -> bytes | None:
        if not self.blobs.exists(key):
            return None
        return self.blobs.get(key)


def _reference(row: Any) -> Reference:
    live = row.state == "indexed" and row.status == "active"
    return Reference(format_id("work", row.id), row.title, row.rendition_sha256, live)
