"""The identify core: bytes -> media -> fingerprints -> index lookup -> scoring -> matches.

Imports media, fingerprint, index and domain only. What it needs of the records (which work
a document belongs to, and a reference's decoded signal) comes through the `Catalog`
protocol, which the store implements and tests can implement in memory.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from . import media as media_mod
from .domain import Identification, Match, MediaType, Segment, Verdict
from .fingerprint.base import Candidate, Fingerprinter, HashKind, Role, for_media
from .index.exact import ExactIndex


class Catalog(Protocol):
    def works_of(self, method: str, docs: list[int]) -> dict[int, tuple[str, str]]:
        """(work id, title) of each index doc whose work is active; others are left out."""
        ...

    def reference_signal(self, method: str, doc: int) -> Any | None:
        """The decoded reference behind an index doc (e.g. its text), or None."""
        ...


class Indexes:
    """One index per method and version, chosen by the method's hash kind."""

    def __init__(self, root: Path | None, shards: int = 2, delta_limit: int = 500_000):
        self.root = root
        self.shards = shards
        self.delta_limit = delta_limit
        self._open: dict[str, ExactIndex] = {}

    def for_method(self, method: Fingerprinter) -> ExactIndex:
        key = f"{method.name}-v{method.version}"
        if key not in self._open:
            if method.hash_kind != HashKind.EXACT64:
                raise NotImplementedError(f"no index for hash kind {method.hash_kind}")
            path = None if self.root is None else self.root / key
            self._open[key] = ExactIndex(path, self.shards, self.delta_limit)
        return self._open[key]

    def reload(self) -> None:
        self._open.clear()


class Identifier:
    """Stateless apart from a small cache of prepared references."""

    def __init__(
        self,
        indexes: Indexes,
        catalog: Catalog,
        max_input_bytes: int,
        max_matches: int = 10,
        cache_size: int = 256,
    ):
        self.indexes = indexes
        self.catalog = catalog
        self.max_input_bytes = max_input_bytes
        self.max_matches = max_matches
        self._refs: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._cache_size = cache_size

    def identify(self, data: bytes, name: str = "-") -> Identification:
        """Identify one input. Raises a `JianwangError` subclass for unusable input."""
        decoded = media_mod.decode(data, self.max_input_bytes)
        return self.identify_signal(decoded.media, decoded.signal, name)

    def identify_signal(self, media: MediaType, signal: object, name: str = "-") -> Identification:
        best: dict[str, Match] = {}
        for method in for_media(media):
            for cand, (work_id, title) in self._candidates(method, signal):
                match = _to_match(cand, work_id, title, method.name)
                old = best.get(work_id)
                if old is None or (match.verdict, -match.score) < (old.verdict, -old.score):
                    best[work_id] = match
        ranked = sorted(best.values(), key=lambda m: (m.verdict != Verdict.MATCH, -m.score))
        return Identification(name, media, tuple(ranked[: self.max_matches]))

    def _candidates(
        self, method: Fingerprinter, signal: object
    ) -> list[tuple[Candidate, tuple[str, str]]]:
        fp = method.extract(signal, Role.QUERY)
        if len(fp) == 0:
            return []
        hits = self.indexes.for_method(method).lookup(fp.codes)
        if len(hits) == 0:
            return []

        def reference(doc: int) -> Any:
            key = (method.name, doc)
            if key in self._refs:
                self._refs.move_to_end(key)
                return self._refs[key]
            raw = self.catalog.reference_signal(method.name, doc)
            prepared = None if raw is None else method.prepare_reference(raw)
            self._refs[key] = prepared
            if len(self._refs) > self._cache_size:
                self._refs.popitem(last=False)
            return prepared

        cands = method.score(fp, hits, reference)
        works = self.catalog.works_of(method.name, [c.doc for c in cands])
        return [(c, works[c.doc]) for c in cands if c.doc in works]

    def forget(self, docs: list[int]) -> None:
        for key in [k for k in self._refs if k[1] in set(docs)]:
            del self._refs[key]


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
    )
