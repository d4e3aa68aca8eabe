"""Safe, streaming, recursive unpacking of archives (zip, APK/JAR, tar with gzip/bzip2/xz/
zstd, 7z, RAR 4 and 5 (not solid RAR 4), ar/.deb, cpio, and a lone compressed stream)
through libarchive; `rarfile` only reads the headers of encrypted RAR archives, which
libarchive cannot read, to name their members.

Nothing an archive says is trusted:

* members are never extracted by name: each is streamed, block by block, into a temp file
  named by a counter inside a fresh directory under the given temp area (in the data home),
  so a member named ``../x``, ``/etc/x`` or reached through a symlink cannot land anywhere
  else; such names (and links pointing outside the archive, and hard links) still end the
  unpacking with a clear error, since no honest release carries them;
* limits bound the nesting depth, the member count, the total bytes unpacked, each member's
  size (declared *and* actually written) and the compression ratio (bytes written per byte
  of archive read), so an archive bomb ends in `ArchiveBomb` long before the disk is full;
* encrypted members end in `EncryptedArchive` with the member names (7z with encrypted
  headers has none to give);
* the archive itself is read from its file in libarchive's blocks: it is never held in
  memory.

The temp directory is removed when the `unpack` context ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import libarchive
import libarchive.ffi as _ffi
from libarchive.exception import ArchiveError

from ..domain import InvalidInput

__all__ = [
    "ArchiveBomb",
    "ArchiveLimits",
    "EncryptedArchive",
    "Member",
    "UnsafeArchive",
    "archive_format",
    "unpack",
]


class UnsafeArchive(InvalidInput):
    """A member name or link that would reach outside the archive."""

    code = "unsafe_archive"


class ArchiveBomb(InvalidInput):
    """Unpacking would pass a limit (depth, members, bytes, ratio)."""

    code = "archive_bomb"


class EncryptedArchive(InvalidInput):
    """Members that cannot be read without a password."""

    code = "encrypted_archive"


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on one input's unpacking (all nested archives together)."""

    #: archives inside archives: 1 = the outer archive's members only
    max_depth: int = 4
    #: members of all archives together (directories not counted)
    max_members: int = 10_000
    #: bytes written for all members together
    max_total_bytes: int = 4 * 1024**3
    #: one member's size, declared or written
    max_member_bytes: int = 256 * 1024**2
    #: bytes written per byte of archive read, checked once a member passes 1 MiB
    max_ratio: float = 200.0


@dataclass(frozen=True)
class Member:
    """A member's bytes in a temp file: `path` is its name in the archive, nested archives
    joined with "/" (``game.zip/data/level1.pak``); `depth` 1 is the outer archive's."""

    path: str
    file: Path
    size: int
    depth: int

    def read(self) -> bytes:
        return self.file.read_bytes()


# magic numbers of what libarchive unpacks here; anything else is not an archive to us
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", "zip"),
    (0, b"PK\x05\x06", "zip"),
    (0, b"PK\x07\x08", "zip"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z"),
    (0, b"Rar!\x1a\x07", "rar"),
    (0, b"!<arch>\n", "ar"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"BZh", "bzip2"),
    (0, b"\xfd7zXZ\x00", "xz"),
    (0, b"\x28\xb5\x2f\xfd", "zstd"),
    (0, b"070701", "cpio"),
    (0, b"070707", "cpio"),
    (257, b"ustar", "tar"),
)

#: compression filters that may wrap a single file rather than an archive
_STREAMS = {"gzip", "bzip2", "xz", "zstd"}

_BLOCK = 1 << 16
_RATIO_FLOOR = 1 << 20

_is_encrypted = _ffi.libarchive.archive_entry_is_encrypted
_is_encrypted.argtypes = [ctypes.c_void_p]
_is_encrypted.restype = ctypes.c_int


def archive_format(head: bytes) -> str | None:
    """The archive or compression format `head` (the first 512 bytes or more) starts with,
    or None."""
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


