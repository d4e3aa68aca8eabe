"""The keypoint method: still images (posters, stills, comics, photographs) by local features,
so that a crop, a screenshot (the picture inside a window), an overlay or a frame around it
still matches.

Extraction
    ORB keypoints (OpenCV: FAST corners with a 256-bit rotated-BRIEF descriptor, over a
    scale pyramid) of the grey picture in its own proportions, long side at most `SIDE`
    pixels (a smooth picture is searched again at a low FAST threshold). A reference keeps its
    `REF_FEATURES` strongest plus `REF_EXTRA` where those leave a part of the picture bare, a
    query `QUERY_FEATURES` (+ `QUERY_EXTRA`); a query also describes its mirror image (flipped
    copies) and, when decoded that large, itself at `DETAIL_SIDE` (a small picture inside a
    screenshot). Descriptors are the codes (hash kind `hamming256`); keypoint positions,
    scaled to the picture's long side, are the data.

Scoring
    The index answers every reference descriptor within `RADIUS` bits of a query descriptor.
    Per query keypoint and reference the closest partner is kept if it passes a ratio test
    within that reference (`RATIO`), and references are checked in the order of the query
    keypoints whose closest partner they hold (`_pairs`). Per reference (the first
    `MAX_REFERENCES`) and orientation, the pairs are checked geometrically: RANSAC fits a
    similarity transform (scale, rotation, translation: what cropping, scaling into a
    screenshot and re-framing do) and counts the pairs it explains within `REPROJECTION` of
    the picture's size. Chance pairs do not agree on one
    transform, so a match needs `MATCH_INLIERS` of them (`REVIEW_INLIERS` for review); when
    all pairs give none, RANSAC is tried again on the `CLOSEST` closest pairs.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..domain import MediaType, Verdict
from .base import Candidate, Fingerprints, HashKind, Hits, ReferenceLookup, Role, register

#: pictures narrower than this (pixels) have no local features worth matching (a sprite
#: strip, an icon); ORB's scale pyramid fails on them
MIN_SIDE = 32
#: FAST corner threshold (grey levels); a smooth picture (a sky, a gradient wallpaper) with
#: fewer corners than features wanted is searched again at `FAST_LOW`
FAST_THRESHOLD = 12
FAST_LOW = 3
#: keypoints detected per keypoint kept, and the grid they are spread over
CANDIDATES = 4
GRID = 4
#: long side of the picture described; a query is also described at `DETAIL_SIDE` when
#: the decoded picture is that large
SIDE = 512
DETAIL_SIDE = 1024
REF_FEATURES = 300
QUERY_FEATURES = 1000
#: keypoints added where the strongest leave a part of the picture bare (see `_spread`)
REF_EXTRA = 200
QUERY_EXTRA = 300
#: descriptor distance (bits of 256) for a candidate pair
RADIUS = 64
#: references checked per query, and the pairs kept per query keypoint and reference
MAX_REFERENCES = 16
#: RANSAC: a pair agrees with the transform within this share of the reference's long side
REPROJECTION = 0.012
#: the transform's scale (query size per reference size) must be within these bounds
MIN_SCALE, MAX_SCALE = 0.15, 3.5
MATCH_INLIERS = 15
REVIEW_INLIERS = 9
#: RANSAC is tried again on this many closest pairs when all of them give no match
CLOSEST = 150
#: a pair is kept when its distance is under this share of the next closest keypoint's of
#: the same reference (Lowe's ratio test, within one reference)
RATIO = 0.85
#: a query keypoint votes for the references within this many bits of its closest one
VOTE_MARGIN = 4


@dataclass(frozen=True)
class Keypoints:
    """Per keypoint: position (x, y) in units of the picture's long side, and whether it was
    found in the mirror image (queries only)."""

    xy: npt.NDArray[np.float32]
    mirrored: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.xy.shape[0])


def _shrunk(pic: npt.NDArray[np.uint8], side: int) -> npt.NDArray[np.uint8]:
    if max(pic.shape) <= side:
        return pic
    import cv2

    k = side / max(pic.shape)
    size = (max(1, round(pic.shape[1] * k)), max(1, round(pic.shape[0] * k)))
    return np.ascontiguousarray(cv2.resize(pic, size, interpolation=cv2.INTER_AREA))


def orb(
    picture: npt.NDArray[np.uint8], features: int, extra: int = 0
) -> tuple[Any, npt.NDArray[np.uint8]]:
    """(keypoint positions in pixels (n, 2), descriptors (n, 32)): the `features` strongest
    keypoints and `extra` more where the picture has few of them (see `_spread`)."""
    import cv2

    pic = np.ascontiguousarray(picture)
    total = features + extra
    detector = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=total * (CANDIDATES if extra else 1),
        scaleFactor=1.2,
        nlevels=8,
        fastThreshold=FAST_THRESHOLD,
    )
    kps = list(detector.detect(pic, None))
    if len(kps) < total:  # a smooth picture: its faint corners too
        detector.setFastThreshold(FAST_LOW)
        kps = list(detector.detect(pic, None))
    kps, desc = detector.compute(pic, _spread(kps, features, extra, pic.shape))
    if desc is None or not kps:
        return np.zeros((0, 2), dtype=np.float32), np.zeros((0, 32), dtype=np.uint8)
    xy = np.asarray([k.pt for k in kps], dtype=np.float32)
    return xy, np.asarray(desc, dtype=np.uint8)


def _spread(kps: list[Any], features: int, extra: int, shape: tuple[int, ...]) -> list[Any]:
    """The `features` strongest keypoints, then `extra` more, the strongest of the cells
    of a `GRID` x `GRID` grid that hold fewer than their share: corners bunch up in textured
    parts (or on an overlay's text), and a crop or an overlay that removes those would leave
    little to match. The strongest stay first: they survive shrinking (a screenshot)."""
    total = features + extra
    if len(kps) <= total:
        return kps
    h, w = shape[:2]
    order = sorted(range(len(kps)), key=lambda i: -kps[i].response)
    quota = -(-total // (GRID * GRID))
    count: dict[int, int] = {}

    def cell(i: int) -> int:
        x, y = kps[i].pt
        return min(GRID - 1, int(y * GRID / h)) * GRID + min(GRID - 1, int(x * GRID / w))

    chosen = order[:features]
    for i in chosen:
        count[cell(i)] = count.get(cell(i), 0) + 1
    rest: list[int] = []
    for i in order[features:]:
        if len(chosen) >= total:
            break
        c = cell(i)
        if count.get(c, 0) < quota:
            count[c] = count.get(c, 0) + 1
            chosen.append(i)
        else:
            rest.append(i)
    chosen += rest[: max(0, total - len(chosen))]
    return [kps[i] for i in chosen]


_PACK = struct.Struct("<4sI")
_MAGIC = b"KPT1"


class KeypointFingerprinter:
    name = "keypoints"
    version = 1
    media = MediaType.IMAGE
    hash_kind = HashKind.HAMMING256
    radius = RADIUS

    def extract(self, signal: Any, role: Role = Role.QUERY) -> Fingerprints:
        picture = getattr(signal, "picture", None)
        empty = Fingerprints(
            self.name,
            self.version,
            np.zeros((0, 4), dtype=np.uint64),
            np.zeros(0, dtype=np.uint32),
            Keypoints(np.zeros((0, 2), dtype=np.float32), np.zeros(0, dtype=bool)),
        )
        if picture is None:
            return empty
        pic = np.asarray(picture, dtype=np.uint8)
        if min(pic.shape) < MIN_SIDE:  # a strip or an icon: ORB's pyramid would be empty
            return empty
        ref = role == Role.REFERENCE
        small = _shrunk(pic, SIDE)
        views = [(small, False)]
        if not ref:
            views.append((np.ascontiguousarray(small[:, ::-1]), True))
            if max(pic.shape) > SIDE:  # a small picture inside a screenshot: finer detail
                views.append((_shrunk(pic, DETAIL_SIDE), False))
        xys, descs, flags = [], [], []
        for view, mirrored in views:
            xy, desc = (
                orb(view, REF_FEATURES, REF_EXTRA)
                if ref
                else orb(view, QUERY_FEATURES, QUERY_EXTRA)
            )
            xys.append(xy / float(max(view.shape)))
            descs.append(desc)
            flags.append(np.full(xy.shape[0], mirrored, dtype=bool))
        desc = np.concatenate(descs)
        if desc.shape[0] == 0:
            return empty
        codes = np.ascontiguousarray(desc).view(np.uint64).reshape(-1, 4)
        data = Keypoints(np.concatenate(xys).astype(np.float32), np.concatenate(flags))
        positions = np.arange(codes.shape[0], dtype=np.uint32)
        return Fingerprints(self.name, self.version, codes, positions, data)

    def prepare_reference(self, signal: Any) -> Keypoints:
        if isinstance(signal, Keypoints):
            return signal
        data = self.extract(signal, Role.REFERENCE).data
        assert isinstance(data, Keypoints)
        return data

    def pack_reference(self, prepared: Any) -> bytes:
        """Keypoint positions as float16 pairs: 4 bytes per keypoint."""
        k: Keypoints = prepared
        return _PACK.pack(_MAGIC, len(k)) + np.ascontiguousarray(k.xy, dtype=np.float16).tobytes()

    def unpack_reference(self, data: bytes) -> Keypoints:
        magic, n = _PACK.unpack_from(data)
        if magic != _MAGIC:
            raise ValueError("not a keypoint-method reference")
        xy = np.frombuffer(data, np.float16, 2 * n, _PACK.size).reshape(n, 2).astype(np.float32)
        return Keypoints(xy, np.zeros(n, dtype=bool))

    def score(
        self, query: Fingerprints, hits: Hits, references: ReferenceLookup
    ) -> list[Candidate]:
        q: Keypoints = query.data
        if len(hits) == 0:
            return []
        pairs = _pairs(hits)
        if pairs is None:
            return []
        qpos, doc_of, rpos, dist, votes = pairs
        out: list[Candidate] = []
        for doc in votes[:MAX_REFERENCES]:
            ref = references(int(doc))
            if ref is None:
                continue
            sel = (doc_of == doc) & (rpos < len(ref))  # a stale store: skip those
            best: tuple[int, float, bool] | None = None
            for mirrored in (False, True):
                part = sel & (q.mirrored[qpos] == mirrored)
                found = _verify(q.xy[qpos[part]], ref.xy[rpos[part]], dist[part])
                if found is not None and (best is None or found[0] > best[0]):
                    best = (found[0], found[1], mirrored)
            if best is None or best[0] < REVIEW_INLIERS:
                continue
            inliers, scale, mirrored = best
            out.append(
                Candidate(
                    int(doc),
                    1.0 - 0.5 ** (inliers / MATCH_INLIERS),
                    Verdict.MATCH if inliers >= MATCH_INLIERS else Verdict.REVIEW,
                    (),
                    {
                        "inliers": float(inliers),
                        "scale": round(scale, 3),
                        "mirrored": float(mirrored),
                    },
                )
            )
        out.sort(key=lambda c: (c.verdict != Verdict.MATCH, -c.score))
        return out


def _pairs(
    hits: Hits,
) -> (
    tuple[
        npt.NDArray[np.uint32],
        npt.NDArray[np.uint32],
        npt.NDArray[np.uint32],
        npt.NDArray[np.float64],
        npt.NDArray[np.uint32],
    ]
    | None
):
    """The pairs worth a geometric check, and the references in the order to check them.

    Per query keypoint and reference, the closest reference keypoint, kept when it passes a
    ratio test against the next closest *other* keypoint of that reference (`RATIO`; a pair
    with no rival within the radius passes): a keypoint on a repeated texture matches many
    reference keypoints about equally and says little. References are ranked by how many
    query keypoints have their closest reference descriptor (within `VOTE_MARGIN` bits of
    their best over all references) in them: raw hit counts favour references with many
    ordinary descriptors over the one the query shows."""
    dist = hits.distances()
    qp = hits.query_pos.astype(np.int64)
    doc = hits.doc.astype(np.int64)
    # sort by (query keypoint, doc, distance)
    order = np.lexsort((dist, doc, qp))
    qp, doc, rp, dist = qp[order], doc[order], hits.ref_pos[order], dist[order]
    first = np.ones(qp.shape[0], dtype=bool)
    first[1:] = (qp[1:] != qp[:-1]) | (doc[1:] != doc[:-1])
    idx = np.flatnonzero(first)
    # the runner-up in the same (query keypoint, doc) group, if any
    has_second = np.zeros(idx.shape[0], dtype=bool)
    nxt = idx + 1
    ok = nxt < qp.shape[0]
    has_second[ok] = ~first[nxt[ok]]
    second = np.full(idx.shape[0], np.inf)
    second[has_second] = dist[nxt[has_second]]
    keep = dist[idx] < RATIO * second
    idx = idx[keep]
    if idx.shape[0] == 0:
        return None
    bq, bd, br, bdist = qp[idx], doc[idx], rp[idx], dist[idx]
    # votes: per query keypoint, the docs within VOTE_MARGIN of its best distance
    best_q = np.full(int(bq.max()) + 1, np.inf)
    np.minimum.at(best_q, bq, bdist)
    voting = bdist <= best_q[bq] + VOTE_MARGIN
    docs, counts = np.unique(bd[voting], return_counts=True)
    ranked = docs[np.argsort(-counts, kind="stable")].astype(np.uint32)
    return bq.astype(np.uint32), bd.astype(np.uint32), br, bdist, ranked


def _verify(
    qxy: npt.NDArray[np.float32], rxy: npt.NDArray[np.float32], d: npt.NDArray[np.float64]
) -> tuple[int, float] | None:
    """(inliers, scale) of the similarity transform most pairs agree on; a query keypoint
    and a reference keypoint count once each."""

    if qxy.shape[0] < REVIEW_INLIERS:
        return None
    # the closest pairs first, so that duplicates keep their best partner
    order = np.argsort(d, kind="stable")
    qxy, rxy = qxy[order], rxy[order]
    _, uq = np.unique(np.round(qxy * 4096), axis=0, return_index=True)
    keep = np.zeros(qxy.shape[0], dtype=bool)
    keep[uq] = True
    qxy, rxy = qxy[keep], rxy[keep]
    if qxy.shape[0] < REVIEW_INLIERS:
        return None
    best: tuple[int, float] | None = None
    # all pairs, then (when that falls short) the closest: among many chance pairs (a small
    # picture inside a screenshot) RANSAC's samples rarely draw two true ones
    for n_pairs in (qxy.shape[0], CLOSEST):
        if n_pairs > qxy.shape[0] or (n_pairs < qxy.shape[0] and best and best[0] >= MATCH_INLIERS):
            continue
        found = _ransac(qxy, rxy, n_pairs)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best


def _ransac(
    qxy: npt.NDArray[np.float32], rxy: npt.NDArray[np.float32], n_pairs: int
) -> tuple[int, float] | None:
    """RANSAC on the first `n_pairs` pairs; (inliers among all pairs, scale)."""
    import cv2

    model, inl = cv2.estimateAffinePartial2D(
        qxy[:n_pairs].astype(np.float32),
        rxy[:n_pairs].astype(np.float32),
        method=cv2.RANSAC,
        ransacReprojThreshold=REPROJECTION,
        maxIters=2000,
        confidence=0.995,
    )
    if model is None or inl is None:
        return None
    scale = math.hypot(float(model[0, 0]), float(model[1, 0]))
    if scale <= 0 or not (MIN_SCALE <= 1.0 / scale <= MAX_SCALE):
        return None
    mapped = qxy @ model[:, :2].T.astype(np.float32) + model[:, 2].astype(np.float32)
    mask = np.hypot(*(mapped - rxy).T) <= REPROJECTION
    if mask.sum() == 0:
        return None
    # a reference keypoint explains one query keypoint
    n = int(np.unique(np.round(rxy[mask] * 4096), axis=0).shape[0])
    return n, 1.0 / scale


register(KeypointFingerprinter())
