"""The file method: software, game data and any other file, by its bytes.

Four kinds of evidence, all as 64-bit keys in the exact-key index (the kind in the key's
top 4 bits and in the position's top 8 bits):

* **SHA-256** of the whole file (its first 60 bits as the key, the whole digest verified
  in `score`): a renamed copy.
* **Content-defined chunks**: the file is cut where a gear rolling hash over the last 32
  bytes has its top 12 bits zero (chunks of 1–64 KiB, about 5 KiB on average), and each
  chunk's BLAKE2b is a key. A cut depends only on the 32 bytes before it, so a patch,
  a changed string, an appended payload or a truncation changes the chunks around it and
  no others: the share of the reference's chunks found in the query survives them all.
* **TLSH** (`py-tlsh`) of each executable section (ELF program segments, PE sections) and
  of the rest of the file (the whole file when it has none), compared exactly in `score`;
  for candidate generation each digest is cut into 21 bands of 12 bits, each band a key (a
  digest within a few dozen of another shares some band). A rebuild from the same source
  (another release) moves code and data around so that few chunks survive, but its TLSH
  distance often stays small.
* **Code grams and strings** of an executable: 16-byte windows of its code with the
  displacements a rebuild changes zeroed, and its printable strings outside the code and
  the dynamic symbol names, each sampled by content; the mean of their Jaccard similarities
  ("rebuild") finds another release built by another compiler generation, where TLSH does
  not.

The gear hash runs in the compiled core; its numpy twin computes it for a whole block at
once by doubling (a window of 2w bytes is a window of w plus the previous window of w
shifted by w bits: 5 numpy passes for 32 bytes), block by block, so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import tlsh

from ..domain import MediaType, Verdict
from .base import Candidate, Fingerprints, HashKind, Hits, ReferenceLookup, Role, register
from .normalize import _core

KIND_SHA = 1
KIND_CHUNK = 2
KIND_TLSH = 3
KIND_SECTION = 4
KIND_CODE = 5
KIND_STRING = 6

_KEY_MASK = (1 << 60) - 1
_POS_MASK = (1 << 24) - 1

#: content-defined chunking: a cut where the gear hash's top 12 bits are zero (1 in 4,096),
#: never closer than MIN_CHUNK, never further than MAX_CHUNK
MIN_CHUNK = 1024
MAX_CHUNK = 64 * 1024
_CUT_MASK = np.uint32(0xFFF00000)
#: bytes hashed per numpy pass (small enough to stay in cache: 3x faster than 8 MiB)
_BLOCK = 64 * 1024
_WINDOW = 32

#: TLSH needs this many bytes; smaller files are found by SHA-256 and chunks only
MIN_TLSH_BYTES = 256
#: executable sections below this size are not hashed (too little to say anything)
MIN_SECTION_BYTES = 4096
#: bands of 12 bits of a TLSH body (128 two-bit codes → 21 bands, the last 4 bits unused)
_BAND_BITS = 12
_BANDS = 21

#: verdict thresholds (measured on the software benchmark, docs/benchmarks.md)
#: share of the reference's chunks found in the query
MATCH_COVERAGE = 0.5
REVIEW_COVERAGE = 0.2
MIN_CHUNK_HITS = 3
#: TLSH distance of the file outside its code (the whole file when it has none) / of the
#: closest executable section. Chosen on the tuning half of the benchmark's unrelated
#: binaries (500 of this machine's ELF files against 15 programs): two thirds of the
#: closest unrelated pair, 84 outside code and 53 in code (docs/benchmarks.md)
MATCH_TLSH = 55
REVIEW_TLSH = 100
MATCH_SECTION_TLSH = 35
#: candidates scored in full per query (the most key hits first)
MAX_CANDIDATES = 64

#: executables (ELF, PE) only: code grams — 16-byte windows of the executable sections with
#: branch and RIP-relative displacements zeroed, one window in 256 kept by its content — and
#: strings — runs of >= 8 printable bytes outside the code and the dynamic symbol names, one
#: in 4 kept by its hash. A rebuild moves code and data, so few chunks survive, but many of
#: its code windows and most of its strings do. Each is compared as the Jaccard similarity
#: of the kept sets, when the reference has enough of them to estimate it (MIN_SET_KEYS),
#: and the "rebuild" similarity is the mean of the measurable ones: code alone is shared by
#: programs linked with the same static library (gnulib, a language runtime), strings alone
#: by a program that bundles a library, an other release shares both.
CODE_GRAM = 16
STRING_SAMPLE_BITS = 2
MIN_STRING = 8
MIN_SET_KEYS = 64
#: twice the highest rebuild similarity of an unrelated pair in the tuning half of the
#: benchmark's negatives (0.075: a JDK's splash-screen library that bundles another libpng;
#: docs/benchmarks.md)
MATCH_REBUILD = 0.15

_TLSH_PIECE = 4 * 1024 * 1024

#: what the method reads: bytes, or a memory-mapped file (an archive, a large member)
Buffer = bytes | bytearray | memoryview | mmap.mmap

_rng = np.random.default_rng(0x6A77)  # a fixed table: cuts must agree between runs
_GEAR = _rng.integers(0, 2**32, size=256, dtype=np.uint64).astype(np.uint32)


@dataclass(frozen=True)
class FileFacts:
    """What scoring needs of a file (reference or query)."""

    sha256: bytes
    size: int
    chunks: int
    whole: str | None
    sections: tuple[str, ...]
    #: kept code grams and strings (0 for anything but an executable)
    code: int = 0
    strings: int = 0


def gear_cuts(data: Buffer) -> npt.NDArray[np.int64]:
    """End offsets (exclusive) of the content-defined chunks of `data`, the last one
    `len(data)`."""
    n = len(data)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    buf = np.frombuffer(data, dtype=np.uint8)
    if _core is not None:
        return _enforce_sizes(_core.gear_candidates(buf, _GEAR, int(_CUT_MASK)), n)
    return _enforce_sizes(gear_candidates(buf), n)


def gear_candidates(
    buf: npt.NDArray[np.uint8], mask: np.uint32 = _CUT_MASK
) -> npt.NDArray[np.int64]:
    """Where the gear hash has the bits of `mask` zero (numpy twin of the compiled
    `_core.gear_candidates`)."""
    n = len(buf)
    cands: list[npt.NDArray[np.int64]] = []
    for start in range(0, n, _BLOCK):
        lo = max(0, start - (_WINDOW - 1))
        block = buf[lo : start + _BLOCK]
        h = _GEAR[block]
        shift = 1
        while shift < _WINDOW:
            # h[i] += h[i - shift] << shift (the right side is computed before the add); the
            # first `shift` positions of the file see zeros before it
            h[shift:] += h[:-shift] << np.uint32(shift)
            shift *= 2
        hit = np.flatnonzero((h & mask) == 0)
        hit = hit[hit >= start - lo] + lo + 1  # a cut after byte i
        cands.append(hit.astype(np.int64))
    return np.concatenate(cands) if cands else np.zeros(0, np.int64)


def _enforce_sizes(cands: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    out: list[int] = []
    last = 0
    for c in cands.tolist():
        if c - last < MIN_CHUNK:
            continue
        while c - last > MAX_CHUNK:
            last += MAX_CHUNK
            out.append(last)
        out.append(c)
        last = c
    while n - last > MAX_CHUNK:
        last += MAX_CHUNK
        out.append(last)
    if last < n:
        out.append(n)
    return np.asarray(out, dtype=np.int64)


def chunk_hashes(data: Buffer) -> npt.NDArray[np.uint64]:
    """60-bit BLAKE2b of each content-defined chunk, in file order."""
    mv = memoryview(data)
    cuts = gear_cuts(mv)
    out = np.empty(len(cuts), dtype=np.uint64)
    start = 0
    for i, end in enumerate(cuts.tolist()):
        d = hashlib.blake2b(mv[start:end], digest_size=8).digest()
        out[i] = int.from_bytes(d, "little") & _KEY_MASK
        start = end
    return out


def tlsh_digest(data: Buffer, skip: list[tuple[int, int]] | None = None) -> str | None:
    """TLSH of `data` (hex, "T1…"), less the (start, end) ranges in `skip`, or None when
    that is too small or too uniform. Large buffers (a memory-mapped file) are fed in pieces,
    never copied whole."""
    n = len(data)
    pieces: list[tuple[int, int]] = []
    at = 0
    for start, end in sorted(skip or []):
        if start > at:
            pieces.append((at, min(start, n)))
        at = max(at, end)
    if at < n:
        pieces.append((at, n))
    if sum(b - a for a, b in pieces) < MIN_TLSH_BYTES:
        return None
    if pieces == [(0, n)] and n <= _TLSH_PIECE:
        d = tlsh.hash(data if isinstance(data, bytes) else bytes(data))
    else:
        mv = memoryview(data)
        t = tlsh.Tlsh()
        for a, b in pieces:
            for i in range(a, b, _TLSH_PIECE):
                t.update(bytes(mv[i : min(i + _TLSH_PIECE, b)]))
        t.final()
        d = t.hexdigest()
    return d if d and d != "TNULL" else None


def tlsh_distance(a: str, b: str) -> int:
    """TLSH distance with the length term (0 for identical files; unrelated ones are
    typically far above 100)."""
    return int(tlsh.diff(a, b))


def executable_sections(data: Buffer) -> list[memoryview]:
    """The bytes of each executable part of an ELF (loadable segments, from the program
    headers at the start of the file, so a truncated copy still has them) or PE file
    (sections marked executable); empty for anything else."""
    mv = memoryview(data)
    return [mv[a:b] for a, b in executable_ranges(data)]


def executable_ranges(data: Buffer) -> list[tuple[int, int]]:
    """(start, end) byte ranges of `executable_sections`, clipped to the file."""
    if bytes(data[:4]) == b"\x7fELF":
        found = _elf_exec(data)
    elif bytes(data[:2]) == b"MZ":
        found = _pe_exec(data)
    else:
        return []
    n = len(data)
    out = [(a, min(a + size, n)) for a, size in found]
    return [(a, b) for a, b in out if b - a >= MIN_SECTION_BYTES]


def _elf_exec(data: Buffer) -> list[tuple[int, int]]:
    try:
        cls, order = data[4], data[5]
        end = "<" if order == 1 else ">"
        if cls == 2:
            phoff, phentsize, phnum = (
                struct.unpack_from(end + "Q", data, 32)[0],
                *struct.unpack_from(end + "HH", data, 54),
            )
        else:
            phoff, phentsize, phnum = (
                struct.unpack_from(end + "I", data, 28)[0],
                *struct.unpack_from(end + "HH", data, 42),
            )
        out = []
        for i in range(min(phnum, 64)):
            off = phoff + i * phentsize
            if cls == 2:
                p_type, p_flags, p_offset = struct.unpack_from(end + "IIQ", data, off)
                p_filesz = struct.unpack_from(end + "Q", data, off + 32)[0]
            else:
                p_type, p_offset = struct.unpack_from(end + "II", data, off)
                p_filesz = struct.unpack_from(end + "I", data, off + 16)[0]
                p_flags = struct.unpack_from(end + "I", data, off + 24)[0]
            if p_type == 1 and p_flags & 1 and p_filesz >= MIN_SECTION_BYTES:
                out.append((p_offset, p_filesz))
        return out
    except (struct.error, IndexError):
        return []


def elf_dynstr(data: Buffer) -> list[tuple[int, int]]:
    """The (start, end) range of an ELF file's dynamic string table (the names of the
    symbols it exports and imports), from the section headers; empty when there is none.
    A program that calls a library has the library's function names there: the strings
    measure leaves them out."""
    try:
        if bytes(data[:4]) != b"\x7fELF":
            return []
        cls, end = data[4], "<" if data[5] == 1 else ">"
        if cls == 2:
            shoff = struct.unpack_from(end + "Q", data, 0x28)[0]
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
        else:
            shoff = struct.unpack_from(end + "I", data, 0x20)[0]
            shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)

        def header(i: int) -> tuple[int, int, int, int]:
            at = shoff + i * shentsize
            sh_type = struct.unpack_from(end + "I", data, at + 4)[0]
            if cls == 2:
                off, size = struct.unpack_from(end + "QQ", data, at + 0x18)
                link = struct.unpack_from(end + "I", data, at + 0x28)[0]
            else:
                off, size, link = struct.unpack_from(end + "III", data, at + 0x10)
            return sh_type, off, size, link

        for i in range(min(shnum, 256)):
            sh_type, _, _, link = header(i)
            if sh_type == 11 and 0 < link < shnum:  # SHT_DYNSYM, linked to its strings
                _, off, size, _ = header(link)
                return [(off, min(off + size, len(data)))]
        return []
    except (struct.error, IndexError):
        return []


def _pe_exec(data: Buffer) -> list[tuple[int, int]]:
    import pefile

    try:
        pe = pefile.PE(data=bytes(data), fast_load=True)
    except pefile.PEFormatError:
        return []
    out = [
        (int(s.PointerToRawData), int(s.SizeOfRawData))
        for s in pe.sections
        if s.Characteristics & 0x20000000 and s.SizeOfRawData >= MIN_SECTION_BYTES
    ]
    pe.close()
    return out


def _mix(x: int) -> int:
    """splitmix64 finaliser: spreads band keys over the key space."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def tlsh_bands(digest: str) -> list[int]:
    """21 keys of 60 bits, one per 12-bit band of the digest's body (header bytes —
    checksum, length, quartile ratios — left out: an appended payload changes them)."""
    body = int(digest[8:], 16)  # "T1" + 3 header bytes, then 32 body bytes
    mask = (1 << _BAND_BITS) - 1
    return [
        _mix((i << 16) | ((body >> (_BAND_BITS * i)) & mask)) & _KEY_MASK for i in range(_BANDS)
    ]