@contextlib.contextmanager
def unpack(
    path: Path, limits: ArchiveLimits, tmp_root: Path, label: str | None = None
) -> Iterator[list[Member]]:
    """Unpack the archive at `path` (and archives inside it, to `limits.max_depth`) into a
    fresh directory under `tmp_root`; yields its members (nested archives are members too,
    followed by theirs). Raises `ArchiveBomb`, `UnsafeArchive`, `EncryptedArchive` or
    `InvalidInput` (damaged or truncated archive). Everything is deleted on exit."""
    tmp_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="unpack-", dir=tmp_root))
    try:
        state = _State(limits, work)
        state.unpack(path, label or path.name, 1, "")
        yield state.members
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _State:
    def __init__(self, limits: ArchiveLimits, work: Path):
        self.limits = limits
        self.work = work
        self.members: list[Member] = []
        self.total = 0
        self.count = 0
        self.archive_written = 0

    def unpack(self, path: Path, label: str, depth: int, prefix: str) -> None:
        if depth > self.limits.max_depth:
            raise ArchiveBomb(
                f"{label}: archives nested deeper than {self.limits.max_depth} levels "
                "(JIANWANG_ARCHIVE_MAX_DEPTH)"
            )
        fmt = archive_format(_head(path))
        try:
            try:
                self._read(path, label, depth, prefix, "all")
            except _NotAnArchive:
                if fmt not in _STREAMS:
                    raise InvalidInput(f"{label}: not a readable archive") from None
                # a lone compressed file (data.gz): its one member is the decompressed stream
                self._read(path, label, depth, prefix, "raw")
        except (ArchiveBomb, UnsafeArchive, EncryptedArchive):
            raise
        except InvalidInput:
            if depth == 1:
                raise
            # a member that only looks like an archive (two magic bytes by chance), or a
            # damaged one inside a good archive: it stays a plain member, found by its bytes

    def _read(self, path: Path, label: str, depth: int, prefix: str, fmt: str) -> None:
        encrypted: list[str] = []
        nested: list[Member] = []
        links: dict[str, str] = {}  # symbolic links of this archive: name -> target
        self.archive_written = 0
        archive_size = max(path.stat().st_size, 1)
        try:
            with libarchive.file_reader(str(path), format_name=fmt, block_size=_BLOCK) as arc:
                for entry in arc:
                    if fmt == "raw" and not set(arc.filter_names) - {"none"}:
                        # no decompressor took it: bytes that merely start like gzip
                        raise InvalidInput(f"{label}: not a readable archive")
                    name = _member_name(entry, fmt, label)
                    _through_link(label, name, links)
                    if entry.isdir:
                        continue
                    if entry.issym:
                        # never created nor followed (a package's link to /etc/ssl/... is
                        # harmless); a member that would be written through one is refused
                        links[name] = entry.linkpath or ""
                        continue
                    if entry.islnk:
                        _check_hardlink(label, name, entry.linkpath)
                        continue
                    if not entry.isreg:
                        continue  # devices, fifos, sockets: nothing to read
                    self.count += 1
                    if self.count > self.limits.max_members:
                        raise ArchiveBomb(
                            f"{label}: more than {self.limits.max_members} members "
                            "(JIANWANG_ARCHIVE_MAX_MEMBERS)"
                        )
                    if _is_encrypted(entry._entry_p):
                        encrypted.append(name)
                        continue
                    declared = entry.size
                    if declared is not None and declared > self.limits.max_member_bytes:
                        raise ArchiveBomb(
                            f"{label}: member {name!r} declares {declared:,} bytes, over the "
                            f"limit of {self.limits.max_member_bytes:,} (JIANWANG_MAX_INPUT_BYTES)"
                        )
                    member = self._write(arc, entry, label, prefix + name, depth, archive_size)
                    self.members.append(member)
                    with open(member.file, "rb") as fh:
                        if archive_format(fh.read(512)) is not None:
                            nested.append(member)
        except ArchiveError as exc:
            msg = str(exc)
            low = msg.lower()
            if "passphrase" in low or "encrypt" in low or "decryption" in low:
                names = ", ".join(encrypted) if encrypted else "member names are encrypted too"
                raise EncryptedArchive(f"{label}: encrypted archive ({names})") from None
            if "unrecognized archive format" in low and not self.members_of(prefix):
                raise _NotAnArchive() from None
            rar = _rar_encrypted(path) if archive_format(_head(path)) == "rar" else None
            if rar is not None:  # libarchive reads no encrypted RAR; rarfile reads headers
                names = ", ".join(rar[:20]) if rar else "member names are encrypted too"
                raise EncryptedArchive(f"{label}: encrypted archive ({names})") from None
            raise InvalidInput(f"{label}: damaged or truncated archive ({_short(msg)})") from None
        if encrypted:
            raise EncryptedArchive(
                f"{label}: encrypted archive, members: {', '.join(encrypted[:20])}"
                + (f" and {len(encrypted) - 20} more" if len(encrypted) > 20 else "")
            )
        for m in nested:
            self.unpack(m.file, f"{label}/{m.path[len(prefix) :]}", depth + 1, m.path + "/")

    def members_of(self, prefix: str) -> bool:
        """Whether members were already read from the archive at `prefix` ("" = the outer)."""
        return any(m.path.startswith(prefix) for m in self.members)

    def _write(
        self,
        arc: libarchive.read.ArchiveRead,
        entry: libarchive.entry.ArchiveEntry,
        label: str,
        name: str,
        depth: int,
        archive_size: int,
    ) -> Member:
        dest = self.work / f"{len(self.members):06d}"
        written = 0
        lim = self.limits
        # O_EXCL: the name is ours and new; nothing the archive says chooses it
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            for block in entry.get_blocks(_BLOCK):
                written += len(block)
                self.total += len(block)
                if written > lim.max_member_bytes:
                    raise ArchiveBomb(
                        f"{label}: member {name!r} unpacks to more than "
                        f"{lim.max_member_bytes:,} bytes (JIANWANG_MAX_INPUT_BYTES)"
                    )
                if self.total > lim.max_total_bytes:
                    raise ArchiveBomb(
                        f"{label}: unpacks to more than {lim.max_total_bytes:,} bytes "
                        "(JIANWANG_ARCHIVE_MAX_BYTES)"
                    )
                self.archive_written += len(block)
                if self.archive_written > _RATIO_FLOOR:
                    # everything written from this archive against the archive bytes read so
                    # far (per archive, not per member: a solid 7z block is read while its
                    # first member is written, and the next members consume nothing more)
                    consumed = max(arc.bytes_read, 1)
                    if self.archive_written > lim.max_ratio * consumed:
                        raise ArchiveBomb(
                            f"{label}: member {name!r} expands more than "
                            f"{lim.max_ratio:g} times (JIANWANG_ARCHIVE_MAX_RATIO)"
                        )
                out.write(block)
        if written > _RATIO_FLOOR and written > lim.max_ratio * archive_size * 1.0:
            raise ArchiveBomb(
                f"{label}: member {name!r} expands more than {lim.max_ratio:g} times the "
                "archive (JIANWANG_ARCHIVE_MAX_RATIO)"
            )
        return Member(name, dest, written, depth)


