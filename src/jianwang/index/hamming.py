"""Hamming index for binary perceptual codes (112-bit frame and window codes, 256-bit PDQ of
images; any whole number of bytes, `index.json`): FAISS binary indexes
over immutable segments + a delta log + tombstones, the same life cycle as `ExactIndex`.

Layout under the index directory (one per method and version)::

    index.json               code width (bits)
    seg-000001.codes.npy     uint8 (n, bits / 8), the hashes
    seg-000001.runs.npy      uint32 (k, 2): doc, first row of each run of one document's rows
    seg-000001.pos.npy       uint32 (n,): positions, only when a run's are not 0, 1, 2, ...
                             (a method with one hash per position stores none: 32 bytes a
                             hash in all; older segments have post.npy, (n, 2) doc, position)
    seg-000001.lists.npz     a large segment's inverted file: centroids, its rows in list
                             order (as gaps within each list, compressed: about 2 bytes a
                             code) and where each list starts; FAISS's lists are
                             built from it in memory when the segment opens (older segments
                             have seg-N.ivf, FAISS's own file, with the codes again and
                             8-byte ids: about 2x the codes on disk)
    manifest.json            live segments, written atomically
    delta.log                appended (doc, count, codes, positions) records, replayed on open
    tombstones.json          removed documents; filtered at lookup, purged by `compact`
    LOCK                     held (flock) by a writer

A lookup is a range search: every indexed hash within `radius` bits of a query hash, with
its distance. Segments are searched by FAISS: `IndexBinaryFlat` (exact; on one core about
3 ms per query hash and million indexed hashes) below `IVF_MIN` codes, an inverted file
(`IndexBinaryIVF`, approximate: only the `IVF_NPROBE` lists nearest the query hash) above,
built when the segment is written (`seg-N.lists.npz`). FAISS searches codes zero-padded to a width
it has a dedicated popcount loop for (`search_width`: 14 bytes are searched as 16); its
inverted lists hold their own copy in memory (plus an 8-byte id each), not on disk.
`lookup_within` searches only given documents' codes, exactly.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..fingerprint.base import Hits
from .exact import _atomic_write, file_state, writer_lock

_RELOAD_LOCK = threading.Lock()

_REC = struct.Struct("<II")  # doc, count

#: segments with at least this many codes are searched through an inverted file (FAISS
#: `IndexBinaryIVF`: codes clustered into `nlist` lists, `nprobe` nearest lists searched),
#: built when the segment is written and stored beside it; smaller ones are searched flat
IVF_MIN = 400_000
IVF_NPROBE = 12
IVF_MAX_LISTS = 2048
#: code widths (bytes) FAISS compares with dedicated popcount loops; a code of another width
#: is searched zero-padded to the next of these (the distance is unchanged: a 14-byte code
#: padded to 16 is searched 2x faster in an inverted file, 3.5x in a flat one, measured on
#: 2 M codes), and stored on disk at its own width
FAST_BYTES = (4, 8, 16, 20, 32, 64)


def search_width(width: int) -> int:
    """The width (bytes) FAISS searches `width`-byte codes at."""
    return next((w for w in FAST_BYTES if w >= width), width)


def padded(codes: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """`codes` with zero bytes appended up to `width` (contiguous, as FAISS takes them)."""
    codes = np.asarray(codes, dtype=np.uint8)
    if codes.shape[1] == width:
        return np.ascontiguousarray(codes)
    out = np.zeros((codes.shape[0], width), dtype=np.uint8)
    out[:, : codes.shape[1]] = codes
    return out


@dataclass
class _Segment:
    name: str
    codes: npt.NDArray[np.uint8]
    post: npt.NDArray[np.uint32]
    faiss_index: Any = None
    #: the codes file's (inode, size, mtime): what a reload checks before reusing it
    stamp: tuple[int, int, int] | None = None
    _probing: dict[int, Any] = field(default_factory=dict)
    _docs: tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None

    def rows_of(self, docs: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
        """Rows holding these documents' codes (a document's codes are contiguous: they
        are added, flushed and compacted together)."""
        if self._docs is None:
            d = np.asarray(self.post[:, 0])
            change = np.flatnonzero(np.diff(d)) + 1
            starts = np.concatenate([[0], change]).astype(np.int64)
            ends = np.append(starts[1:], d.shape[0]).astype(np.int64)
            self._docs = (d[starts] if d.shape[0] else d[:0], starts, ends)
        ids, starts, ends = self._docs
        pick = np.isin(ids, docs)
        if not pick.any():
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(
            [np.arange(a, b) for a, b in zip(starts[pick], ends[pick], strict=True)]
        )

    def probing(self, nprobe: int) -> Any:
        """The segment's inverted file searching `nprobe` lists: a second FAISS index over the
        same lists (FAISS takes no per-search nprobe for binary inverted files, and setting
        it on the shared one would race other threads' searches)."""
        import faiss

        base = self.faiss_index
        with _RELOAD_LOCK:
            if nprobe not in self._probing:
                v = faiss.IndexBinaryIVF(base.quantizer, base.d, base.nlist)
                v.replace_invlists(base.invlists, False)
                v.ntotal, v.is_trained, v.nprobe = base.ntotal, True, nprobe
                v.owner = base  # type: ignore[attr-defined]  # keep the lists alive
                self._probing[nprobe] = v
            return self._probing[nprobe]

    def searcher(self, bits: int) -> Any:
        if self.faiss_index is None:
            import faiss

            width = search_width(bits // 8)
            index = faiss.IndexBinaryFlat(width * 8)
            if self.codes.shape[0]:
                index.add(padded(self.codes, width))
            self.faiss_index = index
        return self.faiss_index


def _pack_post(
    post: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32] | None]:
    """(doc, first row) per run of rows of one document, and the positions unless every
    run's are 0, 1, 2, ... (then they follow from the row)."""
    post = np.asarray(post)
    n = post.shape[0]
    docs = post[:, 0]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(docs)) + 1]).astype(np.int64)
    runs = np.stack([docs[starts], starts.astype(np.uint32)], axis=1) if n else np.zeros((0, 2))
    implicit = np.arange(n, dtype=np.int64) - np.repeat(starts, np.diff(np.append(starts, n)))
    same = bool(np.array_equal(implicit, post[:, 1].astype(np.int64)))
    return runs.astype(np.uint32), None if same else np.ascontiguousarray(post[:, 1])


