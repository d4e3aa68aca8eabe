"""The identify core: bytes -> media -> fingerprints -> index lookup -> scoring -> matches.

Imports media, fingerprint, index and domain only. What it needs of the records (which work
a document belongs to, and a reference's decoded signal) comes through the `Catalog`
protocol, which the store implements and tests can implement in memory.
"""

from __future__ import annotations

import mmap
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import media as media_mod
from .domain import Identification, JianwangError, Match, MediaType, Segment, TooLarge, Verdict
from .fingerprint.base import (
    Candidate,
    Fingerprinter,
    Fingerprints,
    HashKind,
    Hits,
    Role,
    best_references,
    for_media,
)
from .index.exact import ExactIndex
from .index.forward import ReferenceStore
from .index.hamming import HammingIndex
from .media.archive import ArchiveLimits, Member, archive_format, unpack


@dataclass(frozen=True)
class Reference:
    """What identify knows of an index document: its work, and where its decoded signal is.
    Immutable for a given doc id (a removal tombstones the doc in the index)."""

    work_id: str
    title: str
    rendition: str | None
    live: bool


class Catalog(Protocol):
    def references(self, method: str, docs: list[int]) -> dict[int, Reference]:
        """The references behind index docs; docs the store does not know are left out."""
        ...

    def rendition(self, key: str) -> bytes | None:
        """The rendition stored under `key` (the reference's extracted text, or its
        recording), or None; `media.rendition_signal` decodes it."""
        ...

    def all_references(self, method: str, limit: int) -> dict[int, Reference] | None:
        """Every reference of `method` at once, or None when there are more than `limit`."""
        ...


class Indexes:
    """One index per method and version, chosen by the method's hash kind."""

    def __init__(self, root: Path | None, shards: int = 1, delta_limit: int = 500_000):
        self.root = root
        self.shards = shards
        self.delta_limit = delta_limit
        self._open: dict[str, ExactIndex | HammingIndex] = {}
        self._refs: dict[str, ReferenceStore] = {}

    def references_for(self, method: Fingerprinter) -> ReferenceStore:
        """The method's store of prepared references, beside its index."""
        key = f"{method.name}-v{method.version}"
        if key not in self._refs:
            path = None if self.root is None else self.root / key / "references"
            self._refs[key] = ReferenceStore(path)
        return self._refs[key]

    def for_method(self, method: Fingerprinter) -> ExactIndex | HammingIndex:
        key = f"{method.name}-v{method.version}"
        if key not in self._open:
            path = None if self.root is None else self.root / key
            if method.hash_kind in HAMMING_BITS:
                self._open[key] = HammingIndex(path, bits=HAMMING_BITS[method.hash_kind])
            elif method.hash_kind in (HashKind.EXACT64, HashKind.EXACT32):
                bits = 32 if method.hash_kind == HashKind.EXACT32 else 64
                self._open[key] = ExactIndex(path, self.shards, self.delta_limit, bits)
            else:
                raise NotImplementedError(f"no index for hash kind {method.hash_kind}")
        return self._open[key]


#: code width of the Hamming indexes by hash kind
HAMMING_BITS = {
    HashKind.HAMMING256: 256,
    HashKind.HAMMING128: 128,
    HashKind.HAMMING112: 112,
    HashKind.HAMMING64: 64,
}

#: documents per method whose records the identifier loads at once on first use
PRELOAD_LIMIT = 200_000