class _NotAnArchive(Exception):
    pass


def _member_name(entry: libarchive.entry.ArchiveEntry, fmt: str, label: str) -> str:
    """The member's path, refused when absolute or climbing out with ".."."""
    raw = entry.pathname if fmt != "raw" else None
    if raw is None or raw in ("", "data"):
        if fmt == "raw":
            base = label.rsplit("/", 1)[-1]
            stem, dot, _ext = base.rpartition(".")
            return stem if dot and stem else base + ".out"
        raw = raw or "unnamed"
    name = raw.replace("\\", "/")
    if name.startswith("/") or _drive(name):
        raise UnsafeArchive(f"{label}: member {raw!r} has an absolute path")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../"):
        raise UnsafeArchive(f"{label}: member {raw!r} climbs out of the archive (path traversal)")
    return norm


def _drive(name: str) -> bool:
    """A Windows drive path ("C:/x", "C:x")."""
    return len(name) > 1 and name[0].isalpha() and name[1] == ":"


def _check_hardlink(label: str, name: str, target: str | None) -> None:
    """Hard links are never created (the target's content is its own member); one whose
    target lies outside the archive (an extractor would link a file of the system into
    the output) is refused."""
    if target is None:
        return
    t = target.replace("\\", "/")
    resolved = posixpath.normpath(t)
    if t.startswith("/") or _drive(t) or resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchive(f"{label}: hard link {name!r} points outside the archive ({target!r})")


def _through_link(label: str, name: str, links: dict[str, str]) -> None:
    """Refuse a member whose path runs through a symbolic link of the archive (the classic
    escape: a link `d` -> `/etc`, then a member `d/passwd`)."""
    if not links:
        return
    parts = name.split("/")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i])
        if parent in links:
            raise UnsafeArchive(
                f"{label}: member {name!r} would be written through symbolic link "
                f"{parent!r} (-> {links[parent]!r}): a symlink escape"
            )


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(512)


def _rar_encrypted(path: Path) -> list[str] | None:
    """The encrypted members of a RAR archive (empty when even the names are encrypted), or
    None when it is not encrypted or cannot be read (`rarfile` parses the headers itself)."""
    import rarfile

    try:
        rf = rarfile.RarFile(str(path))
        if not rf.needs_password():
            return None
        return [i.filename for i in rf.infolist() if i.needs_password()]
    except rarfile.Error:
        return None


def _short(msg: str) -> str:
    line = msg.strip().splitlines()[0] if msg.strip() else "unknown error"
    return line[:200]
