"""The window method's hashing (pure numpy): a crop's middle found in a query's windows."""

from __future__ import annotations

import numpy as np

from jianwang.fingerprint import windows as W
from jianwang.fingerprint.visual import hamming
from tests import video_fixtures as vf


def _grey(seed: int, size: int = 256) -> np.ndarray:
    import cv2

    pic = vf.picture(seed, (size, size))
    return np.asarray(cv2.cvtColor(pic, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def _resize(img: np.ndarray, side: int) -> np.ndarray:
    import cv2

    return np.asarray(cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def test_a_crops_window_holds_the_references_middle() -> None:
    """A 20 % crop at a random place, scaled back up: one of the query's windows (the one
    over the reference's middle) is a few bits from the middle's code; an unrelated
    picture's windows are not."""
    rng = np.random.default_rng(4)
    for seed in range(4):
        full = _grey(seed)
        ref = W.middle_codes(_resize(full, 64)[None])[0]
        ox, oy = rng.uniform(0, 0.2, 2)
        side = full.shape[0]
        crop = full[
            int(oy * side) : int((oy + 0.8) * side), int(ox * side) : int((ox + 0.8) * side)
        ]
        codes, usable = W.window_codes(_resize(crop, 128)[None])
        near = min(hamming(codes[0, i], ref) for i in np.flatnonzero(usable[0]))
        other, ok = W.window_codes(_resize(_grey(seed + 50), 128)[None])
        far = min(hamming(other[0, i], ref) for i in np.flatnonzero(ok[0]))
        assert near <= 16 < far, (seed, near, far)


def test_window_codes_do_not_depend_on_the_frames_resolution() -> None:
    """The area DCT integrates each basis function over each pixel's share of the window:
    the same picture at 64 and at 128 pixels gives nearly the same codes."""
    pic = _grey(7)
    small, _ = W.window_codes(_resize(pic, 64)[None])
    large, _ = W.window_codes(_resize(pic, 128)[None])
    dist = [hamming(a, b) for a, b in zip(small[0], large[0], strict=True)]
    assert float(np.median(dist)) <= 4, np.median(dist)


def test_featureless_windows_are_not_hashed() -> None:
    flat = np.full((1, 128, 128), 90, dtype=np.uint8)
    _, usable = W.window_codes(flat)
    assert not usable.any()
    _, busy = W.window_codes(_resize(_grey(3), 128)[None])
    assert busy.mean() > 0.9


def test_steady_keeps_the_hits_at_one_place() -> None:
    """Hits from the windows around the place most hits agree on stay; a chance hit at the
    other end of the frame goes."""
    table = W._table()
    here = int(
        np.argmin(np.abs(table[:, 0] - 0.1) + np.abs(table[:, 1] - 0.1) + (table[:, 2] != 0.72))
    )
    there = int(np.argmin(np.abs(table[:, 0] - 0.3) + np.abs(table[:, 1] - 0.3)))
    parts = np.array([here] * 6 + [there], dtype=np.uint16)
    d = np.array([3, 4, 5, 3, 6, 2, 1], dtype=np.float64)
    keep = W.steady(parts, d)
    assert keep[:6].all() and not keep[6]


def test_codes_computed_on_demand_are_the_codes_of_every_window() -> None:
    """A query's codes are computed when the lookup asks for some rows (`WindowCodes`): any
    rows, in any order, repeated or not, give what hashing every window gives, and so does
    the whole array."""
    frames = np.stack([_resize(_grey(seed), 128) for seed in range(5)])
    every, _ = W.window_codes(frames)
    n_win = len(W.windows())
    frame, part = np.divmod(np.arange(frames.shape[0] * n_win), n_win)
    lazy = W.WindowCodes(frames, frame, part)
    assert len(lazy) == frame.shape[0] and lazy.shape == (frame.shape[0], W.WORDS)
    rows = np.random.default_rng(2).permutation(frame.shape[0])[:700]
    rows = np.concatenate([rows, rows[:50]])
    assert np.array_equal(lazy[rows], every[frame[rows], part[rows]])
    assert np.array_equal(lazy[7], every[0, 7])
    assert np.array_equal(np.asarray(lazy), every.reshape(-1, W.WORDS))
    assert lazy[np.zeros(0, dtype=np.int64)].shape == (0, W.WORDS)


def test_window_quality_is_the_steps_of_each_window() -> None:
    """Quality from integral images equals the direct sum of steps inside each window."""
    frames = np.stack([_resize(_grey(seed), 128) for seed in range(2)])
    boxes = list(W.windows())[::37]
    q = W.window_quality(frames, boxes)
    f = frames.astype(np.float64)
    for j, b in enumerate(boxes):
        y0, y1 = round(b.y * 128), round((b.y + b.side) * 128)
        x0, x1 = round(b.x * 128), round((b.x + b.side) * 128)
        steps = np.zeros(2)
        for i in range(2):
            inside = f[i]
            dy = np.abs(inside[:-1, :] - inside[1:, :])[y0:y1, x0:x1]
            dx = np.abs(inside[:, :-1] - inside[:, 1:])[y0:y1, x0:x1]
            steps[i] = dy.sum() + dx.sum()
        want = np.minimum(100.0, steps * 100 / 255 * 64 / (x1 - x0) / 90)
        assert np.allclose(q[:, j], want)
