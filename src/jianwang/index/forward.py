"""Reference store: each indexed document's prepared reference, packed by its method.

Scoring verifies and extends matches against the reference itself (for text: its folded
characters and their raw offsets). Recomputing that from the stored rendition costs a
database query, a blob read and a normalisation per candidate; this store makes it a slice
of a memory-mapped file. It is a cache of the blob store: `jianwang index rebuild` recreates
it, and a document missing from it falls back to the rendition.

Layout::

    data.bin      packed references, appended
    offsets.bin   (doc u32, offset u64, length u32) records, appended after the data

A torn last record (a crash during an append) is ignored; data without a record is unused.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
from pathlib import Path

_REC = struct.Struct("<IQI")


class ReferenceStore:
    """Doc id -> packed bytes; `path=None` keeps it in memory."""

    def __init__(self, path: Path | None):
        self.path = path
        self._mem: dict[int, bytes] = {}
        self._where: dict[int, tuple[int, int]] = {}
        self._map: mmap.mmap | None = None
        self._seen = -1
        self._lock = threading.Lock()
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            self.refresh()

    def refresh(self) -> None:
        """Read records appended (by this or another process) since the last call."""
        if self.path is None:
            return
        offsets = self.path / "offsets.bin"
        try:
            size = offsets.stat().st_size
        except FileNotFoundError:
            return
        if size == self._seen:
            return
        data = offsets.read_bytes()
        whole = len(data) - len(data) % _REC.size
        where = {doc: (off, length) for doc, off, length in _REC.iter_unpack(data[:whole])}
        self._where = where  # swapped whole: readers see the old table or the new one
        self._seen = size

    def put(self, doc: int, packed: bytes) -> None:
        """Store (or replace) a document's packed reference; durable when this returns."""
        if self.path is None:
            self._mem[doc] = packed
            return
        with open(self.path / "data.bin", "ab") as fh:
            offset = fh.tell()
            fh.write(packed)
            fh.flush()
            os.fsync(fh.fileno())
        with open(self.path / "offsets.bin", "ab") as fh:
            pos = fh.tell()
            if pos % _REC.size:  # a torn record from a crash: cut it off first
                fh.truncate(pos - pos % _REC.size)
            fh.write(_REC.pack(doc, offset, len(packed)))
            fh.flush()
            os.fsync(fh.fileno())
        self._where[doc] = (offset, len(packed))

    def get(self, doc: int) -> bytes | None:
        if self.path is None:
            return self._mem.get(doc)
        where = self._where.get(doc)
        if where is None:
            self.refresh()
            where = self._where.get(doc)
            if where is None:
                return None
        offset, length = where
        m = self._map
        if m is None or offset + length > len(m):
            with self._lock:
                self._remap()
            m = self._map
            if m is None or offset + length > len(m):
                return None
        return m[offset : offset + length]

    def _remap(self) -> None:
        """Map the data file again (it grew). The old map is not closed: a reader in
        another thread may still hold it; it closes when the last reference goes."""
        assert self.path is not None
        data = self.path / "data.bin"
        try:
            size = data.stat().st_size
        except FileNotFoundError:
            return
        if size == 0:
            return
        with open(data, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)

    def bytes_on_disk(self) -> int:
        if self.path is None:
            return sum(len(v) for v in self._mem.values())
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
