"""The audio method: groups of spectral peaks that survive speed, tempo and pitch changes.

Extraction
    A short-time spectrum (11,025 Hz, 1,024-sample window, 128-sample hop) is reduced to its
    salient peaks: local maxima of the log magnitude, less half of each bin's recent average
    (onset emphasis: reverberation smears each note over the next second, and that smear stops
    outranking the onsets), that stand out from their neighbourhood, thinned to a steady number
    per second by a sliding window. Peak times and frequencies are
    refined by parabolic interpolation; frequencies are measured on a log scale
    (`BINS_PER_OCTAVE` per octave), where a pitch shift is a constant offset.

    Each anchor peak is grouped with every three of its strongest neighbours after it,
    (t0, f0), (ta, fa), (tb, fb), (tc, fc). The group's 32-bit key holds only what a change of
    speed, tempo or pitch leaves alone (after Panako, Six & Leman 2014/2021, and quad
    fingerprints, Sonnleitner & Widmer 2016):

    * the ratios (ta - t0) / (tc - t0) and (tb - t0) / (tc - t0): a time stretch scales all
      differences alike;
    * the log-frequency differences fa - f0, fb - f0, fc - f0: a pitch shift adds a constant.

    References keep the strongest few peaks per second and few neighbours; queries keep more
    of both, so the reference's groups reappear among the query's wherever their peaks survive.
    Values near a quantisation edge also emit the neighbouring key (query side only).

Scoring
    Each hit pairs a query group with a reference group: their spans give the time scale s
    (reference seconds per query second) and their anchors the pitch shift. References are
    chosen by how many hits one stretch of query puts within a few seconds of the reference.
    Per reference and per 10 s of query, hits vote on (scale, pitch, reference time at the
    stretch's centre); the winners are refitted (t_ref = s * t_query + offset, least squares)
    and every hit is checked against the line. Inliers are counted once per query and per
    reference anchor. Lines that one refitted line fits are joined into a segment; a query
    holding several works (a medley, two songs in one video) gives each its own segments.

A match needs `MATCH_INLIERS` inliers spread over at least `MIN_SPREAD` half-seconds of query
(chance gathers its coincidences in one spot); fewer, from `REVIEW_INLIERS`, is `review`.
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..domain import MediaType, Verdict
from .base import Candidate, Fingerprints, HashKind, Hits, ReferenceLookup, Role, Span, register
from .normalize import _core

RATE = 11025
N_FFT = 1024
HOP = 128
#: frames per second
FPS = RATE / HOP
F_MIN = 200.0
F_MAX = 4500.0
BINS_PER_OCTAVE = 36
#: frames of power averaged before peak picking
SMOOTH = 5
#: onset emphasis: peaks are picked on each bin's level minus ONSET_MIX of its recent past
#: (an exponential average over about a second: pole ONSET_POLE per frame), so the smear that
#: reverberation adds after each note counts less than the notes' onsets
ONSET_POLE = 0.99
ONSET_MIX = 0.5

#: peak picking: local maximum over +-PEAK_T frames and +-PEAK_F linear bins
PEAK_T = 6
PEAK_F = 4
#: and at least this far (dB) above the local mean
PEAK_PROMINENCE = 4.0
#: rank peaks by prominence plus this much of their level (loud partials outlive noise)
LEVEL_WEIGHT = 0.5
#: peaks kept per second: the strongest within half a BLOCK of frames either side
REF_PEAKS = 25
QUERY_PEAKS = 50
BLOCK = 43

#: zone of an anchor's neighbours: time (frames) and log-frequency (bins) distances; the
#: group's span (first to last peak) is at least DT13_MIN frames
DT_MIN = 3
DT_MAX = 64
DT13_MIN = 10
DF_MAX = 36
DF_MIN = 2.0
#: neighbours per anchor: the strongest in the zone
REF_FAN = 4
QUERY_FAN = 10

#: quantisation of the hashed values
RATIO_STEPS = 6
DF_STEP = 1.0
#: query side: values within this fraction of a step from an edge also emit the neighbour key,
#: for at most MAX_SOFT fields of a group at once
SOFT_EDGE = 0.2
MAX_SOFT = 2

#: scoring: hits outside these scale and pitch ranges are ignored (+-50 %)
MAX_LOG2_SCALE = math.log2(1.5)
MAX_PITCH_BINS = BINS_PER_OCTAVE * math.log2(1.5)
#: pitch shifts beyond MAX_PITCH_SHIFT octaves are searched only along the speed axis (within
#: SPEED_AXIS_BAND octaves of pitch = speed, per hit)
MAX_PITCH_SHIFT = 3 / 12
SPEED_AXIS_BAND = 0.06
#: vote cells: log2 scale, pitch (bins), offset (seconds)
SCALE_CELL = 0.03
PITCH_CELL = 2.0
OFFSET_CELL = 0.4
#: an inlier is this close to the fitted line (seconds) and the fitted pitch (bins)
TIME_TOLERANCE = 0.08
PITCH_TOLERANCE = 1.5
#: query stretch scored at a time (seconds) and the most candidates looked at per query
WINDOW = 10.0
#: reference rows per bucket when candidates are chosen (about 4 s of reference)
_ROWS_PER_BUCKET = 128
MAX_DOCS = 24
MIN_DOC_HITS = 5
#: a change of speed and pitch off the three usual axes (see `_usual`) needs this many times
#: the inliers; AXIS_TOLERANCE is the distance (octaves) that still counts as on an axis
OFF_AXIS_FACTOR = 2
AXIS_TOLERANCE = 0.015
#: half-seconds of query a match's inliers must span
MIN_SPREAD = 4
#: inliers for a match and for review (calibrated on the benchmark's negatives)
MATCH_INLIERS = 11
REVIEW_INLIERS = 6


@dataclass(frozen=True)
class PeakGroups:
    """Per peak group: anchor time (s), anchor log-frequency (bins) and span t_c - t_0 (s)."""

    t1: npt.NDArray[np.float32]
    f1: npt.NDArray[np.float32]
    dt: npt.NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.t1.shape[0])


@dataclass(frozen=True)
class Peaks:
    t: npt.NDArray[np.float32]  # frames, sub-frame precision
    f: npt.NDArray[np.float32]  # log-frequency bins above F_MIN
    strength: npt.NDArray[np.float32]  # prominence, dB

    def __len__(self) -> int:
        return int(self.t.shape[0])


# ------------------------------------------------------------------ spectrum and peaks

_WINDOW = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
_K_LO = math.ceil(F_MIN * N_FFT / RATE)
_K_HI = math.floor(F_MAX * N_FFT / RATE)
#: frames per chunk of spectrum computed at once (bounded memory on long recordings)
_CHUNK = 4096
_MARGIN = 64


def _spectrum(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Log magnitude (dB), frames x bins [_K_LO, _K_HI]."""
    if samples.shape[0] < N_FFT:
        samples = np.pad(samples, (0, N_FFT - samples.shape[0]))
    from scipy.fft import rfft  # single precision in, single precision out

    frames = np.lib.stride_tricks.sliding_window_view(samples, N_FFT)[::HOP]
    spec = rfft(frames * _WINDOW, axis=1, overwrite_x=True)[:, _K_LO : _K_HI + 1]
    power = spec.real**2 + spec.imag**2
    if SMOOTH > 1:  # sustained partials stand out of noise, whose peaks flicker
        from scipy.ndimage import uniform_filter1d

        power = uniform_filter1d(power, SMOOTH, axis=0, mode="nearest")
    return (10.0 * np.log10(power + 1e-10)).astype(np.float32)


