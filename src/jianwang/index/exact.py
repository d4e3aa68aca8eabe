"""Exact-key index: immutable sorted segments + delta + tombstones, sharded by document.

Keys are 64-bit (hashes of text) or 32-bit (the audio method's packed peak-group fields,
which fit in 32 bits: a third less disk and page cache per posting); `index.json` records
the width.

Layout under the index directory (one directory per method and version)::

    index.json                 shards, key width
    shard-00/
        manifest.json          live segments, written atomically
        seg-000001.keys.npy    uint64 or uint32, sorted
        seg-000001.post.npy    uint32 pairs (doc, position), same order as keys
        delta.log              appended (doc, count, keys, positions) records, replayed on open
    tombstones.json            removed documents; filtered at lookup, purged by `compact`
    LOCK                       held (flock) by a writer

Segments are memory-mapped, so opening costs no reading and the page cache is shared between
processes. Adding writes to the delta log first (durable), then to memory; `flush` turns the
delta into a new segment. A crash loses nothing that `add` returned from.

Only numpy and the file system: no database, no framework.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
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
from ..fingerprint.normalize import _core

_RELOAD_LOCK = threading.Lock()

_REC = struct.Struct("<II")  # doc, count


_FENCE = 64  # keys per fence: every 64th key is kept in a small array searched first


@dataclass
class _Segment:
    name: str
    keys: npt.NDArray[np.uint64]
    post: npt.NDArray[np.uint32]  # shape (n, 2): doc, position
    _fences: npt.NDArray[np.uint64] | None = None

    @property
    def fences(self) -> npt.NDArray[np.uint64]:
        if self._fences is None:
            self._fences = np.ascontiguousarray(self.keys[::_FENCE])
        return self._fences


@dataclass
class _Shard:
    path: Path | None
    segments: list[_Segment] = field(default_factory=list)
    delta_keys: list[npt.NDArray[np.uint64]] = field(default_factory=list)
    delta_post: list[npt.NDArray[np.uint32]] = field(default_factory=list)
    delta_size: int = 0
    log_torn_at: int | None = None  # offset of a torn record left by a crash, if any
    _delta_cache: _Segment | None = None

    def delta_segment(self) -> _Segment | None:
        if not self.delta_size:
            return None
        if self._delta_cache is None:
            keys = np.concatenate(self.delta_keys)
            post = np.concatenate(self.delta_post)
            order = np.argsort(keys, kind="stable")
            self._delta_cache = _Segment("delta", keys[order], post[order])
        return self._delta_cache


class ExactIndex:
    """Postings of 64- or 32-bit keys to (document, position); `path=None` keeps it in
    memory."""

    def __init__(
        self,
        path: Path | None = None,
        shards: int = 1,
        delta_limit: int = 500_000,
        key_bits: int = 64,
    ):
        self.path = path
        self.delta_limit = delta_limit
        self.tombstones: set[int] = set()
        self._dead = np.zeros(0, dtype=np.uint32)
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            meta = path / "index.json"
            if meta.exists():
                info = json.loads(meta.read_text())
                shards = int(info["shards"])
                key_bits = int(info.get("key_bits", 64))
            else:
                _atomic_write(meta, json.dumps({"shards": shards, "key_bits": key_bits}).encode())
            ts = path / "tombstones.json"
            if ts.exists():
                self.tombstones = set(json.loads(ts.read_text()))
        if key_bits not in (32, 64):
            raise ValueError(f"keys are 32 or 64 bits, not {key_bits}")
        self.key_bits = key_bits
        self.key_dtype = np.dtype(np.uint32 if key_bits == 32 else np.uint64)
        self._dead = np.fromiter(self.tombstones, dtype=np.uint32)
        self.shards = [
            _Shard(None if path is None else path / f"shard-{i:02d}") for i in range(shards)
        ]
        for shard in self.shards:
            self._open_shard(shard)
        self._seen = self._disk_state()
        self._checked = time.monotonic()

    # ------------------------------------------------------------ opening

    def _disk_state(self) -> tuple[tuple[int, int], ...]:
        """(mtime, size) of the files other processes change: tombstones, manifests, logs."""
        if self.path is None:
            return ()
        files = [self.path / "tombstones.json"]
        for shard in self.shards:
            assert shard.path is not None
            files += [shard.path / "manifest.json", shard.path / "delta.log"]
        return file_state(files)

    def _reload(self) -> None:
        """Re-open from disk without ever showing a half-built index: the new state is built
        aside and swapped in attribute by attribute (lookups in other threads see the old
        shards or the new ones, never empty ones)."""
        with _RELOAD_LOCK:
            fresh = ExactIndex(self.path, len(self.shards), self.delta_limit, self.key_bits)
            self.__dict__.update(fresh.__dict__)

    def refresh(self, max_age: float = 1.0) -> bool:
        """Pick up what other processes wrote (new references, removals); True if reloaded.
        Looks at the files at most every `max_age` seconds (a few `stat` calls)."""
        now = time.monotonic()
        if self.path is None or now - self._checked < max_age:
            return False
        self._checked = now
        if self._disk_state() == self._seen:
            return False
        self._reload()
        return True

    def _open_shard(self, shard: _Shard) -> None:
        if shard.path is None:
            return
        shard.path.mkdir(parents=True, exist_ok=True)
        manifest = shard.path / "manifest.json"
        names = json.loads(manifest.read_text())["segments"] if manifest.exists() else []
        shard.segments = [_load_segment(shard.path, n) for n in names]
        log = shard.path / "delta.log"
        if log.exists():
            records, good_end = _read_log(log, self.key_dtype)
            for doc, keys, pos in records:
                self._add_memory(shard, doc, keys, pos)
            if good_end < log.stat().st_size:
                shard.log_torn_at = good_end

    @contextlib.contextmanager
    def writing(self) -> Iterator[ExactIndex]:
        """Hold the writer lock (other processes wait) for a batch of changes."""
        if self.path is None:
            yield self
            return
        with writer_lock(self.path):
            # another writer may have flushed or added meanwhile: start from disk
            self._reload()
            for shard in self.shards:
                if shard.log_torn_at is not None and shard.path is not None:
                    os.truncate(shard.path / "delta.log", shard.log_torn_at)
                    shard.log_torn_at = None
            yield self

    # ------------------------------------------------------------ writing

    def _shard_of(self, doc: int) -> _Shard:
        return self.shards[doc % len(self.shards)]

    def add(
        self, doc: int, keys: npt.NDArray[np.uint64], positions: npt.NDArray[np.uint32]
    ) -> None:
        """Add one document's postings; durable when this returns (file-backed index)."""
        if keys.shape != positions.shape:
            raise ValueError("keys and positions differ in length")
        shard = self._shard_of(doc)
        if self.key_bits == 32 and keys.shape[0] and int(np.max(keys)) >= 0xFFFFFFFF:
            raise ValueError("a key does not fit the index's 32 bits (0xFFFFFFFF is reserved)")
        keys = np.ascontiguousarray(keys, dtype=self.key_dtype)
        positions = np.ascontiguousarray(positions, dtype=np.uint32)
        if shard.path is not None:
            with open(shard.path / "delta.log", "ab") as fh:
                fh.write(_REC.pack(doc, keys.shape[0]) + keys.tobytes() + positions.tobytes())
                fh.flush()
                os.fsync(fh.fileno())
        self._add_memory(shard, doc, keys, positions)
        if doc in self.tombstones:
            self.tombstones.discard(doc)
            self._dead = np.fromiter(self.tombstones, dtype=np.uint32)
        if shard.delta_size >= self.delta_limit:
            self._flush_shard(shard)

    def _add_memory(
        self, shard: _Shard, doc: int, keys: npt.NDArray[np.uint64], pos: npt.NDArray[np.uint32]
    ) -> None:
        post = np.empty((keys.shape[0], 2), dtype=np.uint32)
        post[:, 0] = doc
        post[:, 1] = pos
        shard.delta_keys.append(keys)
        shard.delta_post.append(post)
        shard.delta_size += keys.shape[0]
        shard._delta_cache = None

    def remove(self, docs: Iterable[int]) -> None:
        """Tombstone documents: lookups never return them again."""
        self.tombstones.update(int(d) for d in docs)
        self._dead = np.fromiter(self.tombstones, dtype=np.uint32)
        self._save_tombstones()

    def _save_tombstones(self) -> None:
        if self.path is not None:
            _atomic_write(
                self.path / "tombstones.json", json.dumps(sorted(self.tombstones)).encode()
            )

    def flush(self) -> None:
        """Write every shard's delta as an immutable segment."""
        for shard in self.shards:
            self._flush_shard(shard)

    def _flush_shard(self, shard: _Shard) -> None:
        seg = shard.delta_segment()
        if seg is None or shard.path is None:
            return
        name = self._next_name(shard)
        _save_segment(shard.path, name, seg.keys, seg.post)
        shard.segments.append(_load_segment(shard.path, name))
        self._save_manifest(shard)
        (shard.path / "delta.log").unlink(missing_ok=True)
        shard.delta_keys, shard.delta_post, shard.delta_size = [], [], 0
        shard._delta_cache = None

    def _next_name(self, shard: _Shard) -> str:
        assert shard.path is not None
        existing = [int(p.name[4:10]) for p in shard.path.glob("seg-*.keys.npy")]
        return f"seg-{max(existing, default=0) + 1:06d}"

    def _save_manifest(self, shard: _Shard) -> None:
        assert shard.path is not None
        names = [s.name for s in shard.segments]
        _atomic_write(shard.path / "manifest.json", json.dumps({"segments": names}).encode())

    def compact(self) -> None:
        """Merge each shard into one segment and purge tombstoned documents."""
        dead = np.fromiter(self.tombstones, dtype=np.uint32)
        for shard in self.shards:
            parts = list(shard.segments)
            delta = shard.delta_segment()
            if delta is not None:
                parts.append(delta)
            if not parts:
                continue
            keys = np.concatenate([p.keys for p in parts])
            post = np.concatenate([p.post for p in parts])
            alive = ~np.isin(post[:, 0], dead)
            keys, post = keys[alive], post[alive]
            order = np.argsort(keys, kind="stable")
            keys, post = keys[order], post[order]
            if shard.path is None:
                shard.segments = [_Segment("mem", keys, post)]
            else:
                old = [s.name for s in shard.segments]
                name = self._next_name(shard)
                _save_segment(shard.path, name, keys, post)
                shard.segments = [_load_segment(shard.path, name)]
                self._save_manifest(shard)
                (shard.path / "delta.log").unlink(missing_ok=True)
                for n in old:
                    for ext in ("keys", "post"):
                        (shard.path / f"{n}.{ext}.npy").unlink(missing_ok=True)
            shard.delta_keys, shard.delta_post, shard.delta_size = [], [], 0
            shard._delta_cache = None
        self.tombstones.clear()
        self._dead = np.zeros(0, dtype=np.uint32)
        self._save_tombstones()

    # ------------------------------------------------------------ reading

    def lookup(self, keys: npt.NDArray[np.uint64], max_postings: int = 64) -> Hits:
        """Every posting of every key, as (query index of the key, doc, position).

        Keys with more than `max_postings` postings in a segment are skipped: they are
        boilerplate shared by many references and carry no evidence.
        """
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        if self.key_bits == 32:
            # a wider key can be in no 32-bit segment: keep the query's numbering, never match
            keys = np.where(keys > 0xFFFFFFFF, 0xFFFFFFFF, keys).astype(np.uint32)
        qs, ds, ps = [], [], []
        for shard in self.shards:
            segs = list(shard.segments)
            delta = shard.delta_segment()
            if delta is not None:
                segs.append(delta)
            for seg in segs:
                if seg.keys.shape[0] == 0:
                    continue
                if _core is not None:
                    sq, sd, sp = _core.lookup_segment(
                        np.ascontiguousarray(seg.keys),
                        np.ascontiguousarray(seg.post),
                        keys,
                        max_postings,
                        seg.fences,
                        _FENCE,
                    )
                    if sq.shape[0]:
                        qs.append(sq)
                        ds.append(sd)
                        ps.append(sp)
                    continue
                lo = np.searchsorted(seg.keys, keys, side="left")
                lo_c = np.minimum(lo, seg.keys.shape[0] - 1)
                found = seg.keys[lo_c] == keys
                if not found.any():
                    continue
                # only keys present need their upper bound
                fidx = np.flatnonzero(found)
                lo_f = lo[fidx]
                cnt = np.searchsorted(seg.keys, keys[fidx], side="right") - lo_f
                common = cnt > max_postings
                if common.any():
                    fidx, lo_f, cnt = fidx[~common], lo_f[~common], cnt[~common]
                total = int(cnt.sum())
                if total == 0:
                    continue
                qidx = np.repeat(fidx, cnt)
                rows = np.repeat(lo_f - np.cumsum(cnt) + cnt, cnt) + np.arange(total)
                post = seg.post[rows]
                qs.append(qidx)
                ds.append(post[:, 0])
                ps.append(post[:, 1])
        if not qs:
            return Hits.empty()
        if len(qs) == 1:
            q, d, p = (a.astype(np.uint32, copy=False) for a in (qs[0], ds[0], ps[0]))
        else:
            q = np.concatenate(qs).astype(np.uint32, copy=False)
            d = np.concatenate(ds).astype(np.uint32, copy=False)
            p = np.concatenate(ps).astype(np.uint32, copy=False)
        if self._dead.shape[0]:
            alive = ~np.isin(d, self._dead)
            q, d, p = q[alive], d[alive], p[alive]
        return Hits(q, d, p)

    def stats(self) -> dict[str, int]:
        """Entries, segments and bytes on disk (segments + delta log)."""
        entries = segments = size = 0
        for shard in self.shards:
            segments += len(shard.segments)
            entries += sum(s.keys.shape[0] for s in shard.segments) + shard.delta_size
            if shard.path is not None:
                size += sum(p.stat().st_size for p in shard.path.iterdir() if p.is_file())
            else:
                size += sum(s.keys.nbytes + s.post.nbytes for s in shard.segments)
                size += shard.delta_size * (8 + self.key_dtype.itemsize)
        return {
            "entries": entries,
            "segments": segments,
            "bytes": size,
            "tombstones": len(self.tombstones),
        }


