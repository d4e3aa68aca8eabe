"""Aligned passages for people: the texts behind a text match, cut into plain and
highlighted pieces (the dashboard's side-by-side view)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..domain import parse_id
from ..store.blobs import BlobStore
from ..store.models import AssetRow, FingerprintRow


def reference_text(sessions: sessionmaker[Session], blobs: BlobStore, work_id: str) -> str | None:
    """The registered text a text match's reference offsets point into (the extracted text
    of the work's first text file), or None when the work has none."""
    wid = parse_id("work", work_id)
    with sessions() as s:
        sha = s.scalar(
            select(FingerprintRow.rendition_sha256)
            .join(AssetRow, FingerprintRow.asset_id == AssetRow.id)
            .where(AssetRow.work_id == wid, AssetRow.media == "text")
            .where(FingerprintRow.rendition_sha256.is_not(None))
            .order_by(AssetRow.id, FingerprintRow.id)
            .limit(1)
        )
    if sha is None or not blobs.exists(sha):
        return None
    return blobs.get(sha).decode("utf-8", errors="replace")


def pieces(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, int | None]]:
    """`text` cut at the spans' edges: (piece, number of the span it belongs to, from 1) or
    (piece, None) between spans. Overlapping spans are clipped to where the previous ended."""
    out: list[tuple[str, int | None]] = []
    pos = 0
    order = sorted(range(len(spans)), key=lambda i: spans[i])
    for i in order:
        start = max(0, min(int(spans[i][0]), len(text)))
        end = max(0, min(int(spans[i][1]), len(text)))
        start = max(start, pos)
        if end <= start:
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], i + 1))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out
