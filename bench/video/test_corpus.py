"""The corpus split keeps material that shares content on one side (small generated pictures,
no downloads): a photo derived from another (a crop, a filtered copy) and a still of a video."""

from __future__ import annotations

import json
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


def test_image_exclusions_link_crops_stills_and_one_tutorials_pictures() -> None:
    """A crop of a registered picture and a still of a reference video are excluded from the
    image negatives (the ORB check), unrelated pictures are not; pictures of one tutorial
    (same package and directory, names starting alike or numbered steps) are one source."""
    a, c, d = _busy(21), _busy(23), _busy(24)
    crop = cv2.resize(c[30:330, 40:440], (480, 360), interpolation=cv2.INTER_CUBIC)
    small_d = cv2.resize(d, (320, 240), interpolation=cv2.INTER_AREA)
    negs = [_busy(22), crop, small_d, _busy(25)]
    found = C.cross_links(negs, [True] * len(negs), [a, c], [[_busy(27), d]])
    assert set(found) == {1, 2}, found
    assert found[1][:2] == ("photo", 1) and found[2][:2] == ("video", 0)
    assert all(n >= C.LINK_INLIERS for _k, _j, n in found.values())
    # without the whole ORB check (the split's own negatives) no video frame is looked at
    assert set(C.cross_links(negs, [False] * len(negs), [a, c], [[d]])) <= {1}

    def ph(path: str, package: str = "opencv-doc") -> C.Photo:
        return C.Photo(f"{package}/{Path(path).name}", Path(path), 640, 480, package)

    assert C._same_tutorial(ph("/d/text_motion.jpg"), ph("/d/text_defocus.jpg"))
    assert C._same_tutorial(ph("/d/02_single_image_view.jpg"), ph("/d/04_default_filter_view.jpg"))
    assert C._same_tutorial(ph("/d/Water_dt.jpg"), ph("/d/water_result.jpg"))
    assert not C._same_tutorial(ph("/d/text_motion.jpg"), ph("/e/text_defocus.jpg"))
    assert not C._same_tutorial(ph("/d/text_motion.jpg"), ph("/d/text_defocus.jpg", "other"))
    assert not C._same_tutorial(ph("/d/lena.jpg"), ph("/d/baboon.jpg"))
    assert not C._same_tutorial(ph("/d/230501201_1.jpg"), ph("/d/04_default_filter_view.jpg"))


def test_manifest_round_trip_and_old_manifests_are_not_reused(tmp_path: Path) -> None:
    pics = []
    for i in range(4):
        p = tmp_path / f"p{i}.png"
        cv2.imwrite(str(p), _busy(30 + i, 320, 240))
        pics.append(C.Photo(f"t/p{i}.png", p, 320, 240, "t"))
    corpus = C.Corpus([], [], pics[:1], pics[1:2], {"t": "1"}, tmp_path, [], pics[:1],
                      pics[2:], {"t/p3.png": "shares content with t/p0.png"})  # fmt: skip
    assert [p.name for p in corpus.image_negatives()] == ["t/p1.png", "t/p2.png"]
    manifest = tmp_path / "corpus.json"
    C._save(corpus, manifest)
    back = C.load(manifest)
    assert back is not None
    assert back.extra_neg_photos == corpus.extra_neg_photos
    assert back.image_excluded == corpus.image_excluded
    assert back.film_photos == corpus.film_photos
    data = json.loads(manifest.read_text())
    del data["extra_neg_photos"]
    manifest.write_text(json.dumps(data))
    assert C.load(manifest) is None  # a manifest without the image negatives' fields
