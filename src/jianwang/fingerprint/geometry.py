"""Where the picture is inside a frame: black bars around it, or an inset of it inside
unrelated footage (picture-in-picture).

Black bars (letterbox, pillarbox) are rows and columns at the borders that stay dark;
`content_box` finds them and `crop_bars` cuts them off (the decoder applies it to every frame).

A pirate who shrinks a film into a corner of unrelated footage leaves no whole-frame hash
that matches. What gives the inset away is its boundary: over a few seconds, the content on
either side changes independently, so the time-averaged gradient across the boundary stays
high (two unrelated pictures meet there, often with a drawn border), while the gradients of
moving content average out. `find_insets` looks for four such ridges that close an axis-
aligned rectangle of plausible size, per window of a few seconds, and places each side to a
fraction of a pixel (a copy's hash moves with every percent of misplacement). The caller
hashes what is inside each found box as one more view of those frames.

Pure numpy/OpenCV: frames in, boxes out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

#: a row or column of the border is "black" when its brightest pixel is below this
_BAR_LEVEL = 40
#: bars never take more than this share of either dimension (a dark frame is not all bars),
#: or _MAX_CENTRED_BAR when they are centred (a wide film letterboxed into 4:3 and squeezed)
_MAX_BAR = 0.35
_MAX_CENTRED_BAR = 0.55
#: seconds of frames whose gradients are averaged, and the step between windows
WINDOW = 10.0
WINDOW_STEP = 5.0
#: fewest frames a window needs (a ridge over two frames is only an edge)
MIN_FRAMES = 8
#: an inset's width and height, as a share of the frame's
MIN_SIDE = 0.2
MAX_SIDE = 0.8
#: at most this ratio between an inset's width and height (as shares of the frame's)
MAX_ASPECT = 3.0
#: lines (columns and rows) kept as candidate sides, and how far apart (pixels)
CANDIDATES = 10
SEPARATION = 3
#: a side's ridge must stand this many times above the frame's typical ridge, on average
#: along the side, and cover this share of it (a boundary runs the whole side)
MIN_CONTRAST = 4.0
MIN_COVER = 0.5
#: a side this close to the frame's edge (share) is the frame's, not an inset's; an inset
#: may run off the frame on at most MAX_OPEN_SIDES sides
EDGE = 0.01
MAX_OPEN_SIDES = 1
#: boxes overlapping more than this (intersection over union) are one box: a picture below a
#: title bar makes two boxes a few pixels apart, and only one of them is the picture
SAME_BOX = 0.95
#: a side is a line running through when, past both its corners, the ridge keeps this share
#: of its strength along the side
THROUGH = 0.5


def content_box(grey: npt.NDArray[np.uint8]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the picture inside black bars: rows and columns at the
    borders whose brightest pixel stays below `_BAR_LEVEL` are bars, up to `_MAX_BAR` of the
    dimension each way (a dark scene is not taken for bars)."""
    h, w = grey.shape
    rows = grey.max(axis=1) >= _BAR_LEVEL
    cols = grey.max(axis=0) >= _BAR_LEVEL
    if not rows.any() or not cols.any():
        return 0, h, 0, w
    top, bottom = int(np.argmax(rows)), h - int(np.argmax(rows[::-1]))
    left, right = int(np.argmax(cols)), w - int(np.argmax(cols[::-1]))
    if not _plausible_bars(top, h - bottom, h):
        top, bottom = 0, h
    if not _plausible_bars(left, w - right, w):
        left, right = 0, w
    # a bar boundary is soft after scaling: step one more pixel in
    if top > 0:
        top = min(top + 1, bottom - 1)
    if bottom < h:
        bottom = max(bottom - 1, top + 1)
    if left > 0:
        left = min(left + 1, right - 1)
    if right < w:
        right = max(right - 1, left + 1)
    return top, bottom, left, right


def _plausible_bars(a: int, b: int, side: int) -> bool:
    """Bars of `a` and `b` pixels on opposite sides: up to `_MAX_BAR` of the side in all, or up
    to `_MAX_CENTRED_BAR` when they are about equal (a letterboxed picture is centred; a dark
    scene with one bright corner is not)."""
    total = a + b
    if total <= _MAX_BAR * side:
        return True
    return total <= _MAX_CENTRED_BAR * side and abs(a - b) <= 0.05 * side


def crop_bars(
    grey: npt.NDArray[np.uint8], side: int = 64, box: tuple[int, int, int, int] | None = None
) -> npt.NDArray[np.uint8]:
    """`grey` without its black bars (`box` from `content_box`, found when not given), scaled
    to side x side (area interpolation)."""
    import cv2

    top, bottom, left, right = content_box(grey) if box is None else box
    inner = grey[top:bottom, left:right]
    return np.ascontiguousarray(cv2.resize(inner, (side, side), interpolation=cv2.INTER_AREA))