def _unpack_post(
    runs: npt.NDArray[np.uint32], n: int, pos: npt.NDArray[np.uint32] | None
) -> npt.NDArray[np.uint32]:
    starts = runs[:, 1].astype(np.int64)
    lengths = np.diff(np.append(starts, n))
    post = np.empty((n, 2), dtype=np.uint32)
    post[:, 0] = np.repeat(runs[:, 0], lengths)
    post[:, 1] = np.arange(n, dtype=np.int64) - np.repeat(starts, lengths) if pos is None else pos
    return post


def _near_positions(
    post: npt.NDArray[np.uint32], at: dict[int, npt.NDArray[Any]], margin: int
) -> npt.NDArray[np.bool_]:
    """Which (doc, position) rows lie within `margin` positions of one of their document's
    positions in `at` (documents not in `at`: all rows)."""
    keep = np.ones(post.shape[0], dtype=bool)
    for doc, positions in at.items():
        mine = np.flatnonzero(post[:, 0] == doc)
        if mine.shape[0] == 0:
            continue
        hits = np.unique(np.asarray(positions, dtype=np.int64))
        pos = post[mine, 1].astype(np.int64)
        i = np.clip(np.searchsorted(hits, pos), 1, hits.shape[0]) - 1
        gap = np.minimum(
            np.abs(pos - hits[i]), np.abs(pos - hits[np.minimum(i + 1, hits.shape[0] - 1)])
        )
        keep[mine] = gap <= margin
    return keep


