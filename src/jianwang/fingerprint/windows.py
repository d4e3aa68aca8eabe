"""The window method: a film cropped, zoomed or framed differently, by the middle of its
pictures.

A pirate who crops a film (a window of 75-90 % of each side, at any place, scaled back up)
leaves no whole-frame hash that matches: PDQ moves 65-80 bits for a 2.5 % shift of the
picture. What a crop keeps is the middle. A reference therefore indexes, for every frame the
frame method keeps, a short hash of its middle (`INNER` of each side cut off), and a query
looks for that middle in windows of several sizes at many places in its frames.

The hash is made to survive a window placed a little wrong: it keeps only the lowest
frequencies (the 8 x 8 DCT coefficients after the mean, 64 bits, each one above or below
their median, as PDQ does with 16 x 16). A misplacement of 1.75 % of the side moves it about
8 of 64 bits where PDQ moves 56 of 256 (median, measured on the benchmark's real footage),
so a grid of windows every `STEP` of the side finds the middle, and a 64-bit hash costs an
eighth of a PDQ hash in the index.

Windows are computed exactly and all at once: the DCT of a window is a linear map of the
frame, A_y F A_x^T, where A holds each basis function integrated over each pixel's share of
the window (an "area" DCT, so sub-pixel placement and any frame size give the same
coefficients). One pair of matrix products per frame and window size gives every window's
coefficients.

Scoring is the frame method's (votes on t_ref = speed * t_query + offset, segments), on hits
from windows at one place: a pirate's crop stays put for the whole copy, chance hits of the
hundreds of windows of every frame land anywhere (`steady`).

Pure numpy: frames in, codes out.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from ..domain import MediaType
from .base import (
    Candidate,
    Fingerprints,
    HashKind,
    Hits,
    Role,
    best_references,
    register,
)
from .visual import (
    MIN_QUALITY,
    FrameFingerprinter,
    FrameHashes,
    Rules,
    hamming,
    kept_frames,
    lowest,
    median_code,
    score_doc,
)

#: share of each side a reference's middle leaves out (what a crop of up to 20 % keeps)
INNER = 0.2
#: DCT coefficients per axis (after the mean)
K = 11
#: bits of a code: the lowest frequencies of the K x K (14 bytes in the index)
CODE_BITS = 112
#: 64-bit words per code in memory
WORDS = -(-CODE_BITS // 64)
#: a query's window sizes, as shares of its frame's side: INNER's middle fills 1 - 2 * INNER
#: of an uncropped frame and (1 - 2 * INNER) / (1 - c) of a copy with c of each side cropped
SCALES = (0.66, 0.72, 0.78)
#: step between windows (share of the side)
STEP = 0.03
#: frames PROBE_EVERY seconds apart go to the whole index (with a share of their windows);
#: the references they find are then searched with every frame's windows near the best
#: places (NEAR steps)
PROBE_EVERY = 2.0
#: a probe frame takes 1 / SUBSETS of its windows (one of every 2 x 2 block of places at
#: each size for 4, every other for 2), a different share each time
SUBSETS = 2
NEAR = 1
#: references (the most hits first) whose best place the first pass hands to the second
PLACES = 8
#: inverted lists the first pass searches in a large index (the index's default is 12): a
#: crop's place shows in many windows of many probes, so fewer lists lose little (measured
#: against 1,000 padded hours: the search took 24 % less and found the same 23 of 24 sample
#: copies; every query again at 1,000 h: docs/benchmarks.md)
NPROBE = 6
#: search radius (bits of 64) of the first pass, and of the second
RADIUS = 24
DENSE_RADIUS = 30
#: hits closer than this carry evidence and anchor segments; the rest of the second pass only
#: extends a segment's edges frame by frame
STRONG = 22
#: a reference keeps a middle only when its code moved more than this from the last one kept
KEEP_BITS = 12
#: a window needs this much structure (PDQ's quality scale, 0-100) to be hashed
WINDOW_QUALITY = MIN_QUALITY
#: speeds searched (natural log): a crop rarely comes with a speed change, and a window's
#: chance lines need the freedom of a wide speed range
SPEEDS = math.log(1.03)
#: verdicts (evidence per query frame: 1 for an exact middle, 0 at the radius)
RULES = Rules(
    radius=STRONG,
    match_evidence=3.5,
    match_frames=10,
    review_evidence=2.0,
    max_log_speed=SPEEDS,
)


@dataclass(frozen=True)
class Window:
    x: float
    y: float
    side: float


@functools.cache
def windows() -> tuple[Window, ...]:
    """A query's windows: every size in SCALES, every STEP across the frame (evenly spread so
    the last one touches the far edges)."""
    out: list[Window] = []
    for s in SCALES:
        n = max(1, math.ceil((1.0 - s) / STEP - 1e-9) + 1)
        at = np.linspace(0.0, 1.0 - s, n)
        out += [Window(float(x), float(y), s) for y in at for x in at]
    return tuple(out)


@functools.cache
def _operator(n: int, start: float, side: float) -> npt.NDArray[np.float32]:
    """(K, n): basis functions 1..K of the DCT over [start, start + side] (shares of a side
    of n pixels), integrated over each pixel's part of the window, divided by the window."""
    edges = np.arange(n + 1, dtype=np.float64) / n
    lo = np.clip(edges[:-1], start, start + side)
    hi = np.clip(edges[1:], start, start + side)
    k = np.arange(1, K + 1, dtype=np.float64)[:, None]
    u0, u1 = (lo - start) / side, (hi - start) / side
    a = (np.sin(np.pi * k * u1) - np.sin(np.pi * k * u0)) / (np.pi * k)
    return a.astype(np.float32)


