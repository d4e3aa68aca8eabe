"""MinHash-LSH baseline (datasketch) for chapter-level identification.

Each text becomes the *set* of its character n-grams (default 5) after all whitespace is
removed; the set is sketched with ``datasketch.MinHash`` (``affine32`` scheme, ``num_perm``
permutations) and indexed in ``datasketch.MinHashLSH`` with a Jaccard ``threshold``. A query
returns the registered keys whose sketches collide in at least one LSH band and (``verify``,
default) whose estimated Jaccard similarity reaches the threshold, ranked by that estimate. For fairness the caller should pass the same text that the
identifier under test sees (the extracted page text).

Speed: shingles are hashed with ``zlib.crc32`` (deterministic across processes, much cheaper
than the default SHA-1) and sketches are built with ``MinHash.bulk`` / ``update_batch``, which
apply all permutations to a batch with numpy. Sketches are stored as ``LeanMinHash``.

Index size: :meth:`MinHashBaseline.index_bytes` is ``len(pickle.dumps((lsh, minhashes)))`` — the
LSH hash tables plus the kept lean sketches — in bytes; divide by :attr:`size` for bytes per
chapter.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterable, Sequence

from datasketch import LeanMinHash, MinHash, MinHashLSH


def _crc32(data: bytes) -> int:
    return zlib.crc32(data)


class MinHashBaseline:
    """Character n-gram MinHash-LSH index over registered chapters."""

    def __init__(
        self,
        num_perm: int = 128,
        ngram: int = 5,
        threshold: float = 0.3,
        seed: int = 1,
        verify: bool = True,
    ) -> None:
        """``threshold`` is the LSH Jaccard threshold; with ``verify`` (default) :meth:`query`
        also drops LSH candidates whose estimated Jaccard similarity is below it."""
        self.verify = verify
        self.num_perm = num_perm
        self.ngram = ngram
        self.threshold = threshold
        self.seed = seed
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.minhashes: dict[str, LeanMinHash] = {}

    @property
    def size(self) -> int:
        """Number of indexed chapters."""
        return len(self.minhashes)

    def shingles(self, text: str) -> list[bytes]:
        """Distinct character n-grams of ``text`` with whitespace removed (UTF-8 encoded)."""
        t = "".join(text.split())
        n = self.ngram
        if len(t) <= n:
            return [t.encode("utf-8")] if t else []
        return [g.encode("utf-8") for g in {t[i : i + n] for i in range(len(t) - n + 1)}]

    def sketch_many(self, texts: Iterable[str]) -> list[LeanMinHash]:
        """MinHash sketches for many texts (``MinHash.bulk``)."""
        batches = [self.shingles(t) for t in texts]
        mhs = MinHash.bulk(batches, num_perm=self.num_perm, seed=self.seed, hashfunc=_crc32)
        return [LeanMinHash(m) for m in mhs]

    def add(self, key: str, text: str) -> None:
        """Index one registered chapter."""
        self.add_many([(key, text)])

    def add_many(self, items: Sequence[tuple[str, str]]) -> None:
        """Index many chapters at once (bulk sketching, one LSH insertion session)."""
        sketches = self.sketch_many(text for _, text in items)
        with self.lsh.insertion_session() as session:
            for (key, _), m in zip(items, sketches, strict=True):
                if key in self.minhashes:
                    raise KeyError(f"duplicate key {key!r}")
                session.insert(key, m)
                self.minhashes[key] = m

    def query_scores(self, text: str) -> list[tuple[str, float]]:
        """All LSH candidate keys with estimated Jaccard similarity, best first."""
        (m,) = self.sketch_many([text])
        keys = self.lsh.query(m)
        scored = [(k, float(self.minhashes[k].jaccard(m))) for k in keys]
        return sorted(scored, key=lambda kv: (-kv[1], kv[0]))

    def query(self, text: str) -> list[str]:
        """Registered keys whose LSH bands collide with ``text``'s (and, with ``verify``, whose
        estimated Jaccard similarity reaches ``threshold``), best first."""
        floor = self.threshold if self.verify else 0.0
        return [k for k, j in self.query_scores(text) if j >= floor]

    def index_bytes(self) -> int:
        """Pickled size in bytes of the LSH tables plus the stored lean sketches."""
        return len(pickle.dumps((self.lsh, self.minhashes), protocol=pickle.HIGHEST_PROTOCOL))

    def bytes_per_chapter(self) -> float:
        """:meth:`index_bytes` divided by the number of indexed chapters."""
        return self.index_bytes() / max(1, self.size)