def train_lists(
    codes: npt.NDArray[np.uint8], bits: int, seed: int = 0
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """The inverted file of a segment, as it is stored: (centroids at `search_width`, the
    segment's rows in list order, where each list starts in that order). Centroids are
    trained (FAISS k-means) on a sample; every code goes to its nearest centroid."""
    import faiss

    n = codes.shape[0]
    nlist = int(min(IVF_MAX_LISTS, max(64, 4 * math.sqrt(n))))
    width = search_width(bits // 8)
    quantizer = faiss.IndexBinaryFlat(width * 8)
    index = faiss.IndexBinaryIVF(quantizer, width * 8, nlist)
    rng = np.random.default_rng(seed)
    index.train(
        padded(codes[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))], width)
    )
    centroids = np.asarray(quantizer.reconstruct_n(0, nlist), dtype=np.uint8).reshape(nlist, width)
    assign = np.empty(n, dtype=np.int64)
    for a in range(0, n, 1 << 18):  # padded copies a block at a time
        _, nearest = quantizer.search(padded(codes[a : a + (1 << 18)], width), 1)
        assign[a : a + nearest.shape[0]] = nearest[:, 0]
    order = np.argsort(assign, kind="stable").astype(np.uint32)
    starts = np.zeros(nlist + 1, dtype=np.int64)
    starts[1:] = np.cumsum(np.bincount(assign, minlength=nlist))
    return centroids, order, starts