#: x86 opcodes (one-byte, and the second byte after 0F) that take a ModRM byte and are
#: common with a RIP-relative operand (mov, lea, cmp, add, sub, xor, or, and, test, call/jmp
#: indirect, SSE moves and arithmetic, movzx/movsx)
_RIP_OPS = np.zeros(256, dtype=bool)
_RIP_OPS[[0x01, 0x03, 0x09, 0x0B, 0x21, 0x23, 0x29, 0x2B, 0x31, 0x33, 0x39, 0x3B, 0x80,
          0x81, 0x83, 0x84, 0x85, 0x88, 0x89, 0x8A, 0x8B, 0x8D, 0xC6, 0xC7, 0xF6, 0xF7, 0xFF,
          0x10, 0x11, 0x28, 0x29, 0x2E, 0x2F, 0x54, 0x57, 0x58, 0x59, 0x5C, 0x5E, 0x6F, 0x7F,
          0xB6, 0xB7, 0xBE, 0xBF]] = True  # fmt: skip
#: the code grams' sampler: the gear hash's bits 8-15 zero. Bit j of the gear hash depends
#: on the last j + 1 bytes only, so this depends on the last 16 bytes (one window in 256)
_GRAM_MASK = np.uint32(0x0000FF00)
#: code grams and strings are read in blocks of this many bytes (memory stays bounded)
_SCAN_BLOCK = 8 << 20
#: strings every ELF file has (besides section names, which start with "."), by their
#: first 8 bytes: symbol versions and toolchain symbols
_BOILERPLATE_HEADS = (
    b"GLIBC_2.", b"GLIBCXX_", b"CXXABI_1", b"GCC_4.2.", b"_ITM_der", b"_ITM_reg",
    b"__gmon_s", b"__cxa_fi", b"GCC: (De", b"GCC: (GN", b"__stack_", b"__libc_s",
)  # fmt: skip
_BOILERPLATE = np.frombuffer(b"".join(_BOILERPLATE_HEADS), dtype=np.uint64)