class Identifier:
    """Stateless apart from caches: what each doc id refers to (immutable), and a few hundred
    prepared references. Removals reach it through the index's tombstones."""

    def __init__(
        self,
        indexes: Indexes,
        catalog: Catalog,
        max_input_bytes: int,
        max_matches: int = 10,
        cache_size: int = 512,
        tmp_root: Path | None = None,
        archive_limits: ArchiveLimits | None = None,
    ):
        self.indexes = indexes
        self.catalog = catalog
        self.max_input_bytes = max_input_bytes
        self.max_matches = max_matches
        #: where archives are unpacked (a directory in the data home)
        self.tmp_root = tmp_root or Path(tempfile.gettempdir()) / "jianwang"
        self.archive_limits = archive_limits or ArchiveLimits(max_member_bytes=max_input_bytes)
        self._info: dict[tuple[str, int], Reference | None] = {}
        self._preloaded: set[str] = set()
        #: methods whose every document `_info` holds (the catalogue was small enough)
        self._complete: set[str] = set()
        self._refs: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._refs_lock = threading.Lock()
        self._cache_size = cache_size

    def identify(self, data: bytes, name: str = "-") -> Identification:
        """Identify one input. Raises a `JianwangError` subclass for unusable input."""
        if archive_format(data[:512]) is not None:
            if len(data) > self.max_input_bytes:
                media_mod.decode(data, self.max_input_bytes)  # the size error
            self.tmp_root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix="input-", dir=self.tmp_root)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                return self._identify_archive(Path(tmp), name)
            finally:
                os.unlink(tmp)
        decoded = media_mod.decode(data, self.max_input_bytes, query=True)
        return self.identify_signals(decoded.media, decoded.signals(), name)

    def identify_path(self, path: Path, name: str | None = None) -> Identification:
        """Identify a file; an archive is unpacked from the file as it is read (never held
        in memory), and every member is identified."""
        name = str(path) if name is None else name
        with open(path, "rb") as fh:
            head = fh.read(512)
            size = os.fstat(fh.fileno()).st_size
        if size > self.max_input_bytes:
            raise TooLarge(
                f"{name}: {size / 1e6:.1f} MB is over the limit of "
                f"{self.max_input_bytes / 1e6:.1f} MB (JIANWANG_MAX_INPUT_BYTES)"
            )
        if archive_format(head) is not None:
            return self._identify_archive(path, name)
        return self.identify(path.read_bytes(), name)

    def _identify_archive(self, path: Path, name: str) -> Identification:
        """The archive as a file, then each member (nested archives included) by its bytes
        and by its media's methods; one match per work, naming the member that matched best.
        A work found through several of its files (a game's data) gets `files` (its
        reference files found) and `share` (of all its reference files) in the evidence."""
        best: dict[str, Match] = {}
        files: dict[str, set[int]] = {}
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            self._collect(best, files, [(MediaType.FILE, mm)], None)
        with unpack(path, self.archive_limits, self.tmp_root, label=name) as members:
            for member in members:
                if member.size:
                    self._collect(best, files, _member_signals(member), member.path)
        for work_id, docs in files.items():
            total = self._file_docs_of(work_id)
            m = best[work_id]
            ev = dict(m.evidence)
            ev["files"] = float(len(docs))
            if total:
                ev["share"] = round(len(docs) / total, 4)
            best[work_id] = replace(m, evidence=ev)
        ranked = sorted(best.values(), key=_rank)
        return Identification(name, MediaType.FILE, tuple(ranked[: self.max_matches]))

    def _collect(
        self,
        best: dict[str, Match],
        files: dict[str, set[int]],
        signals: list[tuple[MediaType, object]],
        member: str | None,
    ) -> None:
        for kind, signal in signals:
            for method in for_media(kind):
                try:
                    found = self._candidates(method, signal)
                except JianwangError:
                    raise
                except Exception:
                    if kind == MediaType.FILE:
                        raise
                    # a member's picture or sound a media method cannot read (OpenCV
                    # refuses some degenerate pictures): its bytes are still looked up
                    continue
                for cand, ref in found:
                    match = replace(
                        _to_match(cand, ref.work_id, ref.title, method.name), member=member
                    )
                    if method.media == MediaType.FILE and cand.verdict == Verdict.MATCH:
                        files.setdefault(ref.work_id, set()).add(cand.doc)
                    old = best.get(ref.work_id)
                    best[ref.work_id] = match if old is None else _combine(old, match)

    def _file_docs_of(self, work_id: str) -> int:
        """How many live file-method documents (reference files) `work_id` has, when the
        catalogue is small enough to be preloaded (else 0: unknown)."""
        self._infos("file", [])
        if "file" not in self._complete:
            return 0
        return sum(
            1
            for (m, _d), r in self._info.items()
            if m == "file" and r is not None and r.live and r.work_id == work_id
        )

    def identify_signal(self, media: MediaType, signal: object, name: str = "-") -> Identification:
        return self.identify_signals(media, [(media, signal)], name)

    def identify_signals(
        self, media: MediaType, signals: list[tuple[MediaType, object]], name: str = "-"
    ) -> Identification:
        """Every method of every signal the input offers (a video's pictures and its
        soundtrack); one match per work, a work found by several methods gets their
        combined evidence."""
        best: dict[str, Match] = {}
        for kind, signal in signals:
            for method in for_media(kind):
                for cand, ref in self._candidates(method, signal):
                    match = _to_match(cand, ref.work_id, ref.title, method.name)
                    old = best.get(ref.work_id)
                    best[ref.work_id] = match if old is None else _combine(old, match)
        ranked = sorted(best.values(), key=lambda m: (m.verdict != Verdict.MATCH, -m.score))
        return Identification(name, media, tuple(ranked[: self.max_matches]))

    def _infos(self, method: str, docs: list[int]) -> dict[int, Reference]:
        if method not in self._preloaded:
            # one query for a catalogue of moderate size, instead of one per new document
            self._preloaded.add(method)
            every = self.catalog.all_references(method, PRELOAD_LIMIT)
            if every is not None:
                self._complete.add(method)
            if every:
                self._info.update({(method, d): r for d, r in every.items()})
        missing = [
            d for d in docs if (method, d) not in self._info or self._info[(method, d)] is None
        ]
        if missing:
            if len(self._info) > 200_000:
                self._info.clear()
                self._complete.clear()
            found = self.catalog.references(method, missing)
            for d in missing:
                self._info[(method, d)] = found.get(d)
        out = {}
        for d in docs:
            info = self._info[(method, d)]
            if info is not None:
                out[d] = info
        return out

    def _candidates(
        self, method: Fingerprinter, signal: object
    ) -> list[tuple[Candidate, Reference]]:
        fp = method.extract(signal, Role.QUERY)
        if len(fp) == 0:
            return []
        index = self.indexes.for_method(method)
        index.refresh()
        if isinstance(index, HammingIndex):
            found = _hamming_lookup(method, index, fp)
        else:
            found = index.lookup(fp.codes)
        if len(found) == 0:
            return []
        # the index answers with the query code's index; scoring wants its position
        hits = Hits(fp.positions[found.query_pos], found.doc, found.ref_pos, found.distance)
        store = self.indexes.references_for(method)

        def prepared(doc: int) -> Any:
            key = (method.name, doc)
            with self._refs_lock:
                if key in self._refs:
                    self._refs.move_to_end(key)
                    return self._refs[key]
            packed = store.get(doc)
            if packed is not None:
                ref = method.unpack_reference(packed)
            else:  # not in the reference store (older data): from the stored rendition
                info = self._infos(method.name, [doc]).get(doc)
                raw = (
                    None
                    if info is None or info.rendition is None
                    else (self.catalog.rendition(info.rendition))
                )
                ref = (
                    None
                    if raw is None
                    else method.prepare_reference(media_mod.rendition_signal(method.media, raw))
                )
            with self._refs_lock:  # identify runs in several threads (crawls, the service)
                self._refs[key] = ref
                if len(self._refs) > self._cache_size:
                    self._refs.popitem(last=False)
            return ref

        cands = method.score(fp, hits, prepared)
        infos = self._infos(method.name, [c.doc for c in cands])
        return [(c, infos[c.doc]) for c in cands if c.doc in infos and infos[c.doc].live]

    def forget(self, docs: list[int]) -> None:
        """Drop cached knowledge of these docs (called when their work is removed)."""
        gone = set(docs)
        for cache in (self._info, self._refs):
            for key in [k for k in cache if k[1] in gone]:
                del cache[key]


