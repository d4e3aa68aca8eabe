"""Registry workflow: rights holders, works, reference assets and their fingerprints.

Registration is two-phase so that nothing registered is lost and nothing half-done stays
invisible: (1) blobs are written and the work, its assets and *pending* fingerprint manifests
are committed; (2) fingerprints go into the index and the manifests become *indexed*. A crash
between the two leaves pending manifests, which `resume_pending` (run by every registration
and import) finishes. The SQL database is the source of truth; the index can be rebuilt.
"""

from __future__ import annotations

import csv
import io
import mmap
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from .. import media
from ..domain import (
    Asset,
    Duplicate,
    InvalidInput,
    JianwangError,
    MediaType,
    NotFound,
    RightsHolder,
    TooLarge,
    UnsupportedMedia,
    Work,
    WorkStatus,
    WorkType,
    format_id,
    parse_id,
)
from ..engine import LocalEngine
from ..fingerprint.base import Fingerprinter, Fingerprints, Role, for_media
from ..identify import Indexes
from ..media.archive import ArchiveLimits, archive_format, unpack
from ..store.blobs import BlobStore
from ..store.models import AssetRow, FingerprintRow, HolderRow, WorkRow

#: media a work type may be registered with
ACCEPTED_MEDIA: dict[WorkType, tuple[MediaType, ...]] = {
    WorkType.LITERATURE: (MediaType.TEXT,),
    WorkType.MUSIC: (MediaType.AUDIO, MediaType.VIDEO),
    WorkType.FILM: (MediaType.VIDEO, MediaType.AUDIO, MediaType.IMAGE),
    WorkType.TV: (MediaType.VIDEO, MediaType.AUDIO, MediaType.IMAGE),
    WorkType.ANIMATION: (MediaType.VIDEO, MediaType.AUDIO, MediaType.IMAGE),
    WorkType.IMAGE: (MediaType.IMAGE,),
    WorkType.GAME: tuple(MediaType),
    WorkType.SOFTWARE: tuple(MediaType),
}


@dataclass(frozen=True)
class WorkInput:
    """What a rights holder submits. `files` are paths, or (name, bytes) pairs."""

    files: Sequence[Path | tuple[str, bytes]]
    type: WorkType | str
    title: str
    owner: str
    identifiers: dict[str, str] = field(default_factory=dict)
    release_date: date | str | None = None


@dataclass
class _PreparedFingerprint:
    method: Fingerprinter
    fingerprints: Fingerprints
    rendition_sha256: str


@dataclass
class _PreparedAsset:
    sha256: str
    size: int
    filename: str
    media: MediaType
    fingerprints: list[_PreparedFingerprint]


@dataclass
class _PreparedWork:
    type: WorkType
    title: str
    owner: str
    identifiers: dict[str, str]
    release_date: date | None
    assets: list[_PreparedAsset]


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (manifest line, error)

    def to_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "skipped": self.skipped,
            "failed": [{"line": n, "error": e} for n, e in self.failed],
        }