def peaks(samples: npt.NDArray[np.float32], per_second: float) -> Peaks:
    """Salient spectral peaks, about `per_second` of them per second of audio."""
    from scipy.ndimage import uniform_filter

    n_frames = max(1, 1 + (samples.shape[0] - N_FFT) // HOP)
    ts, fs, ss = [], [], []
    x0 = y0 = None  # the onset filter's state at the frame before the chunk (continuous)
    for start in range(0, n_frames, _CHUNK):
        lo = max(0, start - _MARGIN)
        hi = min(n_frames, start + _CHUNK + _MARGIN)
        level = _spectrum(samples[lo * HOP : (hi - 1) * HOP + N_FFT])
        if x0 is None or y0 is None:
            x0, y0 = level[0], np.zeros(level.shape[1], dtype=np.float32)
        mag, y = onset_emphasis(level, x0, y0)
        last = start + _CHUNK - _MARGIN - 1 - lo  # the frame before the next chunk's first
        if 0 <= last < level.shape[0]:
            x0, y0 = level[last].copy(), y[last].copy()
        # the local mean, on a grid twice as coarse each way (it is smooth anyway)
        coarse = uniform_filter(mag[::2, ::2], size=(15, 13), mode="nearest")
        background = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)
        background = background[: mag.shape[0], : mag.shape[1]]
        # a peak stands PEAK_PROMINENCE above the local mean and is not lost in silence
        floor = np.where(
            level > max(float(level.max()) - 90.0, -100.0),
            background + PEAK_PROMINENCE,
            np.float32(np.inf),
        )
        ti, fi = local_maxima(mag, floor.astype(np.float32))
        keep = (ti + lo >= start) & (ti + lo < start + _CHUNK)
        ti, fi = ti[keep], fi[keep]
        if ti.shape[0] == 0:
            continue
        b = mag[ti, fi]
        dt = _parabola(mag[ti - 1, fi], b, mag[ti + 1, fi])
        df = _parabola(mag[ti, fi - 1], b, mag[ti, fi + 1])
        hz = (fi + _K_LO + df) * (RATE / N_FFT)
        ts.append((ti + lo + dt).astype(np.float32))
        fs.append((BINS_PER_OCTAVE * np.log2(hz / F_MIN)).astype(np.float32))
        prominence = b - background[ti, fi]
        ss.append((prominence + LEVEL_WEIGHT * (b - float(mag.max()))).astype(np.float32))
    if not ts:
        z = np.zeros(0, dtype=np.float32)
        return Peaks(z, z.copy(), z.copy())
    t, f, s = np.concatenate(ts), np.concatenate(fs), np.concatenate(ss)
    keep = _thin(t, s, per_second * BLOCK / FPS)
    order = np.lexsort((f[keep], t[keep]))
    sel = keep[order]
    return Peaks(t[sel], f[sel], s[sel])


