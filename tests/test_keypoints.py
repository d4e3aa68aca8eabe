"""The keypoint method's own parts (small generated pictures): which pairs it checks, in which
order it checks references, smooth pictures, spread of keypoints, small pictures inside
screenshots."""

from __future__ import annotations

import cv2
import numpy as np

from jianwang.domain import Verdict
from jianwang.fingerprint import keypoints as K
from jianwang.fingerprint.base import Hits, Role
from jianwang.media.video import decode_image
from tests import video_fixtures as vf


def _hits(rows: list[tuple[int, int, int, int]]) -> Hits:
    """(query keypoint, doc, reference keypoint, distance) rows."""
    a = np.asarray(rows, dtype=np.int64)
    return Hits(
        a[:, 0].astype(np.uint32),
        a[:, 1].astype(np.uint32),
        a[:, 2].astype(np.uint32),
        a[:, 3].astype(np.uint16),
    )


def test_pairs_keep_the_closest_partner_that_passes_the_ratio_test() -> None:
    hits = _hits([
        (0, 1, 5, 20), (0, 1, 6, 50),  # clear best in doc 1: kept (5)
        (1, 1, 7, 30), (1, 1, 8, 31),  # two near-equal partners (a repeated texture): dropped
        (2, 2, 9, 40),                 # alone in doc 2: kept
    ])  # fmt: skip
    pairs = K._pairs(hits)
    assert pairs is not None
    qpos, doc, rpos, dist, _ranked = pairs
    got = sorted(zip(qpos.tolist(), doc.tolist(), rpos.tolist(), dist.tolist(), strict=True))
    assert got == [(0, 1, 5, 20.0), (2, 2, 9, 40.0)]


def test_references_are_ranked_by_nearest_neighbour_votes_not_raw_hits() -> None:
    # doc 1: many loose hits (an ordinary, busy picture); doc 2: the closest partner of
    # the same three query keypoints
    rows = [(q, 1, 10 * q + k, d) for q in range(3) for k, d in enumerate((40, 60, 61, 62, 63))]
    rows += [(q, 2, q, 10) for q in range(3)]
    pairs = K._pairs(_hits(rows))
    assert pairs is not None
    assert pairs[4].tolist() == [2]


def test_smooth_pictures_still_have_keypoints() -> None:
    """A gradient with soft blobs (a wallpaper) has few corners at the usual FAST threshold:
    the faint ones are taken too."""
    h, w = 360, 512
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = 90 + 60 * np.sin(xx / 70) * np.cos(yy / 50) + 0.15 * xx
    rng = np.random.default_rng(3)
    for _ in range(25):
        cv2.circle(img, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(8, 30)),
                   float(rng.integers(80, 170)), -1)  # fmt: skip
    img = cv2.GaussianBlur(img, (0, 0), 3).astype(np.uint8)
    strict = cv2.ORB_create(nfeatures=K.REF_FEATURES, fastThreshold=K.FAST_THRESHOLD)
    assert len(strict.detect(img, None)) < K.REF_FEATURES // 2
    xy, desc = K.orb(img, K.REF_FEATURES, K.REF_EXTRA)
    assert desc.shape[0] >= K.REF_FEATURES // 2 and xy.shape == (desc.shape[0], 2)


def test_spread_keeps_the_strongest_and_fills_bare_cells() -> None:
    kps = [cv2.KeyPoint(10 + i % 20, 10 + i // 20, 7, -1, 100 - i * 0.01) for i in range(400)]
    kps += [cv2.KeyPoint(450 + i, 300, 7, -1, 1.0) for i in range(10)]  # weak, far corner
    chosen = K._spread(kps, 50, 10, (360, 512))
    assert len(chosen) == 60
    assert chosen[:50] == kps[:50]  # the strongest first, in order
    quota = -(-60 // (K.GRID * K.GRID))
    assert sum(k.pt[0] >= 450 for k in chosen) == quota  # the bare cell got its share


def _shot(pic: np.ndarray, share: float) -> np.ndarray:
    """`pic` at `share` of a 1280 x 800 window's height, beside a sidebar of text."""
    canvas = np.full((800, 1280, 3), 240, np.uint8)
    canvas[:36] = (60, 63, 70)
    for i in range(12):
        cv2.putText(canvas, f"item {i} ......", (16, 80 + 40 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (40, 40, 40), 1)  # fmt: skip
    ph = int(800 * share)
    pw = int(ph * pic.shape[1] / pic.shape[0])
    canvas[60 : 60 + ph, 400 : 400 + pw] = cv2.resize(pic, (pw, ph), interpolation=cv2.INTER_AREA)
    return canvas


def _decode(rgb: np.ndarray) -> object:
    ok, buf = cv2.imencode(".png", rgb[:, :, ::-1])
    assert ok
    return decode_image(buf.tobytes())


def test_a_portrait_picture_small_in_a_screenshot_is_matched() -> None:
    """A portrait picture shown at under a third of the screenshot's long side (scale ~0.25
    of the reference): within the transform's bounds, and verified."""
    poster = vf.picture(91, (360, 540))
    method = K.KeypointFingerprinter()
    ref = method.extract(_decode(poster), Role.REFERENCE)
    query = method.extract(_decode(_shot(poster, 0.5)), Role.QUERY)
    rd = np.ascontiguousarray(ref.codes).view(np.uint8).reshape(-1, 32)
    qd = np.ascontiguousarray(query.codes).view(np.uint8).reshape(-1, 32)
    rows = [
        (m.queryIdx, 1, m.trainIdx, int(m.distance))
        for ms in cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(qd, rd, k=2)
        for m in ms
        if m.distance <= K.RADIUS
    ]
    (cand,) = method.score(query, _hits(rows), lambda doc: ref.data)
    assert cand.verdict == Verdict.MATCH
    assert 0.15 < cand.evidence["scale"] < 0.4, cand.evidence