class Registry:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        blobs: BlobStore,
        indexes: Indexes,
        max_input_bytes: int,
        engine: LocalEngine | None = None,
        on_removed: Callable[[list[int]], None] | None = None,
        tmp_root: Path | None = None,
        archive_limits: ArchiveLimits | None = None,
    ):
        self.sessions = sessions
        #: where archives are unpacked: inside the data home
        self.tmp_root = tmp_root or blobs.root.parent / "tmp"
        self.archive_limits = archive_limits or ArchiveLimits(max_member_bytes=max_input_bytes)
        self.blobs = blobs
        self.indexes = indexes
        self.max_input_bytes = max_input_bytes
        self.engine = engine or LocalEngine(1)
        self.on_removed = on_removed
        # fingerprints computed in phase 1, waiting for phase 2 in this process
        self._pending_fps: dict[tuple[int, str], Fingerprints] = {}

    # ------------------------------------------------------------ registering

    def add_work(self, work: WorkInput) -> Work:
        """Register one work and fingerprint its files. Raises Duplicate when the owner
        already has an active work of that type and title."""
        self.resume_pending()
        prepared = self._prepare(work)
        with self.sessions() as s:
            existing = _find_work(s, prepared.owner, prepared.type, prepared.title)
            if existing is not None:
                raise Duplicate(
                    f"{prepared.owner!r} already registered {prepared.type.value} "
                    f"{prepared.title!r} as {format_id('work', existing.id)}",
                    work_id=format_id("work", existing.id),
                )
        [work_id] = self._commit([prepared])
        self._index_pending()
        return self.get_work(work_id)

    def import_manifest(
        self,
        path: Path,
        progress: Callable[[int, int], None] | None = None,
        batch: int = 64,
    ) -> ImportReport:
        """Register every row of a CSV manifest (columns: file, type, title, owner, and
        optionally release_date and identifier columns such as isbn). Files are relative to
        the manifest. Rows already registered are skipped, so an interrupted import is
        resumed by running it again. A bad row is reported and does not stop the others."""
        self.resume_pending()
        rows = _read_manifest(path)
        report = ImportReport()
        done = 0
        seen: set[tuple[str, str, str]] = set()
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            todo: list[tuple[int, WorkInput]] = []
            with self.sessions() as s:
                for line, inp in chunk:
                    key = (inp.owner.strip(), str(inp.type).strip(), inp.title.strip())
                    existing = _find_work(s, key[0], key[1], key[2])
                    if existing is not None or key in seen:
                        report.skipped.append(
                            format_id("work", existing.id) if existing else f"line {line}"
                        )
                    else:
                        seen.add(key)
                        todo.append((line, inp))
            prepared: list[_PreparedWork] = []

            def prep(item: tuple[int, WorkInput]) -> _PreparedWork | JianwangError:
                try:
                    return self._prepare(item[1])
                except JianwangError as exc:
                    return exc

            for (line, _), result in zip(todo, self.engine.map(prep, todo), strict=True):
                if isinstance(result, JianwangError):
                    report.failed.append((line, result.message))
                else:
                    prepared.append(result)
            if prepared:
                report.added.extend(self._commit(prepared))
                self._index_pending(flush=False)
            done += len(chunk)
            if progress:
                progress(done, len(rows))
        self.indexes_flush()
        return report

    def indexes_flush(self) -> None:
        for method in _all_methods():
            index = self.indexes.for_method(method)
            with index.writing():
                index.flush()

    def _prepare(self, work: WorkInput) -> _PreparedWork:
        try:
            wtype = WorkType(str(work.type).strip().lower())
        except ValueError:
            raise InvalidInput(
                f"unknown work type {work.type!r}; one of: {', '.join(t.value for t in WorkType)}"
            ) from None
        title, owner = work.title.strip(), work.owner.strip()
        if not title:
            raise InvalidInput("a work needs a title")
        if not owner:
            raise InvalidInput("a work needs an owner (rights holder)")
        if not work.files:
            raise InvalidInput("a work needs at least one reference file")
        identifiers = {k.strip().lower(): v.strip() for k, v in work.identifiers.items() if v}
        if "isbn" in identifiers:
            identifiers["isbn"] = normalize_isbn(identifiers["isbn"])
        assets = [a for f in work.files for a in self._prepare_assets(f, wtype)]
        return _PreparedWork(
            wtype, title, owner, identifiers, _parse_date(work.release_date), assets
        )

    def _prepare_assets(
        self, file: Path | tuple[str, bytes], wtype: WorkType
    ) -> list[_PreparedAsset]:
        """One file's assets: itself, and for software and games, when it is an archive or
        installer, each of its members (named "setup.zip/bin/game.exe")."""
        if wtype not in (WorkType.SOFTWARE, WorkType.GAME):
            return [self._prepare_asset(file, wtype)]
        if isinstance(file, tuple):
            if archive_format(file[1][:512]) is None:
                return [self._prepare_asset(file, wtype)]
            self.tmp_root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix="register-", dir=self.tmp_root)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(file[1])
                return self._prepare_archive(Path(tmp), file[0], wtype)
            finally:
                os.unlink(tmp)
        try:
            with open(file, "rb") as fh:
                head = fh.read(512)
        except OSError as exc:
            raise InvalidInput(f"cannot read {file}: {exc.strerror or exc}") from None
        if archive_format(head) is None:
            return [self._prepare_asset(file, wtype)]
        return self._prepare_archive(file, file.name, wtype)

    def _prepare_archive(self, path: Path, name: str, wtype: WorkType) -> list[_PreparedAsset]:
        """The archive, stored and fingerprinted as a file without reading it into memory,
        then its members (unpacked under the limits of `media.archive`)."""
        method = _method("file")
        if path.stat().st_size > self.max_input_bytes:
            raise TooLarge(
                f"{name}: {path.stat().st_size / 1e6:.1f} MB is over the limit of "
                f"{self.max_input_bytes / 1e6:.1f} MB (JIANWANG_MAX_INPUT_BYTES)"
            )
        with open(path, "rb") as fh:
            sha, size = self.blobs.put_file(fh)
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                fp = method.extract(mm, Role.REFERENCE)
        out = [
            _PreparedAsset(sha, size, name, MediaType.FILE, [_PreparedFingerprint(method, fp, sha)])
        ]
        with unpack(path, self.archive_limits, self.tmp_root, label=name) as members:
            for m in members:
                if m.size:
                    out.append(self._prepare_asset((f"{name}/{m.path}", m.read()), wtype))
        return out

    def _prepare_asset(self, file: Path | tuple[str, bytes], wtype: WorkType) -> _PreparedAsset:
        if isinstance(file, tuple):
            name, data = file
        else:
            name = file.name
            try:
                size = file.stat().st_size
                if size > self.max_input_bytes:
                    raise TooLarge(
                        f"{file}: {size / 1e6:.1f} MB is over the limit of "
                        f"{self.max_input_bytes / 1e6:.1f} MB (JIANWANG_MAX_INPUT_BYTES)"
                    )
                data = file.read_bytes()
            except OSError as exc:
                raise InvalidInput(f"cannot read {file}: {exc.strerror or exc}") from None
        try:
            kind, _fmt = media.sniff(data)
            decoded = None
            if kind == MediaType.TEXT or (
                kind in (MediaType.AUDIO, MediaType.VIDEO, MediaType.IMAGE)
                and kind in ACCEPTED_MEDIA[wtype]
            ):
                try:
                    decoded = media.decode(data, self.max_input_bytes)
                except (InvalidInput, UnsupportedMedia):
                    if wtype not in (WorkType.SOFTWARE, WorkType.GAME):
                        raise
                    decoded = None  # a game's damaged sprite is still one of its files
        except JianwangError as exc:
            raise type(exc)(f"{name}: {exc.message}") from None
        if _fmt == "binary" and wtype not in (WorkType.SOFTWARE, WorkType.GAME):
            raise InvalidInput(
                f"{name}: binary data of no known format cannot be registered "
                f"as a {wtype.value} work"
            )
        if kind not in ACCEPTED_MEDIA[wtype] or (
            _fmt == "binary" and wtype != WorkType.SOFTWARE and wtype != WorkType.GAME
        ):
            raise InvalidInput(
                f"{name}: {kind.value} content cannot be registered as a {wtype.value} work"
            )
        signals = [] if decoded is None else decoded.signals()
        if wtype == WorkType.MUSIC:
            # music is registered by its sound: a music video's pictures are not the work
            signals = [(m, sig) for m, sig in signals if m == MediaType.AUDIO]
            if not signals:
                raise InvalidInput(f"{name}: a music work needs sound; this file has none")
        software = wtype in (WorkType.SOFTWARE, WorkType.GAME)
        if software and not any(m == MediaType.FILE for m, _ in signals):
            # every file of a release is also found by its bytes (the file method)
            signals.append((MediaType.FILE, data))
        sha, size = self.blobs.put_bytes(data)
        fps: list[_PreparedFingerprint] = []
        for kind_of_signal, signal in signals:
            if kind_of_signal == MediaType.TEXT:
                rsha, _ = self.blobs.put_bytes(str(signal).encode("utf-8"))
            else:  # a recording or picture is its own rendition: decoding it again is cheap
                rsha = sha
            for method in for_media(kind_of_signal):
                if software and kind_of_signal != MediaType.FILE:
                    fp = _extract_or_none(method, signal)
                    if fp is None:
                        continue  # a 1-pixel sprite a picture method cannot read: bytes count
                else:
                    fp = method.extract(signal, Role.REFERENCE)
                if len(fp) == 0:
                    if software:
                        continue  # a release's tiny README: its bytes still count
                    if kind_of_signal == MediaType.TEXT:
                        raise InvalidInput(f"{name}: too little text to fingerprint")
                    if kind_of_signal == MediaType.AUDIO and len(signals) == 1:
                        raise InvalidInput(f"{name}: too little audible content to fingerprint")
                    if kind_of_signal != MediaType.AUDIO and len(signals) == 1:
                        raise InvalidInput(f"{name}: too little picture content to fingerprint")
                    continue  # e.g. a silent soundtrack beside pictures that do count
                fps.append(_PreparedFingerprint(method, fp, rsha))
        if signals and not fps:
            raise InvalidInput(f"{name}: nothing in this file can be fingerprinted")
        return _PreparedAsset(sha, size, name, kind, fps)

    def _commit(self, works: list[_PreparedWork]) -> list[str]:
        """Phase 1: records and pending manifests, in one transaction."""
        ids: list[int] = []
        with self.sessions.begin() as s:
            for w in works:
                holder = s.scalar(select(HolderRow).where(HolderRow.name == w.owner))
                if holder is None:
                    holder = HolderRow(name=w.owner)
                    s.add(holder)
                    s.flush()
                row = WorkRow(
                    type=w.type.value,
                    title=w.title,
                    owner_id=holder.id,
                    identifiers=w.identifiers,
                    release_date=w.release_date,
                    status="active",
                )
                s.add(row)
                s.flush()
                for a in w.assets:
                    existing_asset = s.scalar(
                        select(AssetRow).where(
                            AssetRow.work_id == row.id, AssetRow.sha256 == a.sha256
                        )
                    )
                    if existing_asset is not None:
                        continue  # the same file given twice
                    arow = AssetRow(
                        work_id=row.id,
                        sha256=a.sha256,
                        size=a.size,
                        filename=a.filename,
                        media=a.media.value,
                    )
                    s.add(arow)
                    s.flush()
                    for p in a.fingerprints:
                        frow = FingerprintRow(
                            asset_id=arow.id,
                            method=p.method.name,
                            version=p.method.version,
                            state="pending",
                            count=len(p.fingerprints),
                            rendition_sha256=p.rendition_sha256,
                        )
                        s.add(frow)
                        s.flush()
                        self._pending_fps[(frow.id, p.method.name)] = p.fingerprints
                ids.append(row.id)
        return [format_id("work", i) for i in ids]

    def _index_pending(self, flush: bool = True) -> int:
        """Phase 2: put pending manifests into the index; returns how many."""
        done = 0
        with self.sessions() as s:
            pending = s.scalars(
                select(FingerprintRow).where(FingerprintRow.state == "pending")
            ).all()
            by_method: dict[str, list[FingerprintRow]] = {}
            for row in pending:
                by_method.setdefault(row.method, []).append(row)
            for name, rows in by_method.items():
                method = _method(name)
                index = self.indexes.for_method(method)
                refs = self.indexes.references_for(method)
                with index.writing():
                    for row in rows:
                        fp = self._pending_fps.pop((row.id, name), None)
                        if fp is None or row.version != method.version:
                            # resumed after a crash or a method upgrade: recompute from blobs
                            fp = self._refingerprint(row, method)
                            if fp is None:
                                row.state = "failed"
                                continue
                        refs.put(row.id, method.pack_reference(method.prepare_reference(fp.data)))
                        index.add(row.id, fp.codes, fp.positions)
                        row.state = "indexed"
                        row.count = len(fp)
                        done += 1
                    if flush:
                        index.flush()
                s.commit()
        return done

    def _refingerprint(self, row: FingerprintRow, method: Fingerprinter) -> Fingerprints | None:
        if row.rendition_sha256 is None or not self.blobs.exists(row.rendition_sha256):
            return None
        try:
            signal = media.rendition_signal(method.media, self.blobs.get(row.rendition_sha256))
        except JianwangError:
            return None
        # None (the manifest fails) when the method cannot read it, as registration found
        return _extract_or_none(method, signal)

    def resume_pending(self) -> int:
        """Finish registrations a crash interrupted between the two phases.

        A pending manifest may already have postings in the index (the crash came after the
        index write): it is tombstoned and re-added under a fresh doc id, never doubled."""
        with self.sessions.begin() as s:
            pending = s.scalars(
                select(FingerprintRow).where(FingerprintRow.state == "pending")
            ).all()
            stale = [p for p in pending if (p.id, p.method) not in self._pending_fps]
            if not stale:
                return 0
            by_method: dict[str, list[int]] = {}
            for p in stale:
                by_method.setdefault(p.method, []).append(p.id)
                s.delete(p)
                s.flush()  # the replacement reuses the (asset, method, version) key
                s.add(
                    FingerprintRow(
                        asset_id=p.asset_id,
                        method=p.method,
                        version=p.version,
                        state="pending",
                        count=p.count,
                        rendition_sha256=p.rendition_sha256,
                    )
                )
                s.flush()
        for name, docs in by_method.items():
            index = self.indexes.for_method(_method(name))
            with index.writing():
                index.remove(docs)
        return self._index_pending()

    def rebuild_index(self) -> int:
        """Re-fingerprint every indexed asset with the current method versions (after a lost
        or damaged index); returns the number of documents indexed."""
        return self._renew(FingerprintRow.state == "indexed")

    def has_stale_fingerprints(self) -> bool:
        """Whether some indexed fingerprints come from an older version of their method."""
        current = {m.name: m.version for m in _all_methods()}
        with self.sessions() as s:
            rows = s.execute(
                select(FingerprintRow.method, FingerprintRow.version)
                .where(FingerprintRow.state == "indexed")
                .distinct()
            ).all()
        return any(current.get(m) not in (None, v) for m, v in rows)

    def upgrade_fingerprints(self) -> int:
        """Re-fingerprint what an older version of a method indexed, so that old and new
        fingerprints are never mixed and nothing registered drops out of identification
        after an upgrade; returns the number of documents re-indexed (0, normally)."""
        stale = [
            (FingerprintRow.method == m.name) & (FingerprintRow.version != m.version)
            for m in _all_methods()
        ]
        if not stale:
            return 0
        from sqlalchemy import or_

        done = self._renew((FingerprintRow.state == "indexed") & or_(*stale))
        self._drop_old_indexes()
        return done

    def _unfingerprinted(self) -> Any:
        """Assets whose media has a method that has no manifest for them (stored before the
        method existed), as a select of (asset id, sha256, method name, version)."""
        from sqlalchemy import and_, literal, union_all

        parts = []
        for method in _all_methods():
            if method.media == MediaType.TEXT:
                continue  # text assets get their manifests (and renditions) at registration
            heard = (
                [method.media.value]
                + [m.value for m in getattr(method, "also", ())]
                + ([MediaType.VIDEO.value] if method.media == MediaType.AUDIO else [])
            )
            done = select(FingerprintRow.asset_id).where(FingerprintRow.method == method.name)
            parts.append(
                select(
                    AssetRow.id,
                    AssetRow.sha256,
                    literal(method.name).label("method"),
                    literal(method.version).label("version"),
                ).where(and_(AssetRow.media.in_(heard), AssetRow.id.not_in(done)))
            )
        return union_all(*parts) if len(parts) > 1 else (parts[0] if parts else None)

    def has_unfingerprinted(self) -> bool:
        query = self._unfingerprinted()
        if query is None:
            return False
        with self.sessions() as s:
            return s.execute(query.limit(1)).first() is not None

    def backfill_fingerprints(self) -> int:
        """Fingerprint assets registered before their media had a method (audio stored by an
        earlier release, say); returns the number of documents indexed."""
        query = self._unfingerprinted()
        if query is None:
            return 0
        with self.sessions.begin() as s:
            rows = s.execute(query).all()
            for asset_id, sha, name, version in rows:
                s.add(
                    FingerprintRow(
                        asset_id=asset_id,
                        method=name,
                        version=version,
                        state="pending",
                        count=0,
                        rendition_sha256=sha,
                    )
                )
        return self._index_pending() if rows else 0

    def _drop_old_indexes(self) -> None:
        """Delete index directories of method versions nothing refers to any more."""
        import shutil

        root = self.indexes.root
        if root is None or not root.is_dir():
            return
        current = {f"{m.name}-v{m.version}" for m in _all_methods()}
        names = {m.name for m in _all_methods()}
        for d in root.iterdir():
            name, _, version = d.name.rpartition("-v")
            if d.is_dir() and name in names and version.isdigit() and d.name not in current:
                shutil.rmtree(d)

    def _renew(self, condition: Any) -> int:
        with self.sessions.begin() as s:
            rows = s.scalars(select(FingerprintRow).where(condition)).all()
            if not rows:
                return 0
            old = [(r.id, r.method, r.version) for r in rows]
            for row in rows:
                fresh = FingerprintRow(
                    asset_id=row.asset_id,
                    method=row.method,
                    version=_method(row.method).version,
                    state="pending",
                    count=row.count,
                    rendition_sha256=row.rendition_sha256,
                )
                s.delete(row)
                s.flush()  # the replacement may reuse the (asset, method, version) key
                s.add(fresh)
                s.flush()
        for method in _all_methods():
            gone = [
                doc
                for doc, name, version in old
                if name == method.name and version == method.version
            ]
            if gone:
                index = self.indexes.for_method(method)
                with index.writing():
                    index.remove(gone)
                    index.compact()
        return self._index_pending()

    # ------------------------------------------------------------ reading

    def get_work(self, work_id: str) -> Work:
        wid = parse_id("work", work_id)
        with self.sessions() as s:
            row = s.get(WorkRow, wid)
            if row is None:
                raise NotFound(f"no work {format_id('work', wid)}", work_id=work_id)
            return _to_work(row)

    def list_works(
        self,
        type: str | None = None,
        owner: str | None = None,
        status: str | None = "active",
        query: str | None = None,
        limit: int = 100,
        offset: int = 0,
        sort: str = "id",
    ) -> tuple[list[Work], int]:
        """(works, total matching) with filters, newest ids last unless `sort` says so."""
        stmt = select(WorkRow).join(HolderRow, WorkRow.owner_id == HolderRow.id)
        if type:
            stmt = stmt.where(WorkRow.type == WorkType(type).value)
        if owner:
            stmt = stmt.where(HolderRow.name == owner)
        if status and status != "all":
            stmt = stmt.where(WorkRow.status == WorkStatus(status).value)
        if query:
            stmt = stmt.where(WorkRow.title.contains(query, autoescape=True))
        columns = {
            "id": WorkRow.id,
            "title": WorkRow.title,
            "type": WorkRow.type,
            "created": WorkRow.created_at,
            "release_date": WorkRow.release_date,
        }
        desc = sort.startswith("-")
        col = columns.get(sort.lstrip("-"))
        if col is None:
            raise InvalidInput(f"cannot sort by {sort!r}; one of: {', '.join(columns)}")
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(
                stmt.order_by(col.desc() if desc else col, WorkRow.id).limit(limit).offset(offset)
            ).all()
            return [_to_work(r) for r in rows], int(total)

    def holders(self) -> list[RightsHolder]:
        with self.sessions() as s:
            rows = s.scalars(select(HolderRow).order_by(HolderRow.id)).all()
            return [RightsHolder(format_id("holder", r.id), r.name) for r in rows]

    # ------------------------------------------------------------ removing

    def remove_work(self, work_id: str) -> Work:
        """Withdraw a work: its record stays (status removed) but its fingerprints are
        tombstoned, so identification never returns it again."""
        wid = parse_id("work", work_id)
        with self.sessions.begin() as s:
            row = s.get(WorkRow, wid)
            if row is None:
                raise NotFound(f"no work {format_id('work', wid)}", work_id=work_id)
            if row.status == WorkStatus.REMOVED.value:
                raise NotFound(f"work {format_id('work', wid)} is already removed")
            row.status = WorkStatus.REMOVED.value
            row.removed_at = datetime.now(UTC)
            fps = s.scalars(
                select(FingerprintRow)
                .join(AssetRow, FingerprintRow.asset_id == AssetRow.id)
                .where(AssetRow.work_id == wid)
            ).all()
            docs: dict[str, list[int]] = {}
            for fp in fps:
                fp.state = "removed"
                docs.setdefault(fp.method, []).append(fp.id)
        for name, ids in docs.items():
            index = self.indexes.for_method(_method(name))
            with index.writing():
                index.remove(ids)
        if self.on_removed:
            self.on_removed([i for ids in docs.values() for i in ids])
        return self.get_work(work_id)