@functools.cache
def _stack(n: int, side: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    """The operators of every window start at this size, stacked ((m * K, n)), and the
    starts."""
    starts = sorted({w.x for w in windows() if w.side == side})
    return np.concatenate([_operator(n, s, side) for s in starts]), np.asarray(starts)


def _bits(coef: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint64]:
    """(..., K, K) coefficients to (..., WORDS) codes: the CODE_BITS lowest frequencies,
    above their median or not."""
    return median_code(coef.reshape(*coef.shape[:-2], K * K)[..., lowest(K, CODE_BITS)])


def window_quality(frames: npt.NDArray[np.uint8], boxes: list[Window]) -> npt.NDArray[np.float64]:
    """(frames, windows): PDQ's quality measure (absolute steps between neighbours, in
    percent of full scale, over 90, for 64 x 64 pixels) of each window, from integral
    images of the steps."""
    f = frames.astype(np.int16)
    n, h, w = f.shape
    # whole steps, summed exactly in integers (at most 510 a pixel: 2^31 holds 4 M pixels)
    grad = np.zeros((n, h, w), dtype=np.int32)
    grad[:, :-1, :] += np.abs(f[:, :-1, :] - f[:, 1:, :])
    grad[:, :, :-1] += np.abs(f[:, :, :-1] - f[:, :, 1:])
    integral = np.zeros((n, h + 1, w + 1), dtype=np.int32)
    integral[:, 1:, 1:] = grad.cumsum(1, dtype=np.int32).cumsum(2, dtype=np.int32)
    y0, y1, x0, x1 = (
        np.array([round(v * size) for v in values], dtype=np.int64)
        for values, size in (
            ([b.y for b in boxes], h),
            ([b.y + b.side for b in boxes], h),
            ([b.x for b in boxes], w),
            ([b.x + b.side for b in boxes], w),
        )
    )
    total = integral[:, y1, x1] - integral[:, y0, x1] - integral[:, y1, x0] + integral[:, y0, x0]
    # in percent of full scale; a window of m pixels a side sums m / 64 times the steps it
    # would have at 64 x 64
    return np.minimum(100.0, total * (100.0 / 255.0) * (64.0 / np.maximum(1, x1 - x0)) / 90.0)


def middle_codes(frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """The code of each frame's middle (INNER of each side off): what a reference indexes."""
    n = frames.shape[1]
    a = _operator(n, INNER, 1.0 - 2 * INNER)
    coef = a @ frames.astype(np.float32) @ a.T
    return _bits(coef)


def window_codes(
    frames: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
    """Codes of every window of `windows()` in every frame ((frames, windows)), and which
    windows hold enough structure to hash."""
    f = frames.astype(np.float32)
    n_frames, h, _ = f.shape
    codes = np.empty((n_frames, len(windows()), WORDS), dtype=np.uint64)
    at = 0
    for s in SCALES:
        ops, starts = _stack(h, s)
        m = starts.shape[0]
        # (frames, m*K, m*K): rows are (y start, k), columns (x start, k)
        coef = ops @ f @ ops.T
        coef = coef.reshape(n_frames, m, K, m, K).transpose(0, 1, 3, 2, 4)
        codes[:, at : at + m * m] = _bits(coef).reshape(n_frames, m * m, WORDS)
        at += m * m
    usable = window_quality(frames, list(windows())) >= WINDOW_QUALITY
    return codes, usable


@functools.cache
def _places() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each window's size (index into SCALES) and its y and x start (index into its size's
    starts, as `_stack` orders them)."""
    size, iy, ix = [], [], []
    for w in windows():
        starts = sorted({v.x for v in windows() if v.side == w.side})
        size.append(SCALES.index(w.side))
        iy.append(starts.index(w.y))
        ix.append(starts.index(w.x))
    return np.asarray(size), np.asarray(iy), np.asarray(ix)


#: rows of `codes_at` computed at once (bounds the gathered operators: 5.6 kB a row)
_ROWS_AT_ONCE = 4096


def codes_at(
    frames: npt.NDArray[np.uint8], frame: npt.NDArray[Any], part: npt.NDArray[Any]
) -> npt.NDArray[np.uint64]:
    """The codes of window `part[i]` of frame `frame[i]`, for each i ((len, WORDS)): what
    `window_codes` gives for those windows, computing only them. The left product
    (every start of a size: A_y F) is made once per frame and size, then each window takes
    its rows of it times its own columns (a query's lookups need a few percent of its
    windows)."""
    frame = np.asarray(frame, dtype=np.int64)
    part = np.asarray(part, dtype=np.int64)
    out = np.zeros((frame.shape[0], WORDS), dtype=np.uint64)
    if frame.shape[0] == 0:
        return out
    n = frames.shape[1]
    size, iy, ix = _places()
    for s, side in enumerate(SCALES):
        rows = np.flatnonzero(size[part] == s)
        if rows.shape[0] == 0:
            continue
        ops, _ = _stack(n, side)
        m = ops.shape[0] // K
        # windows of one frame at one y start share A_y F: one row band of the product
        band = frame[rows] * m + iy[part[rows]]
        bands, which = np.unique(band, return_inverse=True)
        used, at = np.unique(bands // m, return_inverse=True)
        # (frames used, m, K, n): every start's rows of A_y F
        left = (ops @ frames[used].astype(np.float32)).reshape(used.shape[0], m, K, n)
        # (bands, K, m * K): the bands' rows of A_y F A_x^T, every x start
        right = (left[at, bands % m].reshape(-1, n) @ ops.T).reshape(-1, K, m, K)
        for a in range(0, rows.shape[0], _ROWS_AT_ONCE):
            r = rows[a : a + _ROWS_AT_ONCE]
            out[r] = _bits(right[which[a : a + _ROWS_AT_ONCE], :, ix[part[r]]])
    return out


class WindowCodes:
    """A query's window codes, computed when asked for: row i is window `part[i]` of frame
    `frame[i]`. Indexing (`codes[rows]`) computes those rows (`codes_at`); `np.asarray`
    computes all. Quacks like the (rows, WORDS) array `Fingerprints.codes` holds."""

    dtype = np.dtype(np.uint64)
    ndim = 2

    def __init__(
        self, frames: npt.NDArray[np.uint8], frame: npt.NDArray[Any], part: npt.NDArray[Any]
    ):
        self.frames = frames
        self.frame = np.asarray(frame, dtype=np.int64)
        self.part = np.asarray(part, dtype=np.int64)
        self.shape = (int(self.frame.shape[0]), WORDS)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Any) -> npt.NDArray[np.uint64]:
        pick = np.arange(self.shape[0])[rows]
        if pick.ndim == 0:
            return codes_at(self.frames, self.frame[pick][None], self.part[pick][None])[0]
        return codes_at(self.frames, self.frame[pick], self.part[pick])

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        every = codes_at(self.frames, self.frame, self.part)
        return every if dtype is None else every.astype(dtype)


def _neighbours(ids: list[int]) -> npt.NDArray[np.int64]:
    """Window ids within NEAR steps (and one size) of any of `ids`."""
    table = _table()
    keep = np.zeros(len(windows()), dtype=bool)
    for i in ids:
        keep |= _near(table, table[i])
    return np.flatnonzero(keep)


@functools.cache
def _around() -> npt.NDArray[np.float64]:
    """(windows, windows): 1 where two windows are near each other (`_near`)."""
    table = _table()
    return np.stack([_near(table, w) for w in table]).astype(np.float64)


@functools.cache
def _quarter() -> npt.NDArray[np.int64]:
    """Each window's quarter (0-3): its place's row and column parity at its size."""
    _, iy, ix = _places()
    return (iy % 2) * 2 + ix % 2


@functools.cache
def _table() -> npt.NDArray[np.float64]:
    return np.array([[w.x, w.y, w.side] for w in windows()])


def _near(table: npt.NDArray[np.float64], w: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Windows whose corner lies within NEAR steps (and a half) of w's and whose size is w's
    or the next."""
    span = (NEAR + 0.5) * STEP
    size = max(b - a for a, b in itertools.pairwise(SCALES)) if len(SCALES) > 1 else 0
    return (
        (np.abs(table[:, 0] - w[0]) <= span)
        & (np.abs(table[:, 1] - w[1]) <= span)
        & (np.abs(table[:, 2] - w[2]) <= size + 1e-9)
    )


def steady(part: npt.NDArray[Any], d: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Hits from windows near the place most hits agree on (weighted by closeness)."""
    if part.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    votes = np.bincount(
        part.astype(np.int64),
        weights=np.clip(DENSE_RADIUS - d, 0.0, None),
        minlength=len(windows()),
    )
    table = _table()
    return _near(table, table[int(np.argmax(votes))])[part.astype(np.int64)]


class WindowFingerprinter(FrameFingerprinter):
    """The frame method's references, lookup bounds and scoring, on middles and windows."""

    name = "windows"
    version = 1
    media = MediaType.VIDEO
    also: tuple[MediaType, ...] = ()  # a still's crops are the keypoint method's
    hash_kind = HashKind.HAMMING112
    radius = RADIUS
    dense_radius = DENSE_RADIUS
    #: references the second pass searches (those whose places it knows)
    shortlist = PLACES
    nprobe = NPROBE

    def extract(self, signal: Any, role: Role = Role.QUERY) -> Fingerprints:
        """Reference: the middle's code of each frame the frame method keeps (one code per
        kept frame). Query: every window's code, every frame (from the decoder's finer
        frames when it kept them)."""
        times = np.asarray(signal.times, dtype=np.float32)
        pixels = np.asarray(signal.pixels, dtype=np.uint8)
        duration = float(signal.duration)
        if getattr(signal, "still", False) or pixels.shape[0] == 0:
            return _empty(self, duration)
        if role == Role.REFERENCE:
            keep = kept_frames(times, pixels)
            if keep.shape[0] == 0:
                return _empty(self, duration)
            sel = pixels[keep]
            ok = (
                window_quality(sel, [Window(INNER, INNER, 1.0 - 2 * INNER)])[:, 0] >= WINDOW_QUALITY
            )
            codes, kt = _distinct(middle_codes(sel)[ok], times[keep][ok])
            data = FrameHashes(
                kt.astype(np.float32),
                np.zeros(kt.shape[0], dtype=bool),
                np.arange(kt.shape[0], dtype=np.uint32),
                False,
                duration,
            )
            return Fingerprints(
                self.name, self.version, codes, np.arange(kt.shape[0], dtype=np.uint32), data
            )
        fine = getattr(signal, "fine", None)
        source = pixels if fine is None else np.asarray(fine, dtype=np.uint8)
        n = min(source.shape[0], times.shape[0])
        all_t, all_frame, all_part = [], [], []
        boxes = list(windows())
        for a in range(0, n, 64):  # in blocks: a long upload's windows at once are large
            f, wi = np.nonzero(window_quality(source[a : a + 64], boxes) >= WINDOW_QUALITY)
            all_frame.append((f + a).astype(np.uint32))
            all_part.append(wi.astype(np.uint16))
            all_t.append(times[f + a])
        if not all_frame:
            return _empty(self, duration)
        # computed when the lookup asks for them: it takes a few percent of the windows
        codes = cast(
            "npt.NDArray[np.uint64]",
            WindowCodes(source[:n], np.concatenate(all_frame), np.concatenate(all_part)),
        )
        data = FrameHashes(
            np.concatenate(all_t).astype(np.float32),
            np.zeros(codes.shape[0], dtype=bool),
            np.concatenate(all_frame),
            False,
            duration,
            np.concatenate(all_part),
        )
        return Fingerprints(
            self.name, self.version, codes, np.arange(codes.shape[0], dtype=np.uint32), data
        )

    def probe_rows(self, fp: Fingerprints) -> npt.NDArray[np.int64]:
        """Frames PROBE_EVERY seconds apart, each with 1 / SUBSETS of its windows, a different
        share each time (a crop stays put, so its place, or the one beside it, comes up
        every SUBSETS-th probe)."""
        q: FrameHashes = fp.data
        if len(q) == 0:
            return np.zeros(0, dtype=np.int64)
        frames, first = np.unique(q.frame, return_index=True)
        chosen: list[int] = []
        last = -math.inf
        for f, t in zip(frames.tolist(), q.t[first].tolist(), strict=True):
            if t - last >= PROBE_EVERY - 1e-3:
                chosen.append(f)
                last = t
        turn = np.full(int(frames.max()) + 1, -1, dtype=np.int64)
        turn[np.asarray(chosen, dtype=np.int64)] = np.arange(len(chosen)) % SUBSETS
        return np.flatnonzero(turn[q.frame] == _quarter()[q.parts().astype(np.int64)] % SUBSETS)

    def dense_rows(self, fp: Fingerprints, probed: npt.NDArray[np.int64], first: Hits) -> Any:
        """Every frame's windows near the places where the first pass found each of the
        references it found most (PLACES of them; the place each one's hits agree on, by
        closeness): a chance hit elsewhere does not move a copy's crop."""
        q: FrameHashes = fp.data
        part = q.parts()[probed[first.query_pos]].astype(np.int64)
        weight = np.clip(RADIUS + 1 - first.distances(), 0.0, None)
        best: list[int] = []
        for doc in best_references(first, RADIUS, PLACES).tolist():
            sel = first.doc == doc
            votes = np.bincount(part[sel], weights=weight[sel], minlength=len(windows()))
            # a place's votes with its neighbours' (each probe tries a quarter of them); the
            # two best places (a short copy's few probes may favour a chance one)
            smooth = _around() @ votes
            top = int(np.argmax(smooth))
            best.append(top)
            smooth[_near(_table(), _table()[top])] = 0.0
            if smooth.max() > 0:
                best.append(int(np.argmax(smooth)))
        return np.flatnonzero(np.isin(q.parts(), _neighbours(best)))

    def score_one(
        self,
        doc: int,
        q: FrameHashes,
        ref: FrameHashes,
        qpos: npt.NDArray[np.int64],
        rpos: npt.NDArray[np.int64],
        d: npt.NDArray[np.float64],
    ) -> Candidate | None:
        """The frame method's lines on the hits from one steady place, by `RULES`."""
        keep = steady(q.part_of(qpos), d)
        return score_doc(doc, q, ref, qpos[keep], rpos[keep], d[keep], RULES)


def _distinct(
    codes: npt.NDArray[np.uint64], times: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]:
    """The codes (and their times) that moved more than KEEP_BITS from the last one kept: a
    middle changes more slowly than the whole frame (the edges carry most of the motion)."""
    keep: list[int] = []
    last: npt.NDArray[np.uint64] | None = None
    for i in range(codes.shape[0]):
        if last is not None and hamming(codes[i], last) <= KEEP_BITS:
            continue
        keep.append(i)
        last = codes[i]
    return codes[keep], times[keep]


def _empty(method: WindowFingerprinter, duration: float) -> Fingerprints:
    data = FrameHashes(
        np.zeros(0, dtype=np.float32),
        np.zeros(0, dtype=bool),
        np.zeros(0, dtype=np.uint32),
        False,
        duration,
    )
    return Fingerprints(
        method.name,
        method.version,
        np.zeros((0, WORDS), dtype=np.uint64),
        np.zeros(0, dtype=np.uint32),
        data,
    )


register(WindowFingerprinter())
