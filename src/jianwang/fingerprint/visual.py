"""The frame method: film, TV, animation and images by the pictures they show.

Extraction
    Sampled frames (about 5 per second, grey, black bars removed: see `media.video`) get a
    112-bit code: PDQ's DCT (Facebook's perceptual hash, as `pdqhash` computes it at 64 x 64)
    and its 112 lowest frequencies, each above or below their median (`frame_codes`); frames
    PDQ rates as featureless (quality below `MIN_QUALITY`: black, fades, flat colour) are
    left out. A reference keeps at most one frame in every `REF_EVERY` seconds, the
    steadiest there, and only when it moved more than `KEEP_BITS` from the last kept one (a
    static shot costs one code: `kept_frames`). A query keeps every frame, as shown and
    mirrored (horizontally flipped copies), and what an inset shows (picture-in-picture). A
    still image is one frame, with its quarters (and, as a reference, zoomed middles).

Scoring (`score_doc`, shared with the window method)
    The index answers every reference code within `RADIUS` bits of a query code. Per
    reference and per orientation (as shown / mirrored), hits vote on a line
    t_ref = speed * t_query + offset over a grid of speeds (±25 %) and 1-second offset cells;
    the winning line is refitted on its inliers (least squares) and its inliers are chained
    into segments where the query does not skip more than `GAP` seconds. Up to `MAX_LINES`
    lines per reference: an upload may hold several excerpts of one film.

    Evidence is counted per query frame: a frame on the line contributes (RADIUS - d) /
    RADIUS for its closest code d bits away, so one exact frame is worth 1 and a frame at the
    search radius nothing. A match needs `MATCH_EVIDENCE` of it over at least `MATCH_FRAMES`
    frames; a still image (one frame) needs its code within `IMAGE_MATCH_BITS` bits.
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..domain import MediaType, Verdict
from .base import Candidate, Fingerprints, HashKind, Hits, ReferenceLookup, Role, Span, register
from .geometry import crop_bars, cut, find_boxes, find_insets

#: frames PDQ rates below this (0-100) carry too little structure to hash
MIN_QUALITY = 30
#: bits of the frame method's codes (the lowest frequencies of PDQ's 256)
CODE_BITS = 112
#: a reference keeps at most one frame in every REF_EVERY seconds (the steadiest), if its
#: hash moved more than KEEP_BITS from the last kept one (a static shot costs one hash)
REF_EVERY = 0.5
KEEP_BITS = 36
#: a kept frame stands for the time until the next one, less this many REF_EVERY (the
#: next one's own cell)
HOLD_SLACK = 1.0
#: a still image (few hashes, so it can afford more) also indexes its middle at REF_ZOOM and
#: STILL_ZOOM off each side, and its four quarters (an overlay in one corner leaves three)
REF_ZOOM = 0.1
STILL_ZOOM = 0.2
#: parts of a picture that a hash covers (INSET: a picture found inside a query's frames)
WHOLE, ZOOM_10, ZOOM_20, QUARTER = 0, 1, 2, 3
INSET = 7
#: a still query also hashes up to this many boxes found in it (a photograph shown in a
#: screenshot or on a page)
STILL_INSETS = 3
#: a still's quarters agree within this many bits, and a match needs this many of them
QUARTER_BITS = 16
QUARTERS_FOR_MATCH = 2
#: a query is looked up in two passes: frames PROBE_EVERY seconds apart and the first frames
#: of shots (a jump of more than SHOT_BITS from the frame before) against the whole index,
#: then every frame against the references that pass found
PROBE_EVERY = 0.5
SHOT_BITS = 18
#: references the first pass hands to the second (ranked by closeness: `best_references`)
SHORTLIST = 12
#: search radius (bits) of the index lookup
RADIUS = 33
#: the second pass, against the shortlisted references, looks this far: hits beyond RADIUS
#: add no evidence, but a frame on an established line within it extends the segment
#: (frame after frame at the edge: one chance hit does not carry a segment)
DENSE_RADIUS = 42
#: weak frames extend a segment's edge when they follow each other this closely (seconds)
EXTEND_GAP = 0.5
#: speeds searched: t_ref = speed * t_query + offset, within +-MAX_LOG_SPEED (natural log)
MAX_LOG_SPEED = math.log(1.25)
SPEED_STEP = 0.01
#: offset cell (seconds) of the vote, and an inlier's distance to the line (seconds)
OFFSET_CELL = 1.0
TOLERANCE = 1.0
#: segments break where the query skips more than this (seconds) without a matching frame
GAP = 6.0
MAX_LINES = 3
#: verdicts (evidence is per query frame: 1 for an exact frame, 0 at the radius)
MATCH_EVIDENCE = 3.0
MATCH_FRAMES = 4
REVIEW_EVIDENCE = 1.5
#: still images: hash distance (bits) for a match and for review (PDQ's own guidance: 31)
IMAGE_MATCH_BITS = 16
IMAGE_REVIEW_BITS = 23


@dataclass(frozen=True)
class FrameHashes:
    """Per entry: the frame's time (s), whether its hash is mirrored, the frame's index and
    the part of the picture hashed (`WHOLE`, `ZOOM_*`, `QUARTER`+0..3); `still` when the input
    was an image, `duration` of the input (s)."""

    t: npt.NDArray[np.float32]
    mirrored: npt.NDArray[np.bool_]
    frame: npt.NDArray[np.uint32]
    still: bool
    duration: float
    part: npt.NDArray[np.uint8] | None = None

    @functools.cached_property
    def step(self) -> float:
        """Median time between successive frames (0 for one frame)."""
        u = np.unique(self.t)
        return float(np.median(np.diff(u))) if u.shape[0] > 1 else 0.0

    def parts(self) -> npt.NDArray[np.uint8]:
        return np.zeros(len(self), dtype=np.uint8) if self.part is None else self.part

    def part_of(self, entries: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        """The parts of these entries (no full array built when there are none)."""
        if self.part is None:
            return np.zeros(entries.shape[0], dtype=np.uint8)
        return self.part[entries]

    def __len__(self) -> int:
        return int(self.t.shape[0])


def pdq(pixels: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint64], int]:
    """PDQ hash of a grey picture as four uint64 words (bit i of the hash is bit i % 64 of
    word i // 64), and its quality."""
    import pdqhash

    rgb = np.ascontiguousarray(np.repeat(pixels[:, :, None], 3, axis=2))
    bits, quality = pdqhash.compute(rgb)
    return _pack_bits(bits), int(quality)


def _pack_bits(bits: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    packed = np.packbits(np.asarray(bits, dtype=np.uint8), bitorder="little")
    return packed.view(np.uint64).copy()


def _reverse(code: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    bits = np.unpackbits(np.ascontiguousarray(code).view(np.uint8), bitorder="little")
    return np.packbits(bits[::-1], bitorder="little").view(np.uint64).copy()


def to_hex(code: npt.NDArray[np.uint64]) -> str:
    """PDQ's usual hexadecimal form, as vPDQ writes it (checked against vpdq 0.2.5's hashes of
    the same video: 6-48 bits apart, from frames decoded and scaled differently; the opposite
    bit order is 120-144 bits apart)."""
    words = _reverse(code).view(np.uint16)
    return "".join(f"{int(w):04x}" for w in words[::-1])


def from_hex(text: str) -> npt.NDArray[np.uint64]:
    words = np.array([int(text[i : i + 4], 16) for i in range(0, 64, 4)][::-1], dtype=np.uint16)
    return _reverse(words.view(np.uint64))


def hamming(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> int:
    return int(np.unpackbits(np.bitwise_xor(a, b).view(np.uint8)).sum())


def _zoom(pixels: npt.NDArray[np.uint8], share: float) -> npt.NDArray[np.uint8]:
    import cv2

    h, w = pixels.shape
    dy, dx = round(h * share), round(w * share)
    inner = pixels[dy : h - dy, dx : w - dx]
    return np.ascontiguousarray(cv2.resize(inner, (w, h), interpolation=cv2.INTER_LINEAR))


def _quarters(pixels: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.uint8]]:
    import cv2

    h, w = pixels.shape
    out = []
    for y in (0, h // 2):
        for x in (0, w // 2):
            q = pixels[y : y + h // 2, x : x + w // 2]
            out.append(
                np.ascontiguousarray(
                    cv2.resize(q, (64, 64), interpolation=cv2.INTER_AREA), dtype=np.uint8
                )
            )
    return out


def _signal(signal: Any) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8], bool, float]:
    times = np.asarray(signal.times, dtype=np.float32)
    pixels = np.asarray(signal.pixels, dtype=np.uint8)
    return times, pixels, bool(getattr(signal, "still", False)), float(signal.duration)


def _detail(signal: Any, i: int, pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    detail = getattr(signal, "detail", None)
    return pixels[i] if detail is None else np.asarray(detail, dtype=np.uint8)


@functools.cache
def _dct_rows() -> npt.NDArray[np.float32]:
    """PDQ's 16 x 64 DCT matrix (rows 1-16 of the 64-point DCT-II)."""
    i = np.arange(1, 17, dtype=np.float64)[:, None]
    j = np.arange(64, dtype=np.float64)[None, :]
    return (np.sqrt(2.0 / 64) * np.cos(np.pi / 128 * i * (2 * j + 1))).astype(np.float32)


def pdq_quality(views: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """PDQ's quality (0-100) of many 64 x 64 grey pictures: the sum of absolute steps between
    neighbours in percent of full scale, over 90 (as pdqhash computes it)."""
    f = views.astype(np.float32)
    dy = np.trunc(100.0 * (f[:, :-1, :] - f[:, 1:, :]) / 255.0)
    dx = np.trunc(100.0 * (f[:, :, :-1] - f[:, :, 1:]) / 255.0)
    total = np.abs(dy).sum(axis=(1, 2)) + np.abs(dx).sum(axis=(1, 2))
    return np.minimum(100, (total / 90.0).astype(np.int64))


def pdq_batch(views: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """PDQ hashes of many 64 x 64 grey pictures at once (k, 4 words), as `pdq` computes them
    (at 64 x 64 PDQ's Jarosz filter leaves the picture as it is: DCT, median threshold; a
    rounding difference may flip a bit or two), without the quality."""
    d = _dct_rows()
    b = d @ views.astype(np.float32) @ d.T  # (k, 16, 16); float32 flips no bit in practice
    flat = b.reshape(b.shape[0], 256)[:, ::-1]
    bits = (flat > np.median(flat, axis=1, keepdims=True)).astype(np.uint8)
    return np.packbits(bits, axis=1, bitorder="little").view(np.uint64).copy()


def _inset_views(
    signal: Any, times: npt.NDArray[np.float32]
) -> list[tuple[int, npt.NDArray[np.uint8]]]:
    """(frame, what its inset shows at FRAME side, bars removed) for the query frames in which
    `geometry.find_insets` finds a picture-in-picture (needs the decoder's `fine` frames)."""
    fine = getattr(signal, "fine", None)
    if getattr(signal, "still", False) and getattr(signal, "detail", None) is not None:
        # a picture on a page or a screen: the boxes of the one frame
        detail = np.asarray(signal.detail, dtype=np.uint8)
        return [
            (0, crop_bars(cut(detail, box, detail.shape[0]), 64))
            for box, _ in find_boxes(detail[None], 1, STILL_INSETS)
        ]
    if fine is None:
        return []
    fine = np.asarray(fine, dtype=np.uint8)
    n = min(fine.shape[0], times.shape[0])
    out: list[tuple[int, npt.NDArray[np.uint8]]] = []
    side = fine.shape[1]
    for inset in find_insets(times[:n], fine[:n]):
        for i in np.flatnonzero((times[:n] >= inset.start) & (times[:n] <= inset.end)):
            out.append((int(i), crop_bars(cut(fine[i], inset.box, side), 64)))
    return out


@functools.cache
def lowest(side: int, count: int) -> npt.NDArray[np.int64]:
    """Indices (into a side x side grid of DCT coefficients, row-major) of the `count`
    lowest frequencies: by i + j, then i."""
    i, j = np.divmod(np.arange(side * side), side)
    return np.lexsort((i, i + j))[:count]


def frame_codes(views: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """The frame method's codes of many 64 x 64 grey pictures ((k, CODE_BITS / 64) words):
    PDQ's DCT, its CODE_BITS lowest frequencies, each above or below their median. Half of
    PDQ's bits, and the sturdier half (a shift, a blur or a camcorder's perspective moves low
    frequencies least): a kept frame costs 14 bytes in the index. `pdq` still gives the
    full hash in vPDQ's form for exchange."""
    if views.shape[0] == 0:
        return np.zeros((0, -(-CODE_BITS // 64)), dtype=np.uint64)
    d = _dct_rows()
    b = (d @ views.astype(np.float32) @ d.T).reshape(views.shape[0], 256)
    return median_code(b[:, lowest(16, CODE_BITS)])


def median_code(coef: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint64]:
    """(..., n) coefficients to (..., ceil(n / 64)) little-endian words: each bit whether its
    coefficient is above their median (spare bits zero)."""
    bits = (coef > np.median(coef, axis=-1, keepdims=True)).astype(np.uint8)
    pad = (-bits.shape[-1]) % 64
    if pad:
        bits = np.concatenate([bits, np.zeros((*bits.shape[:-1], pad), dtype=np.uint8)], axis=-1)
    packed = np.packbits(bits, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view(np.uint64)


def _code(view: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint64], int]:
    """One picture's code and its PDQ quality."""
    return frame_codes(view[None])[0], int(pdq_quality(view[None])[0])


def reach(fp: Fingerprints) -> int:
    """Reference positions a line can run from any of its hits: the query's length, at
    the fastest speed searched, in kept frames (at most one every REF_EVERY seconds), and
    a margin."""
    q: FrameHashes = fp.data
    return math.ceil(q.duration * math.exp(MAX_LOG_SPEED) / REF_EVERY) + 8


def kept_frames(
    times: npt.NDArray[np.float32], pixels: npt.NDArray[np.uint8]
) -> npt.NDArray[np.int64]:
    """The frames a reference keeps (indices): at most one in every REF_EVERY seconds, the
    steadiest there (the smallest change to the frames before and after it: a query frame a
    little earlier or later still looks like it), and only when its hash moved more than
    KEEP_BITS from the last kept one (a static shot costs one hash); featureless frames
    never. A query's dense frames (5 a second) hold one within a tenth of a second of every
    kept frame, so keeping few costs evidence per second, not closeness."""
    n = pixels.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    codes = pdq_batch(pixels)
    good = pdq_quality(pixels) >= MIN_QUALITY
    step = _popcount(codes[1:] ^ codes[:-1]).astype(np.float64)
    before = np.concatenate([[0.0], step])
    after = np.concatenate([step, [0.0]])
    change = np.maximum(before, after)
    cell = np.floor(np.asarray(times, dtype=np.float64) / REF_EVERY).astype(np.int64)
    keep: list[int] = []
    last: npt.NDArray[np.uint64] | None = None
    for c in np.unique(cell[good]).tolist():
        members = np.flatnonzero(good & (cell == c))
        i = int(members[np.argmin(change[members])])
        if last is not None and hamming(codes[i], last) <= KEEP_BITS:
            continue
        keep.append(i)
        last = codes[i]
    return np.asarray(keep, dtype=np.int64)


def _popcount(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Set bits per row of (n, words) uint64."""
    if words.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=1).sum(axis=1)


def pack_times(p: FrameHashes) -> bytes:
    """A prepared reference: its entries' times in hundredths of a second, as steps from the
    one before (uint16; the rare longer steps listed apart), and their parts (uint8) when any
    is not WHOLE, with the still flag and the duration: 2 bytes per kept frame of a film."""
    cs = np.round(np.asarray(p.t, dtype=np.float64) * 100).astype(np.int64)
    step = np.diff(cs, prepend=0)
    if step.shape[0] and int(step.min()) < 0:  # not in time order: plain times
        return (
            _PACK.pack(_MAGIC, int(p.still), p.duration, len(p))
            + np.ascontiguousarray(p.t, dtype=np.float32).tobytes()
            + np.ascontiguousarray(p.parts(), dtype=np.uint8).tobytes()
        )
    long = np.flatnonzero(step >= 0xFFFF)
    parts = p.parts()
    with_parts = bool(parts.any())
    return (
        _PACK2.pack(_MAGIC2, int(p.still), p.duration, len(p), long.shape[0], int(with_parts))
        + np.minimum(step, 0xFFFF).astype(np.uint16).tobytes()
        + np.stack([long, step[long]], axis=1).astype(np.uint32).tobytes()
        + (np.ascontiguousarray(parts, dtype=np.uint8).tobytes() if with_parts else b"")
    )


def unpack_times(data: bytes) -> FrameHashes:
    if data[:4] == _MAGIC2:
        _, still, duration, n, n_long, with_parts = _PACK2.unpack_from(data)
        at = _PACK2.size
        step = np.frombuffer(data, np.uint16, n, at).astype(np.int64)
        at += 2 * n
        long = np.frombuffer(data, np.uint32, 2 * n_long, at).reshape(n_long, 2)
        at += 8 * n_long
        step[long[:, 0].astype(np.int64)] = long[:, 1]
        t = (np.cumsum(step) / 100.0).astype(np.float32)
        part = np.frombuffer(data, np.uint8, n, at) if with_parts else np.zeros(n, dtype=np.uint8)
        return FrameHashes(
            t, np.zeros(n, dtype=bool), np.arange(n, dtype=np.uint32), bool(still), duration, part
        )
    magic, still, duration, n = _PACK.unpack_from(data)
    if magic != _MAGIC:
        raise ValueError("not a frame-method reference")
    t = np.frombuffer(data, np.float32, n, _PACK.size)
    part = np.frombuffer(data, np.uint8, n, _PACK.size + 4 * n)
    return FrameHashes(
        t, np.zeros(n, dtype=bool), np.arange(n, dtype=np.uint32), bool(still), duration, part
    )


_PACK2 = struct.Struct("<4sBfIIB")
_MAGIC2 = b"VIS2"
_PACK = struct.Struct("<4sBfI")
_MAGIC = b"VIS1"


class FrameFingerprinter:
    name = "frames"
    version = 2
    media = MediaType.VIDEO
    also: tuple[MediaType, ...] = (MediaType.IMAGE,)
    hash_kind = HashKind.HAMMING112

    def extract(self, signal: Any, role: Role = Role.QUERY) -> Fingerprints:
        """Reference video: one hash per kept frame (`kept_frames`). Otherwise one entry per
        hash: a query frame as shown and mirrored, and what an inset shows; a still image
        also its quarters (and, as a reference, its zoomed middles)."""
        times, pixels, still, duration = _signal(signal)
        codes: list[npt.NDArray[np.uint64]] = []
        t: list[float] = []
        mirrored: list[bool] = []
        frame: list[int] = []
        part: list[int] = []
        ref = role == Role.REFERENCE

        def add(c: npt.NDArray[np.uint64], i: int, m: bool, p: int) -> None:
            codes.append(c)
            t.append(float(times[i]))
            mirrored.append(m)
            frame.append(i)
            part.append(p)

        if still:
            for i in range(pixels.shape[0]):
                code, _ = _code(pixels[i])
                add(code, i, False, WHOLE)
                if ref:
                    add(_code(_zoom(pixels[i], REF_ZOOM))[0], i, False, ZOOM_10)
                    add(_code(_zoom(pixels[i], STILL_ZOOM))[0], i, False, ZOOM_20)
                else:
                    add(
                        frame_codes(np.ascontiguousarray(pixels[i][None, :, ::-1]))[0],
                        i,
                        True,
                        WHOLE,
                    )
                for k, quarter in enumerate(_quarters(_detail(signal, i, pixels))):
                    qc, qq = _code(quarter)
                    if qq >= MIN_QUALITY:
                        add(qc, i, False, QUARTER + k)
        elif ref:
            keep = kept_frames(times, pixels)
            for i, code in zip(keep.tolist(), frame_codes(pixels[keep]), strict=True):
                add(code, i, False, WHOLE)
        else:
            shown = frame_codes(pixels)
            flipped = frame_codes(np.ascontiguousarray(pixels[:, :, ::-1]))
            for i in np.flatnonzero(pdq_quality(pixels) >= MIN_QUALITY).tolist():
                add(shown[i], i, False, WHOLE)
                add(flipped[i], i, True, WHOLE)
        if not ref:
            for i, view in _inset_views(signal, times):
                c, qq = _code(view)
                if qq >= MIN_QUALITY:
                    add(c, i, False, INSET)
        arr = np.stack(codes) if codes else np.zeros((0, -(-CODE_BITS // 64)), dtype=np.uint64)
        data = FrameHashes(
            np.asarray(t, dtype=np.float32),
            np.asarray(mirrored, dtype=bool),
            np.asarray(frame, dtype=np.uint32),
            still,
            duration,
            np.asarray(part, dtype=np.uint8),
        )
        positions = np.arange(len(codes), dtype=np.uint32)
        return Fingerprints(self.name, self.version, arr, positions, data)

    radius = RADIUS
    dense_radius = DENSE_RADIUS
    #: references the second pass searches (the first pass's best, by closeness)
    shortlist = SHORTLIST

    def dense_reach(self, fp: Fingerprints) -> int:
        """Kept frames a copy's line can span beyond a first-pass hit: the query's length at
        the fastest speed searched, at most one kept frame every REF_EVERY seconds."""
        return reach(fp)

    def probe_rows(self, fp: Fingerprints) -> npt.NDArray[np.int64]:
        """Query rows for the first, sparse lookup: about one frame a second plus the first
        frame of every shot (both orientations); a still's every hash."""
        q: FrameHashes = fp.data
        if q.still or len(q) == 0:
            return np.arange(len(fp), dtype=np.int64)
        row_frame = q.frame[fp.positions]
        whole = ~q.mirrored[fp.positions] & (q.parts()[fp.positions] == WHOLE)
        rows = np.flatnonzero(whole)
        chosen: list[int] = []
        last_t = -math.inf
        prev: npt.NDArray[np.uint64] | None = None
        for r in rows:
            t = float(q.t[fp.positions[r]])
            code = fp.codes[r]
            cut = prev is not None and hamming(code, prev) > SHOT_BITS
            if cut or t - last_t >= PROBE_EVERY - 1e-6:
                chosen.append(int(row_frame[r]))
                last_t = t
            prev = code
        probed = np.isin(row_frame, np.asarray(chosen, dtype=np.uint32))
        return np.flatnonzero(probed)

    def prepare_reference(self, signal: Any) -> FrameHashes:
        if isinstance(signal, FrameHashes):
            return signal
        data = self.extract(signal, Role.REFERENCE).data
        assert isinstance(data, FrameHashes)
        return data

    def pack_reference(self, prepared: Any) -> bytes:
        return pack_times(prepared)

    def unpack_reference(self, data: bytes) -> FrameHashes:
        return unpack_times(data)

    def score(
        self, query: Fingerprints, hits: Hits, references: ReferenceLookup
    ) -> list[Candidate]:
        """One candidate per reference hit (`score_one`), matches first."""
        q: FrameHashes = query.data
        if len(hits) == 0:
            return []
        dist = hits.distances()
        out: list[Candidate] = []
        for doc in np.unique(hits.doc):
            sel = hits.doc == doc
            ref = references(int(doc))
            if ref is None:
                continue
            qpos = hits.query_pos[sel].astype(np.int64)
            cand = self.score_one(
                int(doc), q, ref, qpos, hits.ref_pos[sel].astype(np.int64), dist[sel]
            )
            if cand is not None:
                out.append(cand)
        out.sort(key=lambda c: (c.verdict != Verdict.MATCH, -c.score))
        return out

    def score_one(
        self,
        doc: int,
        q: FrameHashes,
        ref: FrameHashes,
        qpos: npt.NDArray[np.int64],
        rpos: npt.NDArray[np.int64],
        d: npt.NDArray[np.float64],
    ) -> Candidate | None:
        return score_doc(doc, q, ref, qpos, rpos, d)


@dataclass(frozen=True)
class Rules:
    """What a line of hits must reach: hits within `radius` bits carry evidence (radius - d)
    / radius per query frame (beyond it, only a segment's edges are extended); a match needs
    `match_evidence` over at least `match_frames` frames, a review `review_evidence`."""

    radius: float = RADIUS
    match_evidence: float = MATCH_EVIDENCE
    match_frames: int = MATCH_FRAMES
    review_evidence: float = REVIEW_EVIDENCE
    #: speeds searched: within +-max_log_speed (natural log) of 1
    max_log_speed: float = MAX_LOG_SPEED


FRAME_RULES = Rules()


def _best_per_key(
    key: npt.NDArray[np.int64], w: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The distinct keys and each one's best weight."""
    order = np.lexsort((-w, key))
    k, ww = key[order], w[order]
    first = np.ones(k.shape[0], dtype=bool)
    first[1:] = k[1:] != k[:-1]
    return k[first], ww[first]


def _per_frame_best(frame: npt.NDArray[Any], w: npt.NDArray[np.float64]) -> float:
    """Sum over distinct query frames of their best weight."""
    if frame.shape[0] == 0:
        return 0.0
    return float(_best_per_key(frame.astype(np.int64), w)[1].sum())


def score_doc(
    doc: int,
    q: FrameHashes,
    ref: FrameHashes,
    qpos: npt.NDArray[np.int64],
    rpos: npt.NDArray[np.int64],
    d: npt.NDArray[np.float64],
    rules: Rules = FRAME_RULES,
) -> Candidate | None:
    """One reference's hits as lines t_ref = speed * t_query + offset (up to MAX_LINES),
    their segments, and a verdict by `rules`."""
    if rpos.shape[0] and int(rpos.max()) >= len(ref):  # a stale reference store: skip those
        keep = rpos < len(ref)
        qpos, rpos, d = qpos[keep], rpos[keep], d[keep]
    qpart = q.part_of(qpos)
    qt = q.t[qpos].astype(np.float64)
    frame = q.frame[qpos].astype(np.int64)
    mirrored = q.mirrored[qpos]
    rt = ref.t[rpos].astype(np.float64)
    w = np.clip((rules.radius - d) / rules.radius, 0.0, 1.0)
    if q.still or ref.still:
        return _score_still(doc, q, ref, qt, rt, frame, d, qpart, ref.part_of(rpos), mirrored)
    # how long each reference hash stands for beyond its moment: a kept frame is the
    # steadiest of its REF_EVERY seconds, and one kept before a static stretch (the frames
    # after it moved too little to be kept) stands for that stretch too
    nxt = np.append(ref.t[1:].astype(np.float64), ref.duration)
    hold = np.clip(nxt[rpos] - rt - HOLD_SLACK * REF_EVERY, 0.0, 30.0)
    lines: list[tuple[float, float, float, list[Span], int, bool]] = []
    alive = np.ones(qt.shape[0], dtype=bool)
    # hits beyond the radius (second pass) only extend segments on a line
    strong = d < rules.radius  # at the radius: no weight
    for _ in range(MAX_LINES):
        best: tuple[float, float, float, bool] | None = None
        for flip in (False, True):
            sel = alive & strong & (mirrored == flip)
            if sel.sum() < 2:
                continue
            found = _vote(qt[sel], rt[sel], hold[sel], frame[sel], w[sel], rules.max_log_speed)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], found[1], found[2], flip)
        if best is None:
            break
        _, speed, offset, flip = best
        sel = alive & (mirrored == flip)
        resid = rt - (speed * qt + offset)
        on = sel & (resid <= TOLERANCE) & (resid >= -hold - TOLERANCE)
        inl = on & strong
        if inl.sum() >= 3:
            speed, offset = _refit(
                qt[inl], rt[inl], hold[inl], rpos[inl], speed, offset, rules.max_log_speed
            )
            resid = rt - (speed * qt + offset)
            on = sel & (resid <= TOLERANCE) & (resid >= -hold - TOLERANCE)
            inl = on & strong
        evidence = _per_frame_best(frame[inl], w[inl])
        frames = int(np.unique(frame[inl]).shape[0])
        if evidence < rules.review_evidence:
            break
        spans = _chain(
            _extend(np.unique(qt[inl]), np.unique(qt[on & ~strong])),
            speed,
            offset,
            q,
            float(ref.duration),
        )
        lines.append((evidence, speed, offset, spans, frames, flip))
        alive &= ~on
        # a query frame counts for one line only
        alive &= ~np.isin(frame, frame[on])
    if not lines:
        return None
    evidence = sum(x[0] for x in lines)
    frames = sum(x[4] for x in lines)
    top = max(lines, key=lambda x: x[0])
    match = evidence >= rules.match_evidence and frames >= rules.match_frames
    spans = sorted((s for x in lines for s in x[3]), key=lambda s: s.query_start)
    return Candidate(
        doc,
        1.0 - math.exp(-evidence / rules.match_evidence),
        Verdict.MATCH if match else Verdict.REVIEW,
        tuple(spans),
        {
            "frames": float(frames),
            "evidence": round(evidence, 3),
            "speed": round(top[1], 4),
            "offset": round(top[2], 3),
            "mirrored": float(top[5]),
        },
    )


def _vote(
    qt: npt.NDArray[np.float64],
    rt: npt.NDArray[np.float64],
    hold: npt.NDArray[np.float64],
    frame: npt.NDArray[np.int64],
    w: npt.NDArray[np.float64],
    max_log_speed: float = MAX_LOG_SPEED,
) -> tuple[float, float, float] | None:
    """(evidence, speed, offset) of the best line t_ref = speed * t_query + offset over the
    speed grid and offset cells (two grids half a cell apart, so a line on a cell edge is not
    split). A query frame counts once per cell, with its best weight."""
    n_speeds = round(max_log_speed / SPEED_STEP)
    # the unchanged speed first, then outwards: of lines the hits support equally (a short
    # or static excerpt fits several), the one closest to speed 1 wins
    steps = np.arange(-n_speeds, n_speeds + 1)
    speeds = np.exp(steps[np.argsort(np.abs(steps), kind="stable")] * SPEED_STEP)
    # a reference hash stands for [rt, rt + hold): vote at the middle of what it covers
    mid = rt + 0.5 * np.minimum(hold, 2.0)
    best: tuple[float, float, float, float] | None = None
    n_frames = int(frame.max()) + 1
    for s in speeds:
        off = mid - s * qt
        for shift in (0.0, 0.5):
            cell = np.floor(off / OFFSET_CELL + shift).astype(np.int64)
            lo = int(cell.min())
            k, ww = _best_per_key((cell - lo) * n_frames + frame, w)
            sums = np.bincount(k // n_frames, weights=ww)
            i = int(np.argmax(sums))
            if best is None or sums[i] > best[0] + 1e-9:
                best = (float(sums[i]), float(s), float(i + lo), shift)
    if best is None:
        return None
    ev, s, c, shift = best
    off = mid - s * qt
    inside = np.floor(off / OFFSET_CELL + shift) == c
    start = rt[inside] - s * qt[inside]
    return ev, s, float(np.median(start))


def _refit(
    qt: npt.NDArray[np.float64],
    rt: npt.NDArray[np.float64],
    hold: npt.NDArray[np.float64],
    rpos: npt.NDArray[np.int64],
    speed: float,
    offset: float,
    max_log_speed: float = MAX_LOG_SPEED,
) -> tuple[float, float]:
    """Least squares on hashes that stand for a short time (a static shot's hash says little
    about where in the shot a query frame is), one point per kept frame: the query frames
    that match one kept frame show it until the next, and fitting them one by one would tilt
    the line (a staircase fits flatter than its steps)."""
    sharp = hold <= 1.0
    if sharp.sum() < 3:
        return speed, offset
    x, y, k, hd = qt[sharp], rt[sharp], rpos[sharp], hold[sharp]
    keys, inverse, counts = np.unique(k, return_inverse=True, return_counts=True)
    if keys.shape[0] < 3:
        return speed, offset
    # per kept frame: the middle of the query frames that matched it, against the middle of
    # the time it stands for (when a step has several frames), or the frame itself
    mx = np.bincount(inverse, weights=x) / counts
    my = np.bincount(inverse, weights=y + np.where(counts[inverse] > 1, 0.5 * hd, 0.0)) / counts
    x, y = mx, my
    if float(x.max() - x.min()) < 8.0:
        return speed, float(np.median(y - speed * x))
    a, b = np.polyfit(x, y, 1)
    if abs(math.log(max(a, 1e-6))) > max_log_speed:
        return speed, offset
    return float(a), float(b)


def _chain(
    qt: npt.NDArray[np.float64],
    speed: float,
    offset: float,
    q: FrameHashes,
    ref_duration: float = 0.0,
) -> list[Span]:
    """The query times on a line as spans (a gap over GAP starts a new one), cut where the
    line leaves the reference (before its start, after `ref_duration` when known)."""
    times = np.unique(qt)
    if times.shape[0] == 0:
        return []
    step = q.step
    out: list[Span] = []
    start = prev = float(times[0])
    for t in times[1:]:
        t = float(t)
        if t - prev > GAP:
            out.append(_span(start, prev + step, speed, offset, ref_duration))
            start = t
        prev = t
    out.append(_span(start, prev + step, speed, offset, ref_duration))
    return out


def _extend(
    anchored: npt.NDArray[np.float64], weak: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The anchored times plus weak ones that continue them without a gap of more than
    EXTEND_GAP (a segment's edges, where a distortion spoiled the frames a little more)."""
    if weak.shape[0] == 0 or anchored.shape[0] == 0:
        return anchored
    times = set(anchored.tolist())
    for w in (weak, weak[::-1]):
        for t in w.tolist():
            if any(abs(t - a) <= EXTEND_GAP for a in (max(times), min(times))):
                times.add(t)
    return np.asarray(sorted(times))


def _span(q0: float, q1: float, speed: float, offset: float, ref_duration: float = 0.0) -> Span:
    """Query [q0, q1) on the line t_ref = speed * t + offset, cut to the part that maps
    inside the reference: a line placed a little early or late (a static shot's frames say
    little about where in the shot the copy is) maps the copy's first or last moments
    before the reference's start or past its end, and those moments are not the reference's.
    A span wholly outside keeps its query times against the reference's edge."""
    r0, r1 = speed * q0 + offset, speed * q1 + offset
    c0 = q0 + max(0.0, -r0) / speed
    c1 = q1 - (max(0.0, r1 - ref_duration) / speed if ref_duration > 0 else 0.0)
    if c1 > c0:
        q0, q1 = c0, c1
        r0, r1 = speed * q0 + offset, speed * q1 + offset
    top = ref_duration if ref_duration > 0 else math.inf
    return Span(
        round(q0, 2),
        round(q1, 2),
        round(min(top, max(0.0, r0)), 2),
        round(min(top, max(0.0, r1)), 2),
    )


def _score_still(
    doc: int,
    q: FrameHashes,
    ref: FrameHashes,
    qt: npt.NDArray[np.float64],
    rt: npt.NDArray[np.float64],
    frame: npt.NDArray[np.int64],
    d: npt.NDArray[np.float64],
    qpart: npt.NDArray[np.uint8],
    rpart: npt.NDArray[np.uint8],
    mirrored: npt.NDArray[np.bool_],
) -> Candidate | None:
    """An image against a video or an image, or a video against an image. Whole pictures
    (as shown, mirrored or a reference's zoomed middle) decide by their closest hash; two
    stills also agree quarter by quarter, so that an overlay over one corner still leaves a
    match (quarters count only against the same quarter)."""
    whole = ((qpart == WHOLE) | (qpart == INSET)) & (rpart < QUARTER)
    quarter = (qpart >= QUARTER) & (qpart == rpart) & ~mirrored
    best = float(d[whole].min()) if whole.any() else math.inf
    agree = 0
    if q.still and ref.still and quarter.any():
        agree = int(np.unique(qpart[quarter & (d <= QUARTER_BITS)]).shape[0])
    if best > IMAGE_REVIEW_BITS and agree < QUARTERS_FOR_MATCH:
        return None
    verdict = (
        Verdict.MATCH if best <= IMAGE_MATCH_BITS or agree >= QUARTERS_FOR_MATCH else Verdict.REVIEW
    )
    close = whole & (d <= min(IMAGE_MATCH_BITS, best + 4))
    spans: list[Span] = []
    if not q.still and ref.still and close.any():  # a poster shown in a video: when
        spans = [
            Span(round(s.query_start, 2), round(s.query_end, 2), 0.0, 0.0)
            for s in _chain(qt[close], 1.0, 0.0, q)
        ]
    elif q.still and not ref.still and whole.any():  # a still of a film: its time
        at = np.flatnonzero(whole)[np.argmin(d[whole])]
        spans = [Span(0.0, 0.0, round(float(rt[at]), 2), round(float(rt[at]), 2))]
    frames = int(np.unique(frame[close]).shape[0])
    closeness = 0.0 if math.isinf(best) else 1.0 - best / (2 * IMAGE_REVIEW_BITS)
    score = max(closeness, agree / 4)
    return Candidate(
        doc,
        float(np.clip(score, 0.0, 1.0)),
        verdict,
        tuple(spans),
        {
            "distance": -1.0 if math.isinf(best) else best,
            "quarters": float(agree),
            "frames": float(frames),
            "mirrored": float(bool(close.any() and mirrored[close].all())),
        },
    )


register(FrameFingerprinter())