# ---------------------------------------------------------------- helpers


def _extract_or_none(method: Fingerprinter, signal: object) -> Fingerprints | None:
    """A media method's reference fingerprints of one file of a software or game release,
    or None when the method fails on it (OpenCV refuses some degenerate pictures): the file
    is still registered and found by its bytes."""
    try:
        return method.extract(signal, Role.REFERENCE)
    except Exception:
        return None


def _method(name: str) -> Fingerprinter:
    from ..fingerprint.base import methods

    return methods()[name]


def _all_methods() -> Iterable[Fingerprinter]:
    from ..fingerprint.base import methods

    return methods().values()


def _find_work(s: Session, owner: str, type: str, title: str) -> WorkRow | None:
    return s.scalar(
        select(WorkRow)
        .join(HolderRow, WorkRow.owner_id == HolderRow.id)
        .where(HolderRow.name == owner, WorkRow.type == type.lower(), WorkRow.title == title)
        .where(WorkRow.status == WorkStatus.ACTIVE.value)
    )


def _to_work(row: WorkRow) -> Work:
    return Work(
        id=format_id("work", row.id),
        type=WorkType(row.type),
        title=row.title,
        owner=row.owner.name,
        identifiers=dict(row.identifiers or {}),
        release_date=row.release_date,
        status=WorkStatus(row.status),
        created_at=row.created_at,
        assets=tuple(Asset(a.sha256, a.size, a.filename, MediaType(a.media)) for a in row.assets),
    )