#: references a sparse first pass may hand to the dense second pass
SHORTLIST = 32


def _hamming_lookup(method: Fingerprinter, index: HammingIndex, fp: Fingerprints) -> Hits:
    """Binary codes: all within the method's `radius`. A method with `probe_rows` is looked up
    in two passes: its probe rows against the whole index, then every row against the
    references that pass found (the most hits first, at most SHORTLIST), within its
    `dense_radius` (what the first pass found is within it)."""
    radius = int(getattr(method, "radius", 64))
    probe = getattr(method, "probe_rows", None)
    if probe is None:
        return index.lookup(fp.codes, radius)
    probed = probe(fp)
    # a method whose copies show in many probe codes may search fewer inverted lists
    first = index.lookup(fp.codes[probed], radius, getattr(method, "nprobe", None))
    if len(first) == 0:
        return first
    shortlist = best_references(first, radius, int(getattr(method, "shortlist", SHORTLIST)))
    dense = int(getattr(method, "dense_radius", radius))
    # a method may say how far (positions) a copy's line can run from a first-pass hit: the
    # second pass then searches that part of a long film, not all of it
    reach = getattr(method, "dense_reach", None)
    near = None
    if reach is not None:
        at = {int(doc): first.ref_pos[first.doc == doc] for doc in shortlist.tolist()}
        near = (at, int(reach(fp)))
    pick = getattr(method, "dense_rows", None)
    if pick is None:
        return index.lookup_within(fp.codes, shortlist, dense, near)
    # the method narrows the second pass to some rows (a crop's windows near where the
    # first pass found them)
    rows = np.asarray(pick(fp, probed, first), dtype=np.int64)
    found = index.lookup_within(fp.codes[rows], shortlist, dense, near)
    return Hits(rows[found.query_pos].astype(np.uint32), found.doc, found.ref_pos, found.distance)


