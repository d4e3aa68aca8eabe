"""The Fingerprinter seam: one protocol for every media type.

A method turns a decoded signal into `Fingerprints` (codes + positions), and turns the index's
`Hits` for a query back into aligned `Candidate` matches. Methods are registered under one
name; adding a media type is adding a module, nothing else changes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..domain import MediaType, Verdict


class HashKind(enum.StrEnum):
    """Which index a method's codes go to (chosen by hash kind, not by media type)."""

    EXACT64 = "exact64"
    EXACT32 = "exact32"
    HAMMING256 = "hamming256"
    HAMMING128 = "hamming128"
    HAMMING112 = "hamming112"
    HAMMING64 = "hamming64"


class Role(enum.StrEnum):
    QUERY = "query"
    REFERENCE = "reference"


@dataclass(frozen=True)
class Fingerprints:
    """Codes and their positions (method units: tokens, frames, ...) plus the method's
    own analysis of the signal (`data`), kept for scoring."""

    method: str
    version: int
    codes: npt.NDArray[np.uint64]
    positions: npt.NDArray[np.uint32]
    data: Any = None

    def __len__(self) -> int:
        return int(self.codes.shape[0])


@dataclass(frozen=True)
class Hits:
    """Index answers for one query: parallel arrays, one row per (query code, posting).
    From the index, `query_pos` is the code's index in the query; the identifier turns it
    into the code's position before scoring."""

    query_pos: npt.NDArray[np.uint32]
    doc: npt.NDArray[np.uint32]
    ref_pos: npt.NDArray[np.uint32]
    #: Hamming distance of each pair (binary-code indexes only)
    distance: npt.NDArray[np.uint16] | None = None

    @classmethod
    def empty(cls) -> Hits:
        z = np.zeros(0, dtype=np.uint32)
        return cls(z, z.copy(), z.copy())

    def __len__(self) -> int:
        return int(self.doc.shape[0])

    def distances(self) -> npt.NDArray[np.float64]:
        """Hamming distances as floats (0 for exact-key hits)."""
        if self.distance is None:
            return np.zeros(len(self), dtype=np.float64)
        return self.distance.astype(np.float64)


def best_references(first: Hits, radius: float, limit: int) -> npt.NDArray[np.uint32]:
    """The `limit` references a first pass found best: by the sum over query codes of
    their closest hit's (radius + 1 - d) squared. Close hits outweigh many hits near the
    radius, which a large index gives every reference by chance (at 1,000 hours, counting
    hits let padding films crowd copies out of the shortlist)."""
    if len(first) == 0:
        return np.zeros(0, dtype=np.uint32)
    w = np.square(np.clip(radius + 1 - first.distances(), 0.0, None))
    # one weight per (reference, query code): its closest hit there
    key = first.doc.astype(np.int64) * (int(first.query_pos.max()) + 1) + first.query_pos
    order = np.lexsort((-w, key))
    keep = np.ones(order.shape[0], dtype=bool)
    keep[1:] = key[order][1:] != key[order][:-1]
    docs, inverse = np.unique(first.doc[order][keep], return_inverse=True)
    score = np.bincount(inverse, weights=w[order][keep])
    return docs[np.argsort(-score, kind="stable")[:limit]]


@dataclass(frozen=True)
class Span:
    """An aligned stretch in the media's own units: [query_start, query_end) ~
    [ref_start, ref_end); characters for text, seconds for audio/video."""

    query_start: float
    query_end: float
    ref_start: float
    ref_end: float


@dataclass(frozen=True)
class Candidate:
    """A scored reference document (an index doc id, not yet a work)."""

    doc: int
    score: float
    verdict: Verdict
    spans: tuple[Span, ...] = ()
    evidence: dict[str, float] = field(default_factory=dict)


#: given an index doc id, the method's prepared reference (e.g. the reference's token stream),
#: or None when the reference is gone
ReferenceLookup = Callable[[int], Any]


class Fingerprinter(Protocol):
    name: str
    version: int
    media: MediaType
    hash_kind: HashKind

    def extract(self, signal: Any, role: Role = Role.QUERY) -> Fingerprints:
        """Fingerprint a decoded signal. References may be sampled more sparsely than queries."""
        ...

    def prepare_reference(self, signal: Any) -> Any:
        """What `score` needs of a reference (computed from its decoded signal)."""
        ...

    def pack_reference(self, prepared: Any) -> bytes:
        """`prepare_reference`'s result as bytes, for the reference store."""
        ...

    def unpack_reference(self, data: bytes) -> Any:
        """Inverse of `pack_reference` (may return views into `data`)."""
        ...

    def score(
        self, query: Fingerprints, hits: Hits, references: ReferenceLookup
    ) -> list[Candidate]:
        """Align hits per reference and return the candidates worth reporting, best first."""
        ...


_METHODS: dict[str, Fingerprinter] = {}


def register(method: Fingerprinter) -> Fingerprinter:
    _METHODS[method.name] = method
    return method


def methods() -> dict[str, Fingerprinter]:
    """All registered methods by name."""
    from . import audio, files, keypoints, text, visual, windows  # noqa: F401  (built-in methods register)

    return dict(_METHODS)


def for_media(media: MediaType) -> list[Fingerprinter]:
    """The methods that take `media`'s signal (a method may take several media: the frame
    method takes video frames and still images alike, `also` lists the others)."""
    return [m for m in methods().values() if m.media == media or media in getattr(m, "also", ())]