def _parse_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"invalid release date {value!r}: expected YYYY-MM-DD") from None


def normalize_isbn(raw: str) -> str:
    """Digits of a valid ISBN-10 or ISBN-13 (hyphens and spaces dropped); InvalidInput if the
    check digit is wrong."""
    s = raw.replace("-", "").replace(" ", "").upper()
    if len(s) == 13 and s.isdigit():
        total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(s[:12]))
        if (10 - total % 10) % 10 == int(s[12]):
            return s
    elif len(s) == 10 and s[:9].isdigit() and (s[9].isdigit() or s[9] == "X"):
        total = sum((10 - i) * int(c) for i, c in enumerate(s[:9]))
        check = (11 - total % 11) % 11
        if ("X" if check == 10 else str(check)) == s[9]:
            return s
    raise InvalidInput(f"invalid ISBN {raw!r}: wrong length or check digit")


_KNOWN_COLUMNS = {"file", "files", "type", "title", "owner", "release_date"}


def _read_manifest(path: Path) -> list[tuple[int, WorkInput]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read manifest {path}: {exc.strerror or exc}") from None
    text = raw.decode("utf-8-sig", errors="strict") if raw else ""
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower() for f in (reader.fieldnames or [])}
    missing = {"type", "title", "owner"} - fields
    if not ({"file", "files"} & fields):
        missing.add("file")
    if missing:
        raise InvalidInput(f"manifest {path} lacks column(s): {', '.join(sorted(missing))}")
    out = []
    for i, rec in enumerate(reader, start=2):
        rec = {(k or "").strip().lower(): (v or "").strip() for k, v in rec.items()}
        names = [n for n in (rec.get("file") or rec.get("files") or "").split(";") if n.strip()]
        files: list[Path | tuple[str, bytes]] = [(path.parent / n.strip()) for n in names]
        ident = {k: v for k, v in rec.items() if k not in _KNOWN_COLUMNS and v}
        out.append(
            (
                i,
                WorkInput(
                    files,
                    rec.get("type", ""),
                    rec.get("title", ""),
                    rec.get("owner", ""),
                    ident,
                    rec.get("release_date") or None,
                ),
            )
        )
    return out
