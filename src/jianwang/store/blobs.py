"""Content-addressed blob store: files named by SHA-256, written once, deduplicated."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20


class BlobStore:
    """Blobs under `root/ab/cdef…` (the first two hex digits shard the directory)."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def put_bytes(self, data: bytes, sync: bool = True) -> tuple[str, int]:
        """Store `data`; return (sha256, size). Storing the same bytes twice is a no-op.
        `sync=False` skips the fsync (a cache, e.g. crawled pages; `sync` them later when
        they become evidence)."""
        sha = hashlib.sha256(data).hexdigest()
        dest = self.path(sha)
        if not dest.exists():
            self._write(dest, lambda fh: fh.write(data), sync)
        return sha, len(data)

    def sync(self, sha256: str) -> None:
        """Make a blob stored with `sync=False` durable."""
        fd = os.open(self.path(sha256), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def put_file(self, src: BinaryIO, limit: int | None = None) -> tuple[str, int]:
        """Stream a file into the store (bounded by `limit` bytes); return (sha256, size)."""
        h = hashlib.sha256()
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := src.read(_CHUNK):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise ValueError(f"larger than {limit} bytes")
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            dest = self.path(h.hexdigest())
            dest.parent.mkdir(exist_ok=True)
            if dest.exists():
                os.unlink(tmp)
            else:
                os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return h.hexdigest(), size

    def _write(self, dest: Path, writer: object, sync: bool = True) -> None:
        dest.parent.mkdir(exist_ok=True)
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                writer(fh)  # type: ignore[operator]
                fh.flush()
                if sync:
                    os.fsync(fh.fileno())
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()