def normalise_code(code: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """x86 code with the 4 bytes that a rebuild moves zeroed: the displacement of relative
    calls and jumps (E8, E9, 0F 8x) and of RIP-relative operands (ModRM mod 00, r/m 101,
    after a common opcode). Read without disassembly, so some other bytes are zeroed too,
    the same way in every copy of the same code."""
    n = len(code)
    a = code.copy()
    if n < 6:
        return a
    first = np.zeros(n + 3, dtype=bool)  # where a displacement starts
    first[1 : n + 1] = (a == 0xE8) | (a == 0xE9)
    first[2 : n + 1] |= (a[:-1] == 0x0F) & ((a[1:] & 0xF0) == 0x80)
    rip = np.flatnonzero((a[1:] & 0xC7) == 0x05) + 1
    first[rip[_RIP_OPS[a[rip - 1]]] + 1] = True
    mask = first[:n].copy()
    mask[1:] |= first[: n - 1]
    mask[2:] |= first[: n - 2]
    mask[3:] |= first[: n - 3]
    a[mask] = 0
    return a


def code_grams(code: Buffer) -> npt.NDArray[np.uint64]:
    """The kept code grams of an executable section: 60-bit hashes of the 16-byte windows
    of its `normalise_code` form where the gear hash has bits 8-15 zero (one in 256, decided
    by the window itself, so two copies keep the same windows), unique. Read in blocks of
    _SCAN_BLOCK (each with the 20 bytes before it: a window's first byte needs the 5 before
    it), so memory stays bounded."""
    buf = np.frombuffer(code, dtype=np.uint8)
    out: list[npt.NDArray[np.uint64]] = []
    for start in range(0, len(buf), _SCAN_BLOCK):
        lo = max(0, start - CODE_GRAM - 4)
        block = normalise_code(buf[lo : start + _SCAN_BLOCK])
        if len(block) < CODE_GRAM:
            break
        if _core is not None:
            ends = _core.gear_candidates(block, _GEAR, int(_GRAM_MASK))
        else:
            ends = gear_candidates(block, _GRAM_MASK)
        ends = ends[(ends >= CODE_GRAM) & (ends + lo > start)]
        windows = block[ends[:, None] + np.arange(-CODE_GRAM, 0)].view(np.uint64)
        with np.errstate(over="ignore"):
            h = windows[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ windows[:, 1]
            h ^= h >> np.uint64(31)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(29)
        out.append(h & np.uint64(_KEY_MASK))
    return np.unique(np.concatenate(out)) if out else np.zeros(0, np.uint64)


def string_keys(data: Buffer, skip: list[tuple[int, int]]) -> npt.NDArray[np.uint64]:
    """The kept strings of an executable outside its code and dynamic symbol names
    (`skip`): runs of >= MIN_STRING printable bytes, each hashed whole, boilerplate left
    out, one in 2**STRING_SAMPLE_BITS kept by the hash; unique 60-bit keys. Read in blocks
    of about _SCAN_BLOCK that end at a byte that is not printable (a string longer than
    64 KiB may be cut in two), so memory stays bounded."""
    mv = memoryview(data)
    out: list[npt.NDArray[np.uint64]] = []
    at = 0
    for start, end in [*sorted(skip), (len(data), len(data))]:
        pos = at
        while start - pos >= MIN_STRING:
            stop = min(start, pos + _SCAN_BLOCK)
            if stop < start:
                tail = np.frombuffer(mv[stop : min(start, stop + 65536)], dtype=np.uint8)
                cut = np.flatnonzero((tail < 0x20) | (tail > 0x7E))
                stop += int(cut[0]) if len(cut) else len(tail)
            out.append(_piece_strings(np.frombuffer(mv[pos:stop], dtype=np.uint8)))
            pos = stop
        at = max(at, end)
    return np.unique(np.concatenate(out)) if out else np.zeros(0, np.uint64)


def _piece_strings(piece: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    printable = np.zeros(len(piece) + 2, dtype=np.int8)
    printable[1:-1] = (piece >= 0x20) & (piece <= 0x7E)
    edges = np.diff(printable)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long = ends - starts >= MIN_STRING
    starts, ends = starts[long], ends[long]
    if len(starts) == 0:
        return np.zeros(0, np.uint64)
    head = piece[starts[:, None] + np.arange(8)].view(np.uint64)[:, 0]
    keep = (piece[starts] != ord(".")) & ~np.isin(head, _BOILERPLATE)
    # every byte of every string, keyed by its place in the string, mixed and summed per
    # string (wrapping): a hash of the whole string, computed for all strings at once
    lengths = ends - starts
    offsets = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    total = int(offsets[-1] + lengths[-1])
    place = np.arange(total, dtype=np.int64) - np.repeat(offsets, lengths)
    at = np.repeat(starts, lengths) + place
    with np.errstate(over="ignore"):
        x = _splitmix(piece[at].astype(np.uint64) | (place.astype(np.uint64) << np.uint64(8)))
        sums: npt.NDArray[np.uint64] = np.add.reduceat(x, offsets)
        h = _splitmix(sums ^ lengths.astype(np.uint64))
    keep &= (h & np.uint64((1 << STRING_SAMPLE_BITS) - 1)) == 0
    return (h[keep] >> np.uint64(STRING_SAMPLE_BITS)) & np.uint64(_KEY_MASK)


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser on an array (wrapping)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _keyed(
    values: npt.NDArray[np.uint64], kind: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
    keys = (values | np.uint64(kind << 60)).astype(np.uint64)
    pos = (np.arange(len(values), dtype=np.uint32) | np.uint32(kind << 24)).astype(np.uint32)
    return keys, pos


def analyse(data: Buffer) -> tuple[FileFacts, npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
    """A file's facts and its keys with positions (kind << 24 | ordinal)."""
    sha = hashlib.sha256(data).digest()
    keys: list[int] = [(KIND_SHA << 60) | (int.from_bytes(sha[:8], "little") & _KEY_MASK)]
    pos: list[int] = [KIND_SHA << 24]
    chunks = chunk_hashes(data)
    uniq, first = np.unique(chunks, return_index=True)
    order = np.argsort(first)
    ch_keys = (uniq[order] | np.uint64(KIND_CHUNK << 60)).astype(np.uint64)
    ch_pos = (np.arange(len(order), dtype=np.uint32) | np.uint32(KIND_CHUNK << 24)).astype(
        np.uint32
    )
    ranges = executable_ranges(data)
    # the code sections are hashed on their own; "whole" is the rest (data, resources), so
    # that no byte goes through TLSH twice
    whole = tlsh_digest(data, ranges)
    if whole is not None:
        for i, k in enumerate(tlsh_bands(whole)):
            keys.append((KIND_TLSH << 60) | k)
            pos.append((KIND_TLSH << 24) | i)
    sections: list[str] = []
    mv = memoryview(data)
    for a, b in ranges:
        d = tlsh_digest(mv[a:b])
        if d is None or d in sections:
            continue
        for i, k in enumerate(tlsh_bands(d)):
            keys.append((KIND_SECTION << 60) | k)
            pos.append((KIND_SECTION << 24) | (len(sections) * _BANDS + i))
        sections.append(d)
    extra_keys: list[npt.NDArray[np.uint64]] = []
    extra_pos: list[npt.NDArray[np.uint32]] = []
    n_code = n_strings = 0
    if ranges:
        grams = np.unique(np.concatenate([code_grams(mv[a:b]) for a, b in ranges]))
        strings = string_keys(data, ranges + elf_dynstr(data))
        n_code, n_strings = len(grams), len(strings)
        for values, kind in ((grams, KIND_CODE), (strings, KIND_STRING)):
            kind_keys, kind_pos = _keyed(values, kind)
            extra_keys.append(kind_keys)
            extra_pos.append(kind_pos)
    facts = FileFacts(sha, len(data), len(uniq), whole, tuple(sections[:16]), n_code, n_strings)
    codes = np.concatenate([np.asarray(keys, dtype=np.uint64), ch_keys, *extra_keys])
    positions = np.concatenate([np.asarray(pos, dtype=np.uint32), ch_pos, *extra_pos])
    return facts, codes, positions


def _as_bytes(signal: Any) -> Buffer:
    if isinstance(signal, bytes | bytearray | memoryview | mmap.mmap):
        return signal
    raise TypeError(f"the file method takes bytes, not {type(signal).__name__}")


class FileMethod:
    name = "file"
    version = 2
    media = MediaType.FILE
    hash_kind = HashKind.EXACT64

    def extract(self, signal: Any, role: Role = Role.QUERY) -> Fingerprints:
        data = _as_bytes(signal)
        if not data:
            z = np.zeros(0, dtype=np.uint64)
            return Fingerprints(self.name, self.version, z, z.astype(np.uint32), None)
        facts, codes, positions = analyse(data)
        return Fingerprints(self.name, self.version, codes, positions, facts)

    def prepare_reference(self, signal: Any) -> FileFacts:
        if isinstance(signal, FileFacts):
            return signal
        return analyse(_as_bytes(signal))[0]

    def pack_reference(self, prepared: Any) -> bytes:
        f: FileFacts = prepared
        return json.dumps(
            [f.sha256.hex(), f.size, f.chunks, f.whole, list(f.sections), f.code, f.strings],
            separators=(",", ":"),
        ).encode()

    def unpack_reference(self, data: bytes) -> FileFacts:
        sha, size, chunks, whole, sections, code, strings = json.loads(bytes(data))
        return FileFacts(bytes.fromhex(sha), size, chunks, whole, tuple(sections), code, strings)

    def score(
        self, query: Fingerprints, hits: Hits, references: ReferenceLookup
    ) -> list[Candidate]:
        q: FileFacts | None = query.data
        if q is None or len(hits) == 0:
            return []
        kinds = hits.query_pos >> np.uint32(24)
        docs, counts = np.unique(hits.doc, return_counts=True)
        sha_docs = set(hits.doc[kinds == KIND_SHA].tolist())
        ranked = sorted(
            zip(docs.tolist(), counts.tolist(), strict=True),
            key=lambda dc: (dc[0] not in sha_docs, -dc[1]),
        )[:MAX_CANDIDATES]
        out: list[Candidate] = []
        for doc, _count in ranked:
            ref: FileFacts | None = references(doc)
            if ref is None:
                continue
            cand = _judge(q, ref, doc, hits, kinds)
            if cand is not None:
                out.append(cand)
        out.sort(key=lambda c: (c.verdict != Verdict.MATCH, -c.score))
        return out


def _judge(
    q: FileFacts, ref: FileFacts, doc: int, hits: Hits, kinds: npt.NDArray[np.uint32]
) -> Candidate | None:
    if q.sha256 == ref.sha256:
        return Candidate(doc, 1.0, Verdict.MATCH, (), {"exact": 1.0})
    of_doc = hits.doc == doc
    found = _shared(hits, of_doc & (kinds == KIND_CHUNK))
    coverage = found / max(ref.chunks, 1)
    evidence: dict[str, float] = {"coverage": round(coverage, 4), "chunks": float(found)}
    code_j = _jaccard(_shared(hits, of_doc & (kinds == KIND_CODE)), q.code, ref.code)
    strings_j = _jaccard(_shared(hits, of_doc & (kinds == KIND_STRING)), q.strings, ref.strings)
    measured = [j for j in (code_j, strings_j) if j is not None]
    rebuild = sum(measured) / len(measured) if measured else 0.0
    if code_j is not None:
        evidence["code"] = round(code_j, 4)
    if strings_j is not None:
        evidence["strings"] = round(strings_j, 4)
    if measured:
        evidence["rebuild"] = round(rebuild, 4)
    whole = None
    if q.whole is not None and ref.whole is not None:
        whole = tlsh_distance(q.whole, ref.whole)
        evidence["tlsh"] = float(whole)
    section = None
    if q.sections and ref.sections:
        section = min(tlsh_distance(a, b) for a in q.sections for b in ref.sections)
        evidence["section_tlsh"] = float(section)
    dists = [d for d in (whole, section) if d is not None]
    by_tlsh = min(dists) if dists else None
    score = max(coverage, rebuild, 0.0 if by_tlsh is None else max(0.0, 1.0 - by_tlsh / 200.0))
    if (coverage >= MATCH_COVERAGE and found >= MIN_CHUNK_HITS) or (found == ref.chunks > 0):
        return Candidate(doc, score, Verdict.MATCH, (), evidence)
    if rebuild >= MATCH_REBUILD:
        return Candidate(doc, score, Verdict.MATCH, (), evidence)
    if (whole is not None and whole <= MATCH_TLSH) or (
        section is not None and section <= MATCH_SECTION_TLSH
    ):
        return Candidate(doc, score, Verdict.MATCH, (), evidence)
    if (
        coverage >= REVIEW_COVERAGE
        or (whole is not None and whole <= REVIEW_TLSH)
        or rebuild >= MATCH_REBUILD / 2
    ):
        return Candidate(doc, score, Verdict.REVIEW, (), evidence)
    return None


def _shared(hits: Hits, sel: npt.NDArray[np.bool_]) -> int:
    """Distinct reference keys among the selected hits."""
    return len(np.unique(hits.ref_pos[sel] & np.uint32(_POS_MASK)))


def _jaccard(shared: int, q: int, ref: int) -> float | None:
    """Jaccard similarity of two kept sets from their sizes and the keys they share; None
    when the reference has too few keys for the estimate to mean much."""
    if ref < MIN_SET_KEYS:
        return None
    return shared / max(q + ref - shared, 1)


register(FileMethod())