def onset_emphasis(
    level: npt.NDArray[np.float32], x0: npt.NDArray[np.float32], y0: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """(level - ONSET_MIX * recent past, filter state per frame): y[t] = ONSET_POLE * y[t-1] +
    level[t] - level[t-1] is the level less its exponential average (a one-pole high-pass
    along time), started from level x0 and output y0 at the frame before the first."""
    level = np.ascontiguousarray(level, dtype=np.float32)
    x0 = np.ascontiguousarray(x0, dtype=np.float32)
    y0 = np.ascontiguousarray(y0, dtype=np.float32)
    if _core is not None:
        out, y = _core.onset_emphasis(level, x0, y0, ONSET_POLE, ONSET_MIX)
        return out, y
    return onset_emphasis_numpy(level, x0, y0)


def onset_emphasis_numpy(
    level: npt.NDArray[np.float32], x0: npt.NDArray[np.float32], y0: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    from scipy.signal import lfilter

    pole = np.float32(ONSET_POLE)
    d = np.diff(level, axis=0, prepend=x0[None, :].astype(np.float32))
    zi = (pole * y0.astype(np.float32))[None, :]
    y, _ = lfilter(np.ones(1, np.float32), np.array([1.0, -pole], np.float32), d, axis=0, zi=zi)
    y = y.astype(np.float32)
    out = np.float32(1.0 - ONSET_MIX) * level + np.float32(ONSET_MIX) * y
    return out.astype(np.float32), y


def local_maxima(mag: npt.NDArray[np.float32], floor: npt.NDArray[np.float32]) -> Any:
    """(frames, bins) of the cells no cell within +-PEAK_T frames and +-PEAK_F bins exceeds,
    above `floor`, borders excluded (they have no neighbours to interpolate with)."""
    mag = np.ascontiguousarray(mag, dtype=np.float32)
    if _core is not None:
        return _core.local_maxima(mag, np.ascontiguousarray(floor), PEAK_T, PEAK_F)
    return local_maxima_numpy(mag, floor)


def local_maxima_numpy(mag: npt.NDArray[np.float32], floor: npt.NDArray[np.float32]) -> Any:
    from scipy.ndimage import maximum_filter

    top = maximum_filter(mag, size=(2 * PEAK_T + 1, 2 * PEAK_F + 1), mode="nearest")
    cand = (mag == top) & (mag > floor)
    cand[[0, -1], :] = False
    cand[:, [0, -1]] = False
    return np.nonzero(cand)


def _parabola(a: Any, b: Any, c: Any) -> Any:
    den = a - 2.0 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(den < 0, 0.5 * (a - c) / den, 0.0)
    return np.clip(d, -0.5, 0.5)


def _thin(t: npt.NDArray[np.float32], s: npt.NDArray[np.float32], per_block: float) -> Any:
    """Indices of the peaks that are among the `per_block` strongest within half a block
    either side of them: a sliding window, so the choice does not depend on where the
    recording (or the excerpt) starts."""
    order = np.argsort(t, kind="stable")
    t, s = t[order], s[order]
    n = t.shape[0]
    keep = np.zeros(n, dtype=bool)
    limit = round(per_block)
    half = BLOCK / 2
    step = 20_000
    for a in range(0, n, step):
        b = min(n, a + step)
        lo = np.searchsorted(t, t[a:b] - half, side="left")
        hi = np.searchsorted(t, t[a:b] + half, side="right")
        width = int((hi - lo).max())
        cols = lo[:, None] + np.arange(width)[None, :]
        inside = cols < hi[:, None]
        cols = np.minimum(cols, n - 1)
        stronger = inside & (s[cols] > s[a:b, None])
        keep[a:b] = stronger.sum(axis=1) < limit
    return order[keep]


# ------------------------------------------------------------------ peak groups and keys


def groups(p: Peaks, fan: int) -> npt.NDArray[np.int64]:
    """Peak indices (anchor, a, b, c), rows in anchor order: each anchor with every 3 of its
    `fan` strongest neighbours in the zone after it, a < b < c in time."""
    n = len(p)
    empty = np.zeros((0, 4), dtype=np.int64)
    if n < 4:
        return empty
    lo = np.searchsorted(p.t, p.t + DT_MIN, side="left")
    hi = np.searchsorted(p.t, p.t + DT_MAX, side="right")
    width = int((hi - lo).max())
    if width < 3:
        return empty
    cols = lo[:, None] + np.arange(width)[None, :]
    valid = cols < hi[:, None]
    cols = np.minimum(cols, n - 1)
    gap = np.abs(p.f[cols] - p.f[:, None])
    valid &= (gap <= DF_MAX) & (gap >= DF_MIN)
    strength = np.where(valid, p.strength[cols], -np.inf)
    k = min(fan, width)
    best = np.argsort(-strength, axis=1, kind="stable")[:, :k]
    nb = np.take_along_axis(cols, best, axis=1)
    ok = np.take_along_axis(valid, best, axis=1)
    out = []
    for combo in itertools.combinations(range(k), 3):
        good = ok[:, combo[0]] & ok[:, combo[1]] & ok[:, combo[2]]
        anchor = np.nonzero(good)[0]
        trio = np.sort(nb[good][:, list(combo)], axis=1)
        out.append(np.concatenate([anchor[:, None], trio], axis=1))
    g = np.concatenate(out)
    t = p.t[g]
    f = p.f[g]
    keep = (
        (t[:, 3] - t[:, 0] >= DT13_MIN)
        & (t[:, 2] - t[:, 1] >= 1.0)
        & (t[:, 3] - t[:, 2] >= 1.0)
        & (np.abs(f[:, 2] - f[:, 1]) >= DF_MIN)
        & (np.abs(f[:, 3] - f[:, 2]) >= DF_MIN)
        & (np.abs(f[:, 3] - f[:, 1]) >= DF_MIN)
    )
    g = g[keep]
    return g[np.lexsort((g[:, 3], g[:, 2], g[:, 1], g[:, 0]))]


def _quantise(
    x: npt.NDArray[np.float64], soft: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Step index of `x` (in steps) and, near an edge, the neighbouring index (else itself)."""
    q = np.floor(x).astype(np.int64)
    if not soft:
        return q, q
    frac = x - q
    alt = np.where(frac < SOFT_EDGE, q - 1, np.where(frac > 1 - SOFT_EDGE, q + 1, q))
    return q, alt


def hashes(
    p: Peaks, g: npt.NDArray[np.int64], soft: bool
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
    """Keys of the peak groups and, per key, its group's row (several keys per row if soft).

    Fields: two time ratios (t_a - t_0) / (t_c - t_0) and (t_b - t_0) / (t_c - t_0), and three
    log-frequency differences to the anchor. Nothing about loudness: which peak is loudest
    changes under reverberation, noise and equalisation (a loudness field lost half the groups
    that survived reverberation on the benchmark)."""
    t = p.t[g].astype(np.float64)
    f = p.f[g].astype(np.float64)
    span = t[:, 3] - t[:, 0]
    fields = [
        (t[:, 1] - t[:, 0]) / span * RATIO_STEPS,
        (t[:, 2] - t[:, 0]) / span * RATIO_STEPS,
        (f[:, 1] - f[:, 0]) / DF_STEP,
        (f[:, 2] - f[:, 0]) / DF_STEP,
        (f[:, 3] - f[:, 0]) / DF_STEP,
    ]
    dims = [_quantise(x, soft) for x in fields]
    rows = np.arange(g.shape[0], dtype=np.uint32)
    # 32-bit keys: ratios 4 bits each, frequency differences 7 bits each, the method's tag in
    # the top 3 bits
    shifts = [np.uint64(0), np.uint64(4), np.uint64(8), np.uint64(15), np.uint64(22)]
    offset = [0, 0, 64, 64, 64]
    top = [15, 15, 127, 127, 127]
    keys, where = [], []
    for choice in itertools.product((0, 1), repeat=len(dims)):
        if sum(choice) > MAX_SOFT:
            continue
        sel = np.ones(g.shape[0], dtype=bool)
        for use_alt, (q, alt) in zip(choice, dims, strict=True):
            if use_alt:
                sel &= alt != q
        if not sel.any():
            continue
        key = np.full(int(sel.sum()), np.uint64(0b101) << np.uint64(29), dtype=np.uint64)
        for use_alt, (q, alt), shift, off, hi in zip(
            choice, dims, shifts, offset, top, strict=True
        ):
            v = (alt if use_alt else q)[sel] + off
            key |= np.clip(v, 0, hi).astype(np.uint64) << shift
        keys.append(key)
        where.append(rows[sel])
    if not keys:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint32)
    return np.concatenate(keys), np.concatenate(where)


def _group_data(p: Peaks, tri: npt.NDArray[np.int64]) -> PeakGroups:
    t1 = p.t[tri[:, 0]]
    return PeakGroups(
        (t1 / FPS).astype(np.float32),
        p.f[tri[:, 0]].astype(np.float32),
        ((p.t[tri[:, 3]] - t1) / FPS).astype(np.float32),
    )


def _samples(signal: Any) -> npt.NDArray[np.float32]:
    rate = getattr(signal, "rate", RATE)
    if rate != RATE:
        raise ValueError(f"audio must be decoded at {RATE} Hz, not {rate} Hz")
    return np.ascontiguousarray(getattr(signal, "samples", signal), dtype=np.float32)


# ------------------------------------------------------------------ the method

_PACK = struct.Struct("<4sII")
_MAGIC = b"AUD3"
#: the last anchor frame a reference can hold (21 bits: 6.7 hours)
_MAX_FRAME = (1 << 21) - 1


class AudioFingerprinter:
    name = "audio"
    version = 2
    media = MediaType.AUDIO
    hash_kind = HashKind.EXACT32

    def _analyse(self, signal: Any, role: Role) -> tuple[Peaks, npt.NDArray[np.int64]]:
        ref = role == Role.REFERENCE
        p = peaks(_samples(signal), REF_PEAKS if ref else QUERY_PEAKS)
        return p, groups(p, REF_FAN if ref else QUERY_FAN)

    def extract(self, signal: Any, role: Role = Role.QUERY) -> Fingerprints:
        p, tri = self._analyse(signal, role)
        soft = role == Role.QUERY
        keys, rows = hashes(p, tri, soft)
        data = _group_data(p, tri)
        # reference positions are peak-group rows (the reference store holds their data);
        # query positions are rows of `data` too
        return Fingerprints(self.name, self.version, keys, rows, data)

    def prepare_reference(self, signal: Any) -> PeakGroups:
        if isinstance(signal, PeakGroups):  # `extract`'s own analysis (`Fingerprints.data`)
            return signal
        p, tri = self._analyse(signal, Role.REFERENCE)
        return _group_data(p, tri)

    def pack_reference(self, prepared: Any) -> bytes:
        """Per anchor 5 bytes: its frame (21 bits) and log-frequency in 1/8 bin (11 bits) in
        one word, and how many of the next peak groups share it (rows run in anchor order);
        per peak group 1 byte: its span in half frames. About 2.2 bytes a group."""
        t: PeakGroups = prepared
        n = len(t)
        frames = np.clip(np.round(t.t1 * FPS), 0, _MAX_FRAME).astype(np.uint32)
        f1 = np.clip(np.round(t.f1 * 8), 0, 2047).astype(np.uint32)
        dt = np.clip(np.round(t.dt * FPS * 2), 0, 255).astype(np.uint8)
        word = (frames << np.uint32(11)) | f1
        new = np.ones(n, dtype=bool)
        new[1:] = word[1:] != word[:-1]
        run = np.cumsum(new) - 1
        first = np.flatnonzero(new)
        new |= (np.arange(n) - first[run]) % 255 == 0  # a run's count fits in a byte
        first = np.flatnonzero(new)
        counts = np.diff(np.append(first, n)).astype(np.uint8)
        return (
            _PACK.pack(_MAGIC, n, first.shape[0])
            + word[first].astype("<u4").tobytes()
            + counts.tobytes()
            + dt.tobytes()
        )

    def unpack_reference(self, data: bytes) -> PeakGroups:
        magic, n, m = _PACK.unpack_from(data, 0)
        if magic != _MAGIC:
            raise ValueError("not an audio reference")
        words = np.frombuffer(data, "<u4", m, _PACK.size)
        counts = np.frombuffer(data, np.uint8, m, _PACK.size + 4 * m)
        dt = np.frombuffer(data, np.uint8, n, _PACK.size + 5 * m)
        word = np.repeat(words, counts)
        return PeakGroups(
            (word >> 11).astype(np.float32) / np.float32(FPS),
            (word & 2047).astype(np.float32) / np.float32(8),
            dt.astype(np.float32) / np.float32(2 * FPS),
        )

    def score(
        self, query: Fingerprints, hits: Hits, references: ReferenceLookup
    ) -> list[Candidate]:
        q: PeakGroups = query.data
        if len(hits) == 0 or q is None:
            return []
        out: list[Candidate] = []
        for doc in _candidates(q, hits):
            ref = references(doc)
            if ref is None:
                continue
            sel = hits.doc == doc
            cand = _score_doc(doc, q, ref, hits.query_pos[sel], hits.ref_pos[sel])
            if cand is not None:
                out.append(cand)
        out.sort(key=lambda c: (c.verdict != Verdict.MATCH, -c.score))
        return out


@dataclass
class _Line:
    scale: float
    offset: float
    pitch: float
    q_times: npt.NDArray[np.float64]  # anchor times of the inliers, query and reference
    r_times: npt.NDArray[np.float64]
    q_start: float
    q_end: float
    inliers: int

    @property
    def spread(self) -> int:
        """Half-seconds of query holding inliers: chance gathers them in one spot."""
        return int(np.unique(np.floor(self.q_times / 0.5)).shape[0])


def _line_of(qt: Any, rt: Any, pitch: float, scale: float, offset: float) -> _Line:
    # one anchor pair matched through several groups is one piece of evidence
    inliers = min(np.unique(qt).shape[0], np.unique(rt).shape[0])
    return _Line(scale, offset, pitch, qt, rt, float(qt.min()), float(qt.max()), int(inliers))


def _candidates(q: PeakGroups, hits: Hits) -> list[int]:
    """References worth aligning, best first: by the most hits that fall, for one stretch of
    the query, within a few seconds of one another in the reference. A copy concentrates its
    hits there; chance spreads them over the whole recording, so a long reference does not win
    by its length. Needs only the query's data and reference rows (rows run in time order)."""
    w = (q.t1[hits.query_pos] // WINDOW).astype(np.int64)
    b = (hits.ref_pos // _ROWS_PER_BUCKET).astype(np.int64)
    key = (hits.doc.astype(np.int64) << 40) | (w << 24) | b
    cells, counts = np.unique(key, return_counts=True)
    total = counts.copy()
    for d in (-1, 1):  # a stretch of query meets up to three neighbouring buckets
        j = np.searchsorted(cells, cells + d)
        j = np.minimum(j, cells.shape[0] - 1)
        total += np.where(cells[j] == cells + d, counts[j], 0)
    docs = (cells >> 40).astype(np.int64)
    order = np.lexsort((-total, docs))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = docs[order][1:] != docs[order][:-1]
    best_docs, best = docs[order][first], total[order][first]
    rank = np.argsort(-best, kind="stable")[:MAX_DOCS]
    return [int(best_docs[i]) for i in rank if best[i] >= MIN_DOC_HITS]


def _score_doc(
    doc: int,
    q: PeakGroups,
    ref: PeakGroups,
    qpos: npt.NDArray[np.uint32],
    rpos: npt.NDArray[np.uint32],
) -> Candidate | None:
    n_ref = len(ref)
    ok = rpos < n_ref
    qpos, rpos = qpos[ok], rpos[ok]
    qt = q.t1[qpos].astype(np.float64)
    rt = ref.t1[rpos].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ls = np.log2(ref.dt[rpos].astype(np.float64) / q.dt[qpos])
    pitch = q.f1[qpos].astype(np.float64) - ref.f1[rpos]
    lp = pitch / BINS_PER_OCTAVE
    # any speed change (pitch follows), and pitch shifts of a few semitones at any tempo: wider
    # pitch shifts at another tempo are harmonic coincidences (a fifth, a third) far more
    # often than copies
    keep = (
        (np.abs(ls) <= MAX_LOG2_SCALE)
        & (np.abs(pitch) <= MAX_PITCH_BINS)
        & ((np.abs(lp) <= MAX_PITCH_SHIFT) | (np.abs(ls - lp) <= SPEED_AXIS_BAND))
    )
    qpos, rpos = qpos[keep], rpos[keep]
    qt, rt, ls, pitch = qt[keep], rt[keep], ls[keep], pitch[keep]
    if qt.shape[0] < MIN_DOC_HITS:
        return None
    lines: list[_Line] = []
    used = np.zeros(qt.shape[0], dtype=bool)
    start = math.floor(float(qt.min()) / WINDOW) * WINDOW
    end = float(qt.max())
    w = start
    while w <= end:
        win = (qt >= w) & (qt < w + WINDOW) & ~used
        for _ in range(3):  # a few lines per window (a repeated chorus, two works)
            line = _best_line(win, qt, rt, ls, pitch, qpos, rpos, w + WINDOW / 2)
            if line is None:
                break
            lines.append(line)
            member = _on_line(line, qt, rt, pitch) & win
            used |= member
            win &= ~member
        w += WINDOW
    lines = _join(lines)
    if not lines:
        return None
    # parallel lines (one scale and pitch, several offsets) are one copy of a recording that
    # repeats itself (a loop, a chorus): their evidence adds up
    groups: list[list[_Line]] = []
    for line in sorted(lines, key=lambda x: -x.inliers):
        for grp in groups:
            head = grp[0]
            if (
                abs(math.log2(line.scale / head.scale)) <= 0.01
                and abs(line.pitch - head.pitch) <= 1.0
            ):
                grp.append(line)
                break
        else:
            groups.append([line])

    def evidence(grp: list[_Line]) -> tuple[int, int]:
        qt = np.concatenate([x.q_times for x in grp])
        rt = np.concatenate([x.r_times for x in grp])
        n = min(np.unique(qt).shape[0], np.unique(rt).shape[0])
        return n, int(np.unique(np.floor(qt / 0.5)).shape[0])

    scored = [(grp, *evidence(grp)) for grp in groups]
    top, inliers, spread = max(scored, key=lambda x: (x[2] >= MIN_SPREAD, x[1]))
    best = top[0]
    if inliers < REVIEW_INLIERS:
        return None
    good = [x for x in top if x.inliers >= REVIEW_INLIERS] or [best]
    good.sort(key=lambda x: x.q_start)
    total = inliers
    needed = MATCH_INLIERS * (1 if _usual(best.scale, best.pitch) else OFF_AXIS_FACTOR)
    sure = inliers >= needed and spread >= MIN_SPREAD
    verdict = Verdict.MATCH if sure else Verdict.REVIEW
    spans = tuple(
        Span(
            round(x.q_start, 2),
            round(x.q_end, 2),
            round(x.scale * x.q_start + x.offset, 2),
            round(x.scale * x.q_end + x.offset, 2),
        )
        for x in good
    )
    return Candidate(
        doc,
        _significance(total),
        verdict,
        spans,
        {
            "inliers": float(total),
            "speed": round(best.scale, 4),
            "pitch": round(2 ** (best.pitch / BINS_PER_OCTAVE), 4),
            "offset": round(best.offset, 3),
        },
    )


def _usual(scale: float, pitch_bins: float) -> bool:
    """Whether a change of speed and pitch is one that copies are made with: played faster
    or slower (both change alike), time-stretched (pitch kept) or pitch-shifted (tempo kept).
    Anything else is possible too, but chance produces it far more often than pirates do."""
    ls = math.log2(max(scale, 1e-9))
    lp = pitch_bins / BINS_PER_OCTAVE
    return min(abs(ls - lp), abs(lp), abs(ls)) <= AXIS_TOLERANCE


def _on_line(line: _Line, qt: Any, rt: Any, pitch: Any) -> Any:
    return (np.abs(rt - (line.scale * qt + line.offset)) <= TIME_TOLERANCE) & (
        np.abs(pitch - line.pitch) <= PITCH_TOLERANCE
    )


def _best_line(
    sel: Any, qt: Any, rt: Any, ls: Any, pitch: Any, qpos: Any, rpos: Any, centre: float
) -> _Line | None:
    idx = np.nonzero(sel)[0]
    if idx.shape[0] < REVIEW_INLIERS:
        return None
    # 1. every hit votes for (scale, pitch, reference time at the window's centre); the cell
    # with the most votes in its 3x3x3 neighbourhood wins
    s_i = np.exp2(ls[idx])
    cells = np.stack(
        [
            np.floor(ls[idx] / SCALE_CELL),
            np.floor(pitch[idx] / PITCH_CELL),
            np.floor((rt[idx] - s_i * (qt[idx] - centre)) / OFFSET_CELL),
        ],
        axis=1,
    ).astype(np.int64)
    best = _best_cell(cells)
    near = np.all(np.abs(cells - best) <= 1, axis=1)
    idx = idx[near]
    if idx.shape[0] < REVIEW_INLIERS:
        return None
    s0 = float(np.exp2(np.median(ls[idx])))
    # 3. refit the line by least squares, then take every hit of the window on it
    line_s, line_o = s0, float(np.median(rt[idx] - s0 * qt[idx]))
    p0 = float(np.median(pitch[idx]))
    members = idx
    for tol in (0.4, 0.2, TIME_TOLERANCE):
        resid = np.abs(rt[sel] - (line_s * qt[sel] + line_o))
        cand = np.nonzero(sel)[0][(resid <= tol) & (np.abs(pitch[sel] - p0) <= PITCH_TOLERANCE)]
        if cand.shape[0] < REVIEW_INLIERS:
            break
        members = cand
        x, y = qt[members], rt[members]
        if float(x.max() - x.min()) > 2.0:
            a, b = np.polyfit(x, y, 1)
            if abs(math.log2(max(a, 1e-6))) <= MAX_LOG2_SCALE:
                line_s, line_o = float(a), float(b)
        else:
            line_o = float(np.median(y - line_s * x))
        p0 = float(np.median(pitch[members]))
    return _line_of(qt[members], rt[members], p0, line_s, line_o)


def _best_cell(cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The cell (row of `cells`) whose 3^d neighbourhood holds the most rows."""
    lo = cells.min(axis=0) - 1
    span = cells.max(axis=0) - lo + 2
    mult = np.cumprod(np.concatenate([[1], span[:-1]]))
    code = ((cells - lo) * mult).sum(axis=1)
    uniq, first, counts = np.unique(code, return_index=True, return_counts=True)
    total = np.zeros(uniq.shape[0], dtype=np.int64)
    for off in itertools.product((-1, 0, 1), repeat=cells.shape[1]):
        shifted = uniq + int((np.array(off) * mult).sum())
        j = np.minimum(np.searchsorted(uniq, shifted), uniq.shape[0] - 1)
        total += np.where(uniq[j] == shifted, counts[j], 0)
    return cells[first[int(np.argmax(total))]]


def _join(lines: list[_Line]) -> list[_Line]:
    """Join lines (of consecutive stretches, or of one stretch) that one line fits: the same
    pitch, and the union of their inliers within twice the tolerance of one refitted line."""
    out: list[_Line] = []
    for line in sorted(lines, key=lambda x: x.q_start):
        for i, prev in enumerate(out):
            if abs(prev.pitch - line.pitch) > PITCH_TOLERANCE:
                continue
            qt = np.concatenate([prev.q_times, line.q_times])
            rt = np.concatenate([prev.r_times, line.r_times])
            if float(qt.max() - qt.min()) > 2.0:
                a, b = (float(v) for v in np.polyfit(qt, rt, 1))
            else:
                a = prev.scale
                b = float(np.median(rt - a * qt))
            if not a > 0 or abs(math.log2(a)) > MAX_LOG2_SCALE:
                continue
            if np.mean(np.abs(rt - (a * qt + b)) <= 2 * TIME_TOLERANCE) < 0.9:
                continue
            pitch = float(
                np.average([prev.pitch, line.pitch], weights=[prev.inliers, line.inliers])
            )
            out[i] = _line_of(qt, rt, pitch, a, b)
            break
        else:
            out.append(line)
    return out


def _significance(inliers: int) -> float:
    """Inliers as a score in [0, 1): 0.5 at the match threshold, approaching 1 above it."""
    return float(1.0 - 0.5 ** (inliers / MATCH_INLIERS))


register(AudioFingerprinter())
