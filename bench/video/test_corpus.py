"""The corpus split keeps material that shares content on one side (small generated pictures,
no downloads): a photo derived from another (a crop, a filtered copy) and a still of a video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bench.video import corpus as C


def _busy(seed: int, w: int = 480, h: int = 360) -> np.ndarray:
    """A picture with many corners (rectangles and discs of random colours)."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 128, np.uint8)
    for _ in range(120):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        s = int(rng.integers(6, 40))
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(img, (x, y), (x + s, y + s // 2 + 3), col, -1)
    for _ in range(40):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(img, (x, y), int(rng.integers(4, 20)), col, -1)
    return img


def test_derived_pictures_and_stills_are_linked_unrelated_ones_are_not() -> None:
    a, b, c = _busy(1), _busy(2), _busy(3)
    crop = cv2.resize(a[40:320, 60:420], (540, 420), interpolation=cv2.INTER_CUBIC)
    blurred = cv2.GaussianBlur(a, (3, 3), 0)
    frames_with_c = [_busy(10), cv2.resize(c, (320, 240), interpolation=cv2.INTER_AREA)]
    pp, pv = C.content_links([a, b, c, crop, blurred], [[_busy(11), _busy(12)], frames_with_c])
    assert set(pp) == {(0, 3), (0, 4), (3, 4)}, pp
    assert set(pv) == {(2, 1)}, pv
    assert all(n >= C.LINK_INLIERS for n in [*pp.values(), *pv.values()])


def _photo(name: str, side: int = 100) -> C.Photo:
    return C.Photo(name, Path(f"/nonexistent/{name}"), side, side, "test")


def test_groups_land_on_one_side() -> None:
    photos = [_photo(f"p{i:03d}", 100 + i) for i in range(400)]
    groups = [[0, 1, 2], [3, 4], [5], [6], *[[i] for i in range(7, 400)]]
    videos_of: list[set[str]] = [set(), set(), {"ref-video"}, {"pool-video"}]
    videos_of += [set() for _ in groups[4:]]
    refs, films, negs, left_out = C.split_photos(photos, groups, videos_of, {"ref-video"})
    assert len(refs) == C.N_REF_PHOTOS and len(films) == C.N_FILM_REF_PHOTOS
    assert photos[5] in left_out  # content of a registered video: neither side
    assert photos[6] in negs  # content of a pool video: never registered
    for g in groups[:2]:
        members = [photos[i] for i in g]
        registered = [p for p in members if p in refs or p in films]
        if registered:  # one member registered (the largest), the rest left out
            assert registered == [max(members, key=lambda p: p.width)]
            assert not any(p in negs for p in members)
        else:
            assert all(p in negs for p in members)
    # deterministic
    assert C.split_photos(photos, groups, videos_of, {"ref-video"})[0] == refs


def test_videos_linked_through_a_photo_share_a_side() -> None:
    vids = [
        C.Video(f"pkg/v{i}.mp4", Path(f"/x/v{i}"), 60.0, 320, 240, 25.0, "pkg") for i in range(8)
    ]
    for _ in range(3):
        refs, pool = C._split_real(vids, [["pkg/v1.mp4", "pkg/v6.mp4"]])
        names = {v.name for v in refs}
        assert ("pkg/v1.mp4" in names) == ("pkg/v6.mp4" in names)
        assert refs and pool