def file_state(files: Iterable[Path]) -> tuple[tuple[int, int], ...]:
    """(mtime, size) of each file, (0, -1) for a missing one: what `refresh` compares."""
    out = []
    for f in files:
        try:
            st = f.stat()
            out.append((st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            out.append((0, -1))
    return tuple(out)


@contextlib.contextmanager
def writer_lock(directory: Path) -> Iterator[None]:
    """The index directory's writer lock (`flock` on LOCK): other writers wait."""
    with open(directory / "LOCK", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _save_segment(
    dir: Path, name: str, keys: npt.NDArray[np.uint64], post: npt.NDArray[np.uint32]
) -> None:
    for ext, arr in (("keys", keys), ("post", post)):
        tmp = dir / f"{name}.{ext}.tmp.npy"
        np.save(tmp, arr)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dir / f"{name}.{ext}.npy")


def _load_segment(dir: Path, name: str) -> _Segment:
    # plain ndarray views of the maps: numpy's memmap subclass adds Python overhead to
    # every indexing operation, and lookups index a lot
    keys = np.load(dir / f"{name}.keys.npy", mmap_mode="r").view(np.ndarray)
    post = np.load(dir / f"{name}.post.npy", mmap_mode="r").view(np.ndarray)
    return _Segment(name, keys, post)


def _read_log(
    path: Path, key_dtype: np.dtype[Any]
) -> tuple[list[tuple[int, npt.NDArray[Any], npt.NDArray[np.uint32]]], int]:
    """Replay a delta log: (records, end of the last whole record). A torn last record (a
    crash during append) is left out; the next writer truncates it."""
    data = path.read_bytes()
    out = []
    off = 0
    while off + _REC.size <= len(data):
        doc, n = _REC.unpack_from(data, off)
        width = key_dtype.itemsize
        end = off + _REC.size + n * (width + 4)
        if end > len(data):
            break
        k0 = off + _REC.size
        keys = np.frombuffer(data, dtype=key_dtype, count=n, offset=k0).copy()
        pos = np.frombuffer(data, dtype=np.uint32, count=n, offset=k0 + n * width).copy()
        out.append((doc, keys, pos))
        off = end
    return out, off