def _gaps(order: npt.NDArray[np.uint32], starts: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
    """Each list's rows (ascending) as the gaps between them (the first from 0)."""
    gaps = np.diff(order.astype(np.int64), prepend=0)
    firsts = starts[:-1][np.diff(starts) > 0]
    gaps[firsts] = order[firsts]
    return gaps.astype(np.uint32)


def _ungaps(gaps: npt.NDArray[np.uint32], starts: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
    """`_gaps` undone."""
    total = np.cumsum(gaps, dtype=np.int64)
    lengths = np.diff(starts)
    before = np.where(starts[:-1] > 0, total[np.maximum(starts[:-1] - 1, 0)], 0)
    return (total - np.repeat(before, lengths)).astype(np.uint32)


def ivf_from_lists(
    codes: npt.NDArray[np.uint8],
    centroids: npt.NDArray[np.uint8],
    order: npt.NDArray[np.uint32],
    starts: npt.NDArray[np.int64],
) -> Any:
    """A FAISS inverted file over `codes` (ids are row numbers) from its stored lists
    (`train_lists`), built in memory when a segment opens: the file holds ~2 bytes a code
    (its row in list order) where FAISS's own file holds the codes again and an 8-byte id."""
    import faiss

    nlist, width = centroids.shape
    quantizer = faiss.IndexBinaryFlat(width * 8)
    quantizer.add(np.ascontiguousarray(centroids))
    index = faiss.IndexBinaryIVF(quantizer, width * 8, nlist)
    index.is_trained = True
    lists = index.invlists
    for a in range(0, nlist, 64):  # a block of lists at a time: their codes padded
        lo, hi = int(starts[a]), int(starts[min(nlist, a + 64)])
        ids = np.ascontiguousarray(order[lo:hi], dtype=np.int64)
        block = padded(np.asarray(codes)[ids], width)  # ascending within each list
        for j in range(a, min(nlist, a + 64)):
            b0, b1 = int(starts[j]) - lo, int(starts[j + 1]) - lo
            if b1 > b0:
                lists.add_entries(
                    j, b1 - b0, faiss.swig_ptr(ids[b0:b1]), faiss.swig_ptr(block[b0:b1])
                )
    index.ntotal = int(order.shape[0])
    index.nprobe = IVF_NPROBE
    index.referenced_quantizer = quantizer  # type: ignore[attr-defined]  # keep it alive
    return index


class HammingIndex:
    """Postings of `bits`-wide binary codes to (document, position), searched by Hamming
    distance; `path=None` keeps it in memory."""

    def __init__(
        self,
        path: Path | None = None,
        delta_limit: int = 200_000,
        bits: int = 256,
        opened: dict[str, _Segment] | None = None,
    ):
        """`opened`: segments already open (by name), reused instead of opened again when
        their codes file is the same one (a written segment never changes: a reload opens
        only new segments; a rebuilt index's same-named ones are new files)."""
        self.path = path
        self.delta_limit = delta_limit
        self.tombstones: set[int] = set()
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            meta = path / "index.json"
            if meta.exists():
                bits = int(json.loads(meta.read_text())["bits"])
            else:
                _atomic_write(meta, json.dumps({"bits": bits, "kind": "hamming"}).encode())
            ts = path / "tombstones.json"
            if ts.exists():
                self.tombstones = set(json.loads(ts.read_text()))
        if bits % 8:
            raise ValueError(f"codes are whole bytes, not {bits} bits")
        self.bits = bits
        self.width = bits // 8
        self.segments: list[_Segment] = []
        self._delta_codes: list[npt.NDArray[np.uint8]] = []
        self._delta_post: list[npt.NDArray[np.uint32]] = []
        self._delta: _Segment | None = None
        self._delta_size = 0
        self._log_torn_at: int | None = None
        if path is not None:
            manifest = path / "manifest.json"
            names = json.loads(manifest.read_text())["segments"] if manifest.exists() else []
            self.segments = [self._reuse(opened or {}, n) or self._load(n) for n in names]
            log = path / "delta.log"
            if log.exists():
                good_end = self._replay(log)
                if good_end < log.stat().st_size:
                    self._log_torn_at = good_end
        self._seen = self._disk_state()
        self._checked = time.monotonic()

    # ------------------------------------------------------------ opening

    def _stamp(self, name: str) -> tuple[int, int, int]:
        assert self.path is not None
        st = os.stat(self.path / f"{name}.codes.npy")
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _reuse(self, opened: dict[str, _Segment], name: str) -> _Segment | None:
        seg = opened.get(name)
        try:
            return seg if seg is not None and seg.stamp == self._stamp(name) else None
        except OSError:
            return None

    def _load(self, name: str) -> _Segment:
        assert self.path is not None
        stamp = self._stamp(name)
        codes = np.load(self.path / f"{name}.codes.npy", mmap_mode="r")
        old = self.path / f"{name}.post.npy"
        if old.exists():
            post = np.load(old, mmap_mode="r")
        else:
            post = _unpack_post(
                np.load(self.path / f"{name}.runs.npy"),
                codes.shape[0],
                np.load(pos) if (pos := self.path / f"{name}.pos.npy").exists() else None,
            )
        seg = _Segment(name, codes, post, stamp=stamp)
        lists = self.path / f"{name}.lists.npz"
        ivf = self.path / f"{name}.ivf"  # FAISS's own file (segments written before)
        if lists.exists():
            with np.load(lists) as z:
                starts = z["starts"]
                order = _ungaps(z["gaps"], starts)
                seg.faiss_index = ivf_from_lists(codes, z["centroids"], order, starts)
        elif ivf.exists():
            import faiss

            seg.faiss_index = faiss.read_index_binary(str(ivf))
            seg.faiss_index.nprobe = IVF_NPROBE
        return seg

    def _replay(self, log: Path) -> int:
        raw = log.read_bytes()
        at = 0
        while at + _REC.size <= len(raw):
            doc, count = _REC.unpack_from(raw, at)
            end = at + _REC.size + count * (self.width + 4)
            if end > len(raw):
                break  # a torn last record: the add never returned
            body = at + _REC.size
            codes = np.frombuffer(raw, np.uint8, count * self.width, body).reshape(
                count, self.width
            )
            pos = np.frombuffer(raw, np.uint32, count, body + count * self.width)
            self._add_memory(doc, codes, pos)
            at = end
        return at

    def _disk_state(self) -> tuple[tuple[int, int], ...]:
        if self.path is None:
            return ()
        return file_state(self.path / n for n in ("tombstones.json", "manifest.json", "delta.log"))

    def _reload(self) -> None:
        """Re-open from disk without ever showing a half-built index: the new state is built
        aside and swapped in attribute by attribute (lookups in other threads see the old
        shards or the new ones, never empty ones)."""
        with _RELOAD_LOCK:
            fresh = HammingIndex(
                self.path, self.delta_limit, self.bits, {s.name: s for s in self.segments}
            )
            self.__dict__.update(fresh.__dict__)

    def refresh(self, max_age: float = 1.0) -> bool:
        """Pick up what other processes wrote; True if reloaded."""
        now = time.monotonic()
        if self.path is None or now - self._checked < max_age:
            return False
        self._checked = now
        if self._disk_state() == self._seen:
            return False
        self._reload()
        return True

    @contextlib.contextmanager
    def writing(self) -> Iterator[HammingIndex]:
        """Hold the writer lock (other processes wait) for a batch of changes."""
        if self.path is None:
            yield self
            return
        with writer_lock(self.path):
            # another writer may have flushed or added meanwhile: start from disk
            self._reload()
            if self._log_torn_at is not None:
                os.truncate(self.path / "delta.log", self._log_torn_at)
                self._log_torn_at = None
            yield self

    # ------------------------------------------------------------ writing

    def _as_bytes(self, codes: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
        arr = np.ascontiguousarray(codes)
        if arr.shape[0] == 0:
            return np.zeros((0, self.width), dtype=np.uint8)
        flat = arr.view(np.uint8).reshape(arr.shape[0], -1)
        if flat.shape[1] > self.width and flat.shape[1] - self.width < 8:
            # codes in whole 64-bit words whose last bytes are padding (a 112-bit code in
            # two words): the index keeps the bytes that carry bits
            if flat[:, self.width :].any():
                raise ValueError(f"codes are wider than the index's {self.bits} bits")
            flat = np.ascontiguousarray(flat[:, : self.width])
        if flat.shape[1] != self.width:
            raise ValueError(f"codes are {flat.shape[1] * 8} bits, the index holds {self.bits}")
        return flat

    def add(self, doc: int, codes: npt.NDArray[Any], positions: npt.NDArray[np.uint32]) -> None:
        """Add one document's codes; durable when this returns (file-backed index)."""
        flat = self._as_bytes(codes)
        positions = np.ascontiguousarray(positions, dtype=np.uint32)
        if flat.shape[0] != positions.shape[0]:
            raise ValueError("codes and positions differ in length")
        if self.path is not None:
            with open(self.path / "delta.log", "ab") as fh:
                fh.write(_REC.pack(doc, flat.shape[0]) + flat.tobytes() + positions.tobytes())
                fh.flush()
                os.fsync(fh.fileno())
        self._add_memory(doc, flat, positions)
        self.tombstones.discard(doc)
        if self._delta_size >= self.delta_limit:
            self.flush()

    def _add_memory(
        self, doc: int, codes: npt.NDArray[np.uint8], pos: npt.NDArray[np.uint32]
    ) -> None:
        post = np.empty((codes.shape[0], 2), dtype=np.uint32)
        post[:, 0] = doc
        post[:, 1] = pos
        self._delta_codes.append(np.array(codes, dtype=np.uint8))
        self._delta_post.append(post)
        self._delta_size += codes.shape[0]
        self._delta = None

    def remove(self, docs: Iterable[int]) -> None:
        """Tombstone documents: lookups never return them again."""
        self.tombstones.update(int(d) for d in docs)
        if self.path is not None:
            _atomic_write(
                self.path / "tombstones.json", json.dumps(sorted(self.tombstones)).encode()
            )

    def _delta_segment(self) -> _Segment | None:
        if not self._delta_size:
            return None
        if self._delta is None:
            self._delta = _Segment(
                "delta", np.concatenate(self._delta_codes), np.concatenate(self._delta_post)
            )
        return self._delta

    def flush(self) -> None:
        """Write the delta as an immutable segment."""
        seg = self._delta_segment()
        if seg is None or self.path is None:
            return
        existing = [int(p.name[4:10]) for p in self.path.glob("seg-*.codes.npy")]
        name = f"seg-{max(existing, default=0) + 1:06d}"
        self._save(name, seg.codes, seg.post)
        self.segments.append(self._load(name))
        self._save_manifest()
        (self.path / "delta.log").unlink(missing_ok=True)
        self._delta_codes, self._delta_post, self._delta_size = [], [], 0
        self._delta = None

    def _save(self, name: str, codes: npt.NDArray[np.uint8], post: npt.NDArray[np.uint32]) -> None:
        assert self.path is not None
        if codes.shape[0] >= IVF_MIN:  # written first: a segment is live once its .npy are
            centroids, order, starts = train_lists(codes, self.bits)
            tmp = self.path / f"{name}.lists.tmp.npz"
            with open(tmp, "wb") as fh:
                # rows ascend within a list: their gaps, compressed, cost ~2 bytes a code
                np.savez_compressed(
                    fh, centroids=centroids, gaps=_gaps(order, starts), starts=starts
                )
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / f"{name}.lists.npz")
        runs, pos = _pack_post(post)
        parts: list[tuple[str, npt.NDArray[Any]]] = [("codes", codes), ("runs", runs)]
        if pos is not None:
            parts.append(("pos", pos))
        for suffix, arr in parts[::-1]:  # codes last: a segment is whole once they are there
            tmp = self.path / f"{name}.{suffix}.tmp.npy"
            np.save(tmp, arr)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / f"{name}.{suffix}.npy")

    def _save_manifest(self) -> None:
        assert self.path is not None
        _atomic_write(
            self.path / "manifest.json",
            json.dumps({"segments": [s.name for s in self.segments]}).encode(),
        )

    def compact(self) -> None:
        """Merge segments and the delta into one, without tombstoned documents."""
        parts = list(self.segments)
        delta = self._delta_segment()
        if delta is not None:
            parts.append(delta)
        if not parts:
            return
        codes = np.concatenate([np.asarray(p.codes) for p in parts])
        post = np.concatenate([np.asarray(p.post) for p in parts])
        if self.tombstones:
            keep = ~np.isin(post[:, 0], np.fromiter(self.tombstones, dtype=np.uint32))
            codes, post = codes[keep], post[keep]
        if self.path is None:
            self.segments = [_Segment("memory", codes, post)]
        else:
            old = [s.name for s in self.segments]
            existing = [int(p.name[4:10]) for p in self.path.glob("seg-*.codes.npy")]
            name = f"seg-{max(existing, default=0) + 1:06d}"
            self._save(name, codes, post)
            self.segments = [self._load(name)]
            self._save_manifest()
            (self.path / "delta.log").unlink(missing_ok=True)
            for n in old:
                for suffix in ("codes.npy", "post.npy", "runs.npy", "pos.npy", "ivf", "lists.npz"):
                    (self.path / f"{n}.{suffix}").unlink(missing_ok=True)
            self.tombstones = set()
            _atomic_write(self.path / "tombstones.json", b"[]")
        self._delta_codes, self._delta_post, self._delta_size = [], [], 0
        self._delta = None

    # ------------------------------------------------------------ reading

    def lookup(self, codes: npt.NDArray[Any], radius: int = 64, nprobe: int | None = None) -> Hits:
        """Every indexed code within `radius` bits of each query code: (query code index,
        doc, position, distance), tombstoned documents left out. Inverted files search their
        `nprobe` lists nearest each code (default IVF_NPROBE)."""
        queries = self._as_bytes(codes)
        parts = list(self.segments)
        delta = self._delta_segment()
        if delta is not None:
            parts.append(delta)
        if queries.shape[0] == 0 or not parts:
            return Hits.empty()
        hits = self._search(parts, queries, radius, nprobe)
        if self.tombstones and len(hits):
            keep = ~np.isin(hits.doc, np.fromiter(self.tombstones, dtype=np.uint32))
            hits = Hits(
                hits.query_pos[keep],
                hits.doc[keep],
                hits.ref_pos[keep],
                None if hits.distance is None else hits.distance[keep],
            )
        return hits

    def _search(
        self,
        parts: list[_Segment],
        queries: npt.NDArray[np.uint8],
        radius: int,
        nprobe: int | None = None,
    ) -> Hits:
        qs, docs, pos, dist = [], [], [], []
        for seg in parts:
            if seg.codes.shape[0] == 0:
                continue
            searcher = seg.searcher(self.bits)
            # an older inverted file holds codes at their own width: queries take its width
            if nprobe is not None and hasattr(searcher, "nprobe") and nprobe != searcher.nprobe:
                searcher = seg.probing(nprobe)
            lims, d, ids = searcher.range_search(padded(queries, searcher.code_size), radius + 1)
            if ids.shape[0] == 0:
                continue
            q = np.repeat(
                np.arange(queries.shape[0], dtype=np.uint32), np.diff(lims).astype(np.int64)
            )
            post = np.asarray(seg.post)[ids]
            qs.append(q)
            docs.append(post[:, 0])
            pos.append(post[:, 1])
            dist.append(d.astype(np.uint16))
        if not qs:
            return Hits.empty()
        return Hits(
            np.concatenate(qs), np.concatenate(docs), np.concatenate(pos), np.concatenate(dist)
        )

    def lookup_within(
        self,
        codes: npt.NDArray[Any],
        docs: npt.NDArray[np.uint32],
        radius: int = 64,
        near: tuple[dict[int, npt.NDArray[Any]], int] | None = None,
    ) -> Hits:
        """Like `lookup`, but only against the codes of `docs` (a second, dense pass over the
        candidates that a sparse first pass found); with `near` = (positions by document,
        margin), only a document's codes within `margin` positions of one of its given
        positions (the parts of a long film around what the first pass found)."""
        queries = self._as_bytes(codes)
        docs = np.setdiff1d(
            np.asarray(docs, dtype=np.uint32), np.fromiter(self.tombstones, dtype=np.uint32)
        )
        parts = list(self.segments)
        delta = self._delta_segment()
        if delta is not None:
            parts.append(delta)
        if queries.shape[0] == 0 or docs.shape[0] == 0 or not parts:
            return Hits.empty()
        sub_codes, sub_post = [], []
        for seg in parts:
            rows = seg.rows_of(docs)
            if rows.shape[0] and near is not None:
                rows = rows[_near_positions(np.asarray(seg.post)[rows], *near)]
            if rows.shape[0]:
                sub_codes.append(np.asarray(seg.codes)[rows])
                sub_post.append(np.asarray(seg.post)[rows])
        if not sub_codes:
            return Hits.empty()
        sub = _Segment("candidates", np.concatenate(sub_codes), np.concatenate(sub_post))
        return self._search([sub], queries, radius)

    def stats(self) -> dict[str, int]:
        delta = self._delta_size
        return {
            "segments": len(self.segments),
            "codes": int(sum(s.codes.shape[0] for s in self.segments)) + delta,
            "delta": delta,
            "tombstones": len(self.tombstones),
            "bytes": self.bytes_on_disk(),
        }

    def bytes_on_disk(self) -> int:
        if self.path is None:
            return 0
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