def _rank(m: Match) -> tuple[bool, float]:
    return (m.verdict != Verdict.MATCH, -m.score)


#: segments of two methods that map the upload onto the work within this many units
#: (seconds for video and audio) of each other, and overlap or touch, are one stretch
AGREE = 2.0


def merge_segments(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """Segments of one work (from several methods) as stretches of the upload: segments
    that overlap or touch in the upload and agree on where in the work they are (the
    offset reference - query within AGREE) become one; the rest stay apart (a second copy,
    or a method that placed it elsewhere). In upload order."""
    out: list[Segment] = []
    for seg in sorted(segments, key=lambda x: (x.query[0], x.query[1])):
        offset = seg.reference[0] - seg.query[0]
        for i, have in enumerate(out):
            touch = seg.query[0] <= have.query[1] and have.query[0] <= seg.query[1]
            if touch and abs((have.reference[0] - have.query[0]) - offset) <= AGREE:
                out[i] = Segment(
                    (have.query[0], max(have.query[1], seg.query[1])),
                    (
                        min(have.reference[0], seg.reference[0]),
                        max(have.reference[1], seg.reference[1]),
                    ),
                )
                break
        else:
            out.append(seg)
    return tuple(out)


def _combine(a: Match, b: Match) -> Match:
    """One work found twice. By the same method (two assets of the work): the better match.
    By two methods (a film's pictures and its soundtrack, its frames and its crops'
    windows): the segments both place (`merge_segments`; the lesser match's only when it
    is a match itself), a verdict that either method's match earns, and a score that
    independent evidence raises: 1 - (1 - a)(1 - b)."""
    first, second = (a, b) if _rank(a) <= _rank(b) else (b, a)
    if a.method == b.method or second.method in first.method.split("+"):
        return first
    evidence = {f"{second.method}.{k}": v for k, v in second.evidence.items()}
    evidence.update(first.evidence)
    return Match(
        work_id=first.work_id,
        title=first.title,
        score=1.0 - (1.0 - first.score) * (1.0 - second.score),
        verdict=first.verdict,
        segments=merge_segments(
            first.segments + (second.segments if second.verdict == Verdict.MATCH else ())
        ),
        method=f"{first.method}+{second.method}",
        evidence=evidence,
        member=first.member,
    )


def _to_match(cand: Candidate, work_id: str, title: str, method: str) -> Match:
    return Match(
        work_id=work_id,
        title=title,
        score=cand.score,
        verdict=cand.verdict,
        segments=tuple(
            Segment((s.query_start, s.query_end), (s.ref_start, s.ref_end)) for s in cand.spans
        ),
        method=method,
        evidence=dict(cand.evidence),
    )


def _member_signals(member: Member) -> list[tuple[MediaType, object]]:
    """A member's signals: by its media's methods (a film's pictures and sound, a text) and
    always by its bytes (the file method)."""
    data = member.read()
    try:
        decoded = media_mod.decode(data, None, query=True)
        signals = decoded.signals()
    except JianwangError:
        signals = []  # damaged media, empty text: its bytes still count
    if not any(kind == MediaType.FILE for kind, _ in signals):
        signals.append((MediaType.FILE, data))
    return signals