@dataclass(frozen=True)
class Inset:
    """Frames shown from `start` to `end` (seconds) hold a picture inside `box`: (left, top,
    right, bottom) as shares of the frame's width and height."""

    start: float
    end: float
    box: tuple[float, float, float, float]
    strength: float


def _ridges(
    frames: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Time-averaged absolute gradients across columns (n x n-1: between column x and x+1)
    and across rows (n-1 x n)."""
    f = frames.astype(np.float32)
    gx = np.abs(np.diff(f, axis=2)).mean(axis=0)
    gy = np.abs(np.diff(f, axis=1)).mean(axis=0)
    return gx, gy


def _ridge(e: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """How much each column of `e` stands above its neighbours two columns away (a line one
    or two pixels wide), row by row; a boundary that falls between pixels spreads over two
    columns, so adjacent columns are summed first."""
    pair = e.copy()
    pair[:, :-1] += e[:, 1:]
    pad = np.pad(pair, ((0, 0), (3, 3)), mode="edge")
    side = np.maximum(pad[:, 1:-5], pad[:, 5:-1])
    return np.clip(pair - side, 0.0, None)


def _candidates(score: npt.NDArray[np.float64], lo: int, hi: int, limit: int) -> list[int]:
    """The strongest lines between `lo` and `hi`, at least SEPARATION apart."""
    order = np.argsort(-score)
    out: list[int] = []
    for i in order:
        i = int(i)
        if i < lo or i > hi or score[i] <= 0:
            continue
        if all(abs(i - j) >= SEPARATION for j in out):
            out.append(i)
        if len(out) >= limit:
            break
    return out


def _refine(profile: npt.NDArray[np.float64], i: int, inward: int) -> float:
    """Sub-pixel position of the boundary near line `i` of `profile` (mean gradient across
    the side; index k is the edge between pixel k and k + 1). A lone edge is placed by the
    parabola through its peak. A drawn border makes a run of strong edges (footage | border
    | inset): the picture starts at the run's innermost edge."""
    n = profile.shape[0]
    lo, hi = max(i - 1, 1), min(i + 2, n - 2)
    if lo > hi:
        return float(i + 1)
    k = lo + int(np.argmax(profile[lo : hi + 1]))
    strong = 0.5 * profile[k]
    j = k
    while 0 < j + inward < n and abs(j + inward - k) <= 2 and profile[j + inward] >= strong:
        j += inward
    if j != k:
        return float(j + 1)
    a, b, c = profile[k - 1], profile[k], profile[k + 1]
    den = a - 2 * b + c
    off = 0.5 * (a - c) / den if den < 0 else 0.0
    return k + 1 + float(np.clip(off, -0.5, 0.5))


Box = tuple[float, float, float, float]


def find_boxes(
    frames: npt.NDArray[np.uint8],
    min_frames: int = MIN_FRAMES,
    limit: int = 1,
    candidates: int = CANDIDATES,
) -> list[tuple[Box, float]]:
    """Up to `limit` inset boxes (left, top, right, bottom as shares) in a stack of frames
    of one window (or one still picture, `min_frames` 1), strongest first, each with its
    strength (the weakest side's contrast); boxes that mostly overlap a stronger one are
    left out."""
    n, h, w = frames.shape
    if n < min_frames:
        return []
    gx, gy = _ridges(frames)
    rx = _ridge(gx)  # h x (w - 1): vertical boundaries
    ry = _ridge(gy.T).T  # (h - 1) x w: horizontal boundaries
    typical = float(np.mean(np.concatenate([rx.ravel(), ry.ravel()]))) + 1e-3
    # in edge coordinates (edge e lies between pixel e - 1 and e; 0 and w are the frame's
    # own edges, where a picture cut off by the frame ends: they count as present)
    big = 1e6
    rxe = np.pad(rx, ((0, 0), (1, 1)), constant_values=big)  # h x (w + 1)
    rye = np.pad(ry, ((1, 1), (0, 0)), constant_values=big)  # (h + 1) x w
    cx = np.cumsum(np.pad(rxe, ((1, 0), (0, 0))), axis=0)  # [row, edge]: sum over rows < row
    cy = np.cumsum(np.pad(rye, ((0, 0), (1, 0))), axis=1)  # [edge, col]: sum over cols < col
    hx = np.cumsum(np.pad(rxe > MIN_CONTRAST * typical, ((1, 0), (0, 0))), axis=0)
    hy = np.cumsum(np.pad(rye > MIN_CONTRAST * typical, ((0, 0), (1, 0))), axis=1)
    ex, ey = max(2, round(EDGE * w)), max(2, round(EDGE * h))
    # candidate sides: columns and rows by their strongest run of a plausible length
    span_x = max(2, round(MIN_SIDE * h))
    span_y = max(2, round(MIN_SIDE * w))
    col = (cx[span_x:, :] - cx[:-span_x, :]).max(axis=0) / span_x
    row = (cy[:, span_y:] - cy[:, :-span_y]).max(axis=1) / span_y
    xs = _snap(_candidates(col.astype(np.float64), 1, w - 1, candidates), ex, w)
    ys = _snap(_candidates(row.astype(np.float64), 1, h - 1, candidates), ey, h)
    # every pair of columns and every pair of rows of a plausible size, all boxes at once
    x0, x1 = (v.ravel() for v in np.meshgrid(xs, xs, indexing="ij"))
    keep = (x1 - x0 >= MIN_SIDE * w) & (x1 - x0 <= MAX_SIDE * w)
    x0, x1 = x0[keep][:, None], x1[keep][:, None]
    y0, y1 = (v.ravel() for v in np.meshgrid(ys, ys, indexing="ij"))
    keep = (y1 - y0 >= MIN_SIDE * h) & (y1 - y0 <= MAX_SIDE * h)
    y0, y1 = y0[keep][None, :], y1[keep][None, :]
    if x0.shape[0] == 0 or y0.shape[1] == 0:
        return []
    ratio = ((x1 - x0) / w) / ((y1 - y0) / h)
    sides = np.stack(
        [
            (cx[y1, x0] - cx[y0, x0]) / (y1 - y0),
            (cx[y1, x1] - cx[y0, x1]) / (y1 - y0),
            (cy[y0, x1] - cy[y0, x0]) / (x1 - x0),
            (cy[y1, x1] - cy[y1, x0]) / (x1 - x0),
        ]
    )
    cover = np.stack(
        [
            (hx[y1, x0] - hx[y0, x0]) / (y1 - y0),
            (hx[y1, x1] - hx[y0, x1]) / (y1 - y0),
            (hy[y0, x1] - hy[y0, x0]) / (x1 - x0),
            (hy[y1, x1] - hy[y1, x0]) / (x1 - x0),
        ]
    )
    # a side whose line runs on past both its corners is a longer line (a title bar, a
    # divider), not the edge of a picture
    reach_x = np.maximum(3, (0.1 * (x1 - x0)).astype(np.int64))
    reach_y = np.maximum(3, (0.1 * (y1 - y0)).astype(np.int64))

    def run(c: npt.NDArray[Any], at: Any, lo: Any, hi: Any, rows: bool) -> Any:
        lo, hi = (
            np.clip(lo, 0, c.shape[0 if rows else 1] - 1),
            np.clip(hi, 0, c.shape[0 if rows else 1] - 1),
        )
        span = np.maximum(hi - lo, 1)
        total = (c[hi, at] - c[lo, at]) if rows else (c[at, hi] - c[at, lo])
        return np.where(hi > lo, total / span, 0.0)

    through = np.stack(
        [
            np.minimum(run(cx, x0, y0 - reach_y, y0, True), run(cx, x0, y1, y1 + reach_y, True))
            / np.maximum(sides[0], 1e-6),
            np.minimum(run(cx, x1, y0 - reach_y, y0, True), run(cx, x1, y1, y1 + reach_y, True))
            / np.maximum(sides[1], 1e-6),
            np.minimum(run(cy, y0, x0 - reach_x, x0, False), run(cy, y0, x1, x1 + reach_x, False))
            / np.maximum(sides[2], 1e-6),
            np.minimum(run(cy, y1, x0 - reach_x, x0, False), run(cy, y1, x1, x1 + reach_x, False))
            / np.maximum(sides[3], 1e-6),
        ]
    ).max(axis=0)
    open_sides = (x0 == 0).astype(int) + (x1 == w).astype(int) + (y0 == 0).astype(int) + (y1 == h)
    weakest = sides.min(axis=0) / typical
    ok = (
        (weakest >= MIN_CONTRAST)
        & (cover.min(axis=0) >= MIN_COVER)
        & (open_sides <= MAX_OPEN_SIDES)
        & (through < THROUGH)
        & (ratio <= MAX_ASPECT)
        & (ratio >= 1 / MAX_ASPECT)
    )
    out: list[tuple[Box, float]] = []
    taken: list[tuple[int, int, int, int]] = []
    # closed boxes first: a side on the frame's edge is only taken when no line closes it
    rank = np.where(ok, weakest - 1e9 * open_sides, -np.inf)
    order = np.argsort(-rank, axis=None)
    for flat in order[: 8 * limit + 8]:
        i, j = np.unravel_index(flat, ok.shape)
        if not ok[i, j]:
            break
        box = (int(x0[i, 0]), int(y0[0, j]), int(x1[i, 0]), int(y1[0, j]))
        if any(_overlap(box, other) > SAME_BOX for other in taken):
            continue
        taken.append(box)
        out.append((_place(gx, gy, box, w, h), float(weakest[i, j])))
        if len(out) >= limit:
            break
    return out


def _snap(lines: list[int], margin: int, side: int) -> npt.NDArray[np.int64]:
    """Candidate lines plus the frame's own edges; a line within `margin` of an edge is that
    edge (a picture that runs off the frame)."""
    snapped = {0, side}
    for x in lines:
        snapped.add(0 if x < margin else side if x > side - margin else x)
    return np.asarray(sorted(snapped), dtype=np.int64)


def _overlap(p: tuple[int, int, int, int], q: tuple[int, int, int, int]) -> float:
    """Intersection over union of two boxes (left, top, right, bottom)."""
    iw = max(0, min(p[2], q[2]) - max(p[0], q[0]))
    ih = max(0, min(p[3], q[3]) - max(p[1], q[1]))
    inter = iw * ih
    union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter
    return inter / union if union > 0 else 0.0


def _place(
    gx: npt.NDArray[np.float32],
    gy: npt.NDArray[np.float32],
    box: tuple[int, int, int, int],
    w: int,
    h: int,
) -> Box:
    """Each side of a box found on whole lines (edge coordinates), placed to a fraction of
    a pixel on the plain gradient profile along it; the frame's own edges stay."""
    x0, y0, x1, y1 = box
    px = gx[max(y0, 0) : y1, :].mean(axis=0).astype(np.float64)
    py = gy[:, x0:x1].mean(axis=1).astype(np.float64)
    left = 0.0 if x0 == 0 else _refine(px, x0 - 1, 1)
    right = float(w) if x1 == w else _refine(px, x1 - 1, -1)
    top = 0.0 if y0 == 0 else _refine(py, y0 - 1, 1)
    bottom = float(h) if y1 == h else _refine(py, y1 - 1, -1)
    return (left / w, top / h, right / w, bottom / h)


def find_box(
    frames: npt.NDArray[np.uint8], min_frames: int = MIN_FRAMES
) -> tuple[Box, float] | None:
    """The strongest inset box of a window, or None."""
    found = find_boxes(frames, min_frames)
    return found[0] if found else None


def find_insets(times: npt.NDArray[np.float32], frames: npt.NDArray[np.uint8]) -> list[Inset]:
    """Insets found in overlapping windows of WINDOW seconds; each covers its window's
    frames. Windows that find the same box (within a pixel) merge."""
    if frames.shape[0] == 0:
        return []
    _, h, w = frames.shape
    t = np.asarray(times, dtype=np.float64)
    out: list[Inset] = []
    start = float(t[0])
    last = float(t[-1])
    while True:
        sel = np.flatnonzero((t >= start) & (t < start + WINDOW))
        if sel.shape[0] >= MIN_FRAMES:
            found = find_box(frames[sel])
            if found is not None:
                box, strength = found
                t0, t1 = float(t[sel[0]]), float(t[sel[-1]])
                same = out[-1] if out else None
                if (
                    same is not None
                    and same.end >= t0
                    and max(
                        abs(p - q) * s for p, q, s in zip(same.box, box, (w, h, w, h), strict=True)
                    )
                    <= 1.0
                ):
                    out[-1] = Inset(same.start, t1, same.box, max(same.strength, strength))
                else:
                    out.append(Inset(t0, t1, box, strength))
        if start + WINDOW >= last:
            break
        start += WINDOW_STEP
    return out


def cut(
    picture: npt.NDArray[np.uint8], box: tuple[float, float, float, float], side: int
) -> npt.NDArray[np.uint8]:
    """What `picture` shows inside `box` (shares, fractional pixels honoured), side x side."""
    import cv2

    h, w = picture.shape
    left, top, right, bottom = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    sx, sy = (right - left) / side, (bottom - top) / side
    src = picture
    if sx > 1.5 or sy > 1.5:  # shrinking: smooth first so that the sampling does not alias
        k = max(sx, sy)
        src = np.asarray(cv2.GaussianBlur(picture, (0, 0), 0.5 * k), dtype=np.uint8)
    m = np.array([[sx, 0.0, left + 0.5 * sx - 0.5], [0.0, sy, top + 0.5 * sy - 0.5]])
    out = cv2.warpAffine(
        src,
        m,
        (side, side),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.ascontiguousarray(out, dtype=np.uint8)
