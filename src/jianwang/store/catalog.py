"""The identify core's view of the records (`identify.Catalog`), backed by the SQL store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..domain import format_id
from .blobs import BlobStore
from .models import AssetRow, FingerprintRow, WorkRow


class StoreCatalog:
    def __init__(self, sessions: sessionmaker[Session], blobs: BlobStore):
        self.sessions = sessions
        self.blobs = blobs

    def works_of(self, method: str, docs: list[int]) -> dict[int, tuple[str, str]]:
        if not docs:
            return {}
        with self.sessions() as s:
            rows = s.execute(
                select(FingerprintRow.id, WorkRow.id, WorkRow.title)
                .join(AssetRow, FingerprintRow.asset_id == AssetRow.id)
                .join(WorkRow, AssetRow.work_id == WorkRow.id)
                .where(FingerprintRow.id.in_(docs))
                .where(FingerprintRow.method == method)
                .where(FingerprintRow.state == "indexed")
                .where(WorkRow.status == "active")
            ).all()
        return {doc: (format_id("work", wid), title) for doc, wid, title in rows}

    def reference_signal(self, method: str, doc: int) -> Any | None:
        with self.sessions() as s:
            row = s.get(FingerprintRow, doc)
            if row is None or row.rendition_sha256 is None:
                return None
            sha = row.rendition_sha256
        if not self.blobs.exists(sha):
            return None
        # renditions are stored as what the method decodes to; text methods: UTF-8 text
        return self.blobs.get(sha).decode("utf-8")
