"""The identify core: bytes -> media -> fingerprints -> index lookup -> scoring -> matches.

Imports media, fingerprint, index and domain only. What it needs of the records (which work
a document belongs to, and a reference's decoded signal) comes through the `Catalog`
protocol, which the store implements and tests can implement in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import media as media_mod
from .domain import Identification, Match, MediaType, Segment, Verdict
from .fingerprint.base import (
    Candidate,
    Fingerprinter,
    Fingerprints,
    HashKind,
    Hits,
    Role,
    for_media,
)
from .index.exact import ExactIndex
from .index.forward import ReferenceStore
from .index.hamming import HammingIndex


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
            if method.hash_kind == HashKind.HAMMING256:
                self._open[key] = HammingIndex(path, bits=256)
            elif method.hash_kind in (HashKind.EXACT64, HashKind.EXACT32):
                bits = 32 if method.hash_kind == HashKind.EXACT32 else 64
                self._open[key] = ExactIndex(path, self.shards, self.delta_limit, bits)
            else:
                raise NotImplementedError(f"no index for hash kind {method.hash_kind}")
        return self._open[key]


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
    ):
        self.indexes = indexes
        self.catalog = catalog
        self.max_input_bytes = max_input_bytes
        self.max_matches = max_matches
        self._info: dict[tuple[str, int], Reference | None] = {}
        self._preloaded: set[str] = set()
        self._refs: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._cache_size = cache_size

    def identify(self, data: bytes, name: str = "-") -> Identification:
        """Identify one input. Raises a `JianwangError` subclass for unusable input."""
        decoded = media_mod.decode(data, self.max_input_bytes, query=True)
        return self.identify_signals(decoded.media, decoded.signals(), name)

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
            if every:
                self._info.update({(method, d): r for d, r in every.items()})
        missing = [
            d for d in docs if (method, d) not in self._info or self._info[(method, d)] is None
        ]
        if missing:
            if len(self._info) > 200_000:
                self._info.clear()
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
    first = index.lookup(fp.codes[probe(fp)], radius)
    if len(first) == 0:
        return first
    docs, counts = np.unique(first.doc, return_counts=True)
    shortlist = docs[np.argsort(-counts, kind="stable")[:SHORTLIST]]
    return index.lookup_within(fp.codes, shortlist, int(getattr(method, "dense_radius", radius)))


def _rank(m: Match) -> tuple[bool, float]:
    return (m.verdict != Verdict.MATCH, -m.score)


def _combine(a: Match, b: Match) -> Match:
    """One work found twice. By the same method (two assets of the work): the better match.
    By two methods (a film's pictures and its soundtrack): the better match's segments, a
    verdict that either method's match earns, and a score that independent evidence raises:
    1 - (1 - a)(1 - b)."""
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
        segments=first.segments,
        method=f"{first.method}+{second.method}",
        evidence=evidence,
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
