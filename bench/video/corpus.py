"""Real-video and photograph corpus for the video/image identification benchmark.

Everything comes from Debian packages, fetched with ``apt-get download`` and unpacked with
``dpkg -x`` into the cache (never into the repository):

Real video (``VIDEO_PACKAGES``): ``openboard-common`` (a 180 s animation), ``opencv-doc`` (the
*Megamind* trailer excerpt, street footage ``vtest.avi``, ``tree.avi``), ``planetblupi-common``
(game cutscenes), ``fillets-ng-data`` (the intro film), ``lebiniou-data`` (visualiser renders),
``python3-imageio`` (``cockatoo.mp4``, a hand-held clip). Files that PyAV cannot decode, shorter
than ``MIN_VIDEO_SECONDS`` or smaller than ``MIN_VIDEO_SIDE`` are skipped; GIFs are ignored.

Photographs (``PHOTO_PACKAGES``): desktop wallpapers that are photographs (``mate-backgrounds``,
``ukui-wallpapers``, ``lomiri-wallpapers-16.04``/``-20.04``), scikit-image's sample photographs
(``python3-skimage``, a fixed list of the photographic ones) and the JPEG photographs in
``opencv-doc``. Images smaller than ``MIN_PHOTO_SIDE`` are skipped, and near-duplicates (PDQ
distance <= ``DUP_DISTANCE`` on a 512-px copy: the same wallpaper at several resolutions, a doc
photo and its processed result) and opencv-doc photo series (``left01``…``right14`` stereo
calibration shots, ``aloeL``/``aloeR``, ``scenetext01``…``06``) are collapsed to the largest
member. Photos that still share content (a tutorial result and its input, a stitch and its
halves, a blend, a frame of a real video) are linked by ``content_links`` and split as groups
(``split_photos``), so that no negative shares content with a reference.

Image negatives only (``extra_neg_photos``, corpus v3): photographs of ten more packages
(``EXTRA_PHOTO_SOURCES``), never registered, never in a film and not part of the split; and a
wider check (``image_exclusions``) that drops any image negative sharing content with a
registered item (``image_excluded``). The video side is the same as without them.

Split (deterministic, seeded with ``SPLIT_SEED``):

* Real videos are grouped (``Megamind.avi``/``Megamind_bugy.avi`` are one group), shuffled, and
  groups go to the *pool* (filler and negatives, never registered) until it holds
  ``POOL_FRACTION`` of the real seconds; the rest are *references*.
* Photo groups are shuffled: ``N_REF_PHOTOS`` become image references, ``N_FILM_REF_PHOTOS``
  feed the synthetic reference films (one member per group each), the rest are unrelated
  photographs (image negatives, and the material of the synthetic negative films). A group
  that shows a reference video is left out, one that shows a pool video is unrelated, and
  videos linked through a photo share a side.
* Real video is short (about 11 minutes in all), so the corpus adds **synthetic** films built
  from photographs with fast cuts, motion, fades and dark scenes (``media.photo_film``):
  ``N_SYNTH_REFS`` reference films of ``SYNTH_REF_SECONDS`` (from their own photos) and as many
  negative films of ``SYNTH_NEG_SECONDS`` as needed for ``MIN_NEGATIVE_SECONDS`` of negatives.
  Every item carries ``synthetic: true/false``.

Cache layout (``$JIANWANG_BENCH_CACHE/video`` or ``~/.cache/jianwang-bench/video``)::

    downloads/             *.deb from ``apt-get download``
    extracted/<package>/   ``dpkg -x`` output (``.done`` marks a complete extraction)
    films/                 synthetic films (H.264 MP4, 640×360, 25 fps)
    links/                 content links and image exclusions (minutes to compute)
    corpus-v3.json         the manifest; reused when every listed file exists
    corpus-v3-nofilms.json the same split without the synthetic films (``--no-films``)

Command line: ``python -m bench.video.corpus [--cache DIR] [--rebuild] [--quiet] [--smoke DIR]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from bench import debian
from bench.video.media import Writer, load_photo, photo_film, probe, texture

#: 3: + ``film_photos``, ``extra_neg_photos`` and ``image_excluded`` (image negatives only; the
#: video split, the films and the video queries' key are those of version 2)
CORPUS_VERSION = 3
VIDEO_PACKAGES = (
    "openboard-common",
    "opencv-doc",
    "planetblupi-common",
    "fillets-ng-data",
    "lebiniou-data",
    "python3-imageio",
)
PHOTO_PACKAGES = (
    "mate-backgrounds",
    "ukui-wallpapers",
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "python3-skimage",
    "opencv-doc",
)
#: Photographs used only as image negatives (``extra_neg_photos``): never registered, never
#: in a film, never part of the split above (the video side of the corpus is the same with or
#: without them). Per package, the files that are photographs (checked by eye on contact sheets;
#: drawings, renders, abstract art, icons, screenshots, noise crops and 16-bit files left out),
#: as glob patterns under the package root; names are ``package/<path under the base>``.
EXTRA_PHOTO_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    # KDE Plasma wallpapers: the photographic ones (the rest are renders and drawings)
    "plasma-workspace-wallpapers": ("usr/share/wallpapers", tuple(
        f"{w}/contents/images/*" for w in (
            "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow",
            "FallenLeaf", "Grey", "OneStandsOut", "Path", "summer_1am"))),
    # KPhotoAlbum's demo album: holiday and party snapshots
    "kphotoalbum": ("usr/share/kphotoalbum", ("demo/*.jpg",)),
    # Tux Paint's photographic templates (bark, cliff, waves, trees, sheep, a lighthouse...)
    "tuxpaint-data": ("usr/share/tuxpaint", ("templates/*.jpg",)),
    # Palapeli's jigsaw photos (a castle, a bridge, fruit, a bee, a chameleon)
    "palapeli-data": ("usr/share/palapeli", ("collection/*.jpg",)),
    "python3-sklearn": ("usr/lib/python3/dist-packages/sklearn/datasets/images", ("*.jpg",)),
    "python-matplotlib-data": ("usr/share/matplotlib/mpl-data/sample_data",
                               ("grace_hopper.jpg",)),
    # one of the four tone curves of the same bluebells photo
    "imagemagick-6-doc": ("usr/share/doc/imagemagick-6-common/html/images",
                          ("bluebells_clipped.jpg",)),
    # phone snapshots (dogs, a street, a circuit board, a table)
    "forensics-samples-files": ("usr/share/forensics-samples/original-files", ("pic*/IMG*",)),
    # 500-px photographs (8-bit sRGB copies) and the flower photo of the JPEG XL test data
    "libjxl-testdata": ("usr/share/libjxl-testdata",
                        ("external/wesaturate/500px/*_srgb8.png", "jxl/flower/flower.png")),
    # Stellarium: photographic panorama tiles (a field, a meadow, a snowy ridge, Mars, the
    # Moon) and telescope photographs of deep-sky objects (every ``NEBULA_EVERY``-th in name
    # order, so that star fields do not outnumber everyday photographs)
    "stellarium-data": ("usr/share/stellarium", (
        "landscapes/garching/*.png", "landscapes/guereins/*.png",
        "landscapes/hurricane/*.png", "landscapes/mars/mars.png",
        "landscapes/moon/apollo17.png", "nebulae/default/*.png")),
}  # fmt: skip
NEBULA_EVERY = 4
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".mpg", ".mpeg", ".ogv", ".webm", ".mov"})
#: scikit-image sample images that are photographs (the rest are drawings, charts, text).
SKIMAGE_PHOTOS = frozenset({
    "astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
    "camera.png", "coins.png", "moon.png", "hubble_deep_field.jpg", "retina.jpg", "ihc.png",
    "gravel.png", "brick.png", "grass.png", "cell.png", "microaneurysms.png",
})  # fmt: skip
MIN_VIDEO_SECONDS = 5.0
MIN_VIDEO_SIDE = 160
MIN_PHOTO_SIDE = 240
DUP_DISTANCE = 60
POOL_FRACTION = 0.3
N_REF_PHOTOS = 100
N_FILM_REF_PHOTOS = 40
N_SYNTH_REFS = 4
SYNTH_REF_SECONDS = 90.0
SYNTH_NEG_SECONDS = 180.0
MIN_NEGATIVE_SECONDS = 31 * 60.0
FILM_SIZE = (640, 360)
FILM_FPS = 25.0
SPLIT_SEED = "jianwang-bench-video-v1"
#: opencv-doc photo series (stereo pairs, numbered shots of one scene) collapse to one member.
_SERIES_RE = re.compile(r"(left|right|[lr]$|[ab]$|_?\d+$)")
#: Content links (``content_links``): ORB features of every photo and of a frame every
#: ``LINK_FRAME_EVERY`` seconds of every real video, on a copy at most ``LINK_SIDE`` px long;
#: every photo is checked against every other photo and every frame (Lowe ratio
#: ``LINK_RATIO``, RANSAC homography within ``LINK_REPROJECTION`` px) and linked at
#: ``LINK_INLIERS`` inliers spread over the picture (``LINK_SPREAD``): a tutorial result and
#: its input, a stitch and its halves, an exposure strip and its fusion, a still and the video
#: it was taken from. Generous on purpose (a spurious link only moves a photo to the other
#: side of the split), and independent of the methods under test (plain OpenCV, own settings).
#: Cost: about 4 minutes for ~300 photos and ~11 minutes of video on two cores (once: cached).
LINK_SIDE = 512
LINK_FEATURES = 500
LINK_FRAME_EVERY = 4.0
LINK_RATIO = 0.8
LINK_REPROJECTION = 4.0
LINK_INLIERS = 12
LINK_SPREAD = 0.001
#: a pair of photos with ``LINK_CANDIDATE_MATCHES`` ratio-tested matches of which RANSAC
#: kept ``LINK_CANDIDATE_RAW`` (before the checks) is checked again closer: up to
#: ``LINK_CLOSE_FEATURES`` features of a ``LINK_CLOSE_SIDE`` copy (a blend, a re-rendered
#: scene: few of the 500 strongest corners survive, many of the weaker ones do)
LINK_CANDIDATE_MATCHES = 10
LINK_CANDIDATE_RAW = 6
LINK_CLOSE_SIDE = 768
LINK_CLOSE_FEATURES = 2000


@dataclass(frozen=True, slots=True)
class Video:
    """One video file: ``name`` is ``package/file`` (or ``synthetic/...``), unique."""

    name: str
    path: Path
    seconds: float
    width: int
    height: int
    fps: float
    package: str
    synthetic: bool = False
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Video:
        return cls(**{**d, "path": Path(d["path"])})


@dataclass(frozen=True, slots=True)
class Photo:
    name: str
    path: Path
    width: int
    height: int
    package: str

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Photo:
        return cls(**{**d, "path": Path(d["path"])})


@dataclass(slots=True)
class Corpus:
    """References (registered) and a disjoint pool (filler + negatives, never registered)."""

    references: list[Video]
    pool: list[Video]
    ref_photos: list[Photo]
    neg_photos: list[Photo]
    packages: dict[str, str] = field(default_factory=dict)
    root: Path | None = None
    #: photos kept out of the split: content of a registered item (see ``split_photos``)
    left_out: list[Photo] = field(default_factory=list)
    #: the photos of the synthetic reference films (registered in the full run)
    film_photos: list[Photo] = field(default_factory=list)
    #: unrelated photographs used only as image negatives (``EXTRA_PHOTO_SOURCES``)
    extra_neg_photos: list[Photo] = field(default_factory=list)
    #: names of ``neg_photos`` / ``extra_neg_photos`` dropped from the image negatives because
    #: they share content with a registered item (``image_exclusions``), with the reason
    image_excluded: dict[str, str] = field(default_factory=dict)

    def image_negatives(self) -> list[Photo]:
        """The image negatives: ``neg_photos`` then ``extra_neg_photos``, less
        ``image_excluded``."""
        return [p for p in [*self.neg_photos, *self.extra_neg_photos]
                if p.name not in self.image_excluded]  # fmt: skip

    def stats(self) -> dict[str, Any]:
        def side(vs: list[Video]) -> dict[str, Any]:
            real = [v for v in vs if not v.synthetic]
            by_pkg: dict[str, int] = {}
            for v in vs:
                by_pkg[v.package] = by_pkg.get(v.package, 0) + 1
            return {
                "videos": len(vs),
                "hours": round(sum(v.seconds for v in vs) / 3600, 3),
                "real_videos": len(real),
                "real_minutes": round(sum(v.seconds for v in real) / 60, 2),
                "synthetic_minutes": round(sum(v.seconds for v in vs if v.synthetic) / 60, 2),
                "by_package": dict(sorted(by_pkg.items())),
            }

        return {
            "references": side(self.references),
            "pool": side(self.pool),
            "ref_photos": len(self.ref_photos),
            "neg_photos": len(self.neg_photos),
            "left_out_photos": len(self.left_out),
            "extra_neg_photos": len(self.extra_neg_photos),
            "image_excluded": len(self.image_excluded),
            "image_neg_photos": len(self.image_negatives()),
            "packages": self.packages,
        }


class CorpusError(RuntimeError):
    """The corpus could not be built."""


def default_cache_dir() -> Path:
    """``$JIANWANG_BENCH_CACHE/video`` or ``~/.cache/jianwang-bench/video``."""
    env = os.environ.get("JIANWANG_BENCH_CACHE")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "jianwang-bench"
    return root / "video"


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"[video-corpus] {msg}", file=sys.stderr, flush=True)


def fetch(package: str, cache: Path, quiet: bool) -> tuple[Path, str]:
    """``apt-get download`` + ``dpkg -x`` ``package`` into the cache; (root, version)."""
    try:
        return debian.fetch(package, cache, lambda m: _log(m, quiet))
    except debian.FetchError as e:
        raise CorpusError(str(e)) from e


# --------------------------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------------------------


def _group(v: Video) -> str:
    """Items sharing content must stay on one side of the split."""
    stem = Path(v.name).stem.lower()
    if stem.startswith("megamind"):
        return "opencv-doc/megamind"
    return v.name


def list_videos(package: str, root: Path, quiet: bool) -> list[Video]:
    out: list[Video] = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in VIDEO_EXTENSIONS:
            continue
        try:
            pr = probe(p)
            with av.open(str(p)) as c:  # decodes at least one frame
                next(c.decode(video=0))
        except (av.error.FFmpegError, IndexError, StopIteration, ValueError):
            _log(f"skipping unreadable {p.name}", quiet)
            continue
        if pr.seconds < MIN_VIDEO_SECONDS or min(pr.width, pr.height) < MIN_VIDEO_SIDE:
            _log(f"skipping small {p.name} ({pr.seconds:.1f} s, {pr.width}x{pr.height})", quiet)
            continue
        out.append(
            Video(
                f"{package}/{p.name}",
                p,
                round(pr.seconds, 3),
                pr.width,
                pr.height,
                round(pr.fps, 3),
                package,
            )
        )
    return out


def _photo_candidates(package: str, root: Path) -> list[Path]:
    exts = {".jpg", ".jpeg"} if package == "opencv-doc" else {".jpg", ".jpeg", ".png"}
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in exts or p.stat().st_size < 15_000:
            continue
        if package == "python3-skimage" and (
            p.parent.name != "data" or p.name not in SKIMAGE_PHOTOS
        ):
            continue
        out.append(p)
    return out


def _pdq_bits(img: np.ndarray) -> np.ndarray:
    import pdqhash

    h, _q = pdqhash.compute(np.ascontiguousarray(img))
    return np.asarray(h, dtype=bool)


def list_photos(packages: dict[str, Path], quiet: bool) -> list[Photo]:
    """Photographs of the packages, near-duplicates collapsed to the largest member."""
    photos: list[Photo] = []
    hashes: list[np.ndarray] = []
    for package, root in packages.items():
        for p in _photo_candidates(package, root):
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is None or min(img.shape[:2]) < MIN_PHOTO_SIDE:
                continue
            small = load_photo(p, 512)
            photos.append(Photo(f"{package}/{p.name}", p, img.shape[1], img.shape[0], package))
            hashes.append(_pdq_bits(small))
    if not photos:
        return []
    bits = np.stack(hashes)
    dist = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    parent = list(range(len(photos)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(dist <= DUP_DISTANCE, 1)), strict=True):
        parent[find(int(i))] = find(int(j))
    series: dict[str, int] = {}
    for i, ph in enumerate(photos):
        if ph.package == "opencv-doc":  # left01..right14, scenetext01..06, aloeL/aloeR, ...
            stem = Path(ph.name).stem.lower()
            # left01..left14 -> "left", 01..12 -> "(numbered)": one series each
            key = _SERIES_RE.sub("", stem) or re.sub(r"\d+$", "", stem) or "(numbered)"
            parent[find(i)] = find(series.setdefault(key, i))
    groups: dict[int, list[int]] = {}
    for i in range(len(photos)):
        groups.setdefault(find(i), []).append(i)
    kept = []
    for members in groups.values():
        members.sort(key=lambda i: (-photos[i].width * photos[i].height, photos[i].name))
        kept.append(photos[members[0]])
    dropped = len(photos) - len(kept)
    _log(f"{len(kept)} photographs ({dropped} near-duplicates dropped)", quiet)
    return sorted(kept, key=lambda p: p.name)


def _extra_candidates(package: str, root: Path) -> list[Path]:
    base, patterns = EXTRA_PHOTO_SOURCES[package]
    out: list[Path] = []
    for pattern in patterns:
        found = sorted(p for p in (root / base).glob(pattern) if p.is_file())
        if pattern.startswith("nebulae/"):
            found = found[::NEBULA_EVERY]
        out.extend(found)
    return list(dict.fromkeys(out))


def list_extra_photos(
    packages: dict[str, Path], known: Sequence[Photo], quiet: bool
) -> list[Photo]:
    """The photographs of ``EXTRA_PHOTO_SOURCES`` (8-bit, at least ``MIN_PHOTO_SIDE`` and 15 kB),
    near-duplicates collapsed to the largest member (PDQ distance <= ``DUP_DISTANCE``, as in
    ``list_photos``) and any near-duplicate of a ``known`` photo (the split's) dropped."""
    photos: list[Photo] = []
    hashes: list[np.ndarray] = []
    for package, root in packages.items():
        base = root / EXTRA_PHOTO_SOURCES[package][0]
        for p in _extra_candidates(package, root):
            if p.stat().st_size < 15_000:
                continue
            img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
            if img is None or img.dtype != np.uint8 or min(img.shape[:2]) < MIN_PHOTO_SIDE:
                continue
            name = f"{package}/{p.relative_to(base).as_posix()}"
            photos.append(Photo(name, p, img.shape[1], img.shape[0], package))
            hashes.append(_pdq_bits(load_photo(p, 512)))
    if not photos:
        return []
    bits = np.stack(hashes)
    dist = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    edges = [(int(i), int(j)) for i, j in zip(*np.nonzero(np.triu(dist <= DUP_DISTANCE, 1)),
                                               strict=True)]  # fmt: skip
    kept = []
    for members in _components(len(photos), edges):
        members.sort(key=lambda i: (-photos[i].width * photos[i].height, photos[i].name))
        kept.append(members[0])
    known_bits = np.stack([_pdq_bits(load_photo(p.path, 512)) for p in known]) if known else None
    out = []
    for i in kept:
        if known_bits is not None and int((known_bits != bits[i]).sum(-1).min()) <= DUP_DISTANCE:
            _log(
                f"extra photo {photos[i].name}: a near-duplicate of a corpus photo, dropped", quiet
            )
            continue
        out.append(photos[i])
    _log(f"{len(out)} extra photographs ({len(photos) - len(kept)} near-duplicates collapsed, "
         f"{len(kept) - len(out)} copies of corpus photos dropped)", quiet)  # fmt: skip
    return sorted(out, key=lambda p: p.name)


# --------------------------------------------------------------------------------------------
# Content links: which photos (and real videos) share content
# --------------------------------------------------------------------------------------------


def _link_features(
    rgb: np.ndarray, side: int = LINK_SIDE, features: int = LINK_FEATURES, fast: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """ORB (positions in px of a ``LINK_SIDE`` copy, descriptors) of a grey copy at most
    ``side`` px long."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    k = side / max(grey.shape)
    if k < 1:
        grey = cv2.resize(grey, (max(1, round(grey.shape[1] * k)), max(1, round(grey.shape[0] * k))),
                          interpolation=cv2.INTER_AREA)  # fmt: skip
    orb = cv2.ORB_create(nfeatures=features, fastThreshold=fast)  # type: ignore[attr-defined]
    kps, desc = orb.detectAndCompute(grey, None)
    if desc is None or not kps:
        return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
    unit = LINK_SIDE / max(grey.shape)
    return np.asarray([kp.pt for kp in kps], np.float32) * unit, np.asarray(desc, np.uint8)


def _video_link_frames(path: Path) -> list[np.ndarray]:
    """A frame every ``LINK_FRAME_EVERY`` seconds (decode order), RGB, long side <= LINK_SIDE."""
    out: list[np.ndarray] = []
    nxt = 0.0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        t0: float | None = None
        try:
            for f in c.decode(s):
                t = float(f.time) if f.time is not None else nxt
                t0 = t if t0 is None else t0
                if t - t0 + 1e-6 < nxt:
                    continue
                k = min(1.0, LINK_SIDE / max(f.width, f.height))
                w, h = max(2, round(f.width * k)), max(2, round(f.height * k))
                out.append(f.to_ndarray(width=w, height=h, format="rgb24"))
                nxt += LINK_FRAME_EVERY
        except av.error.FFmpegError:
            pass
    return out


def _verified(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[int, int, int]:
    """Inliers of the homography that ratio-tested matches of ``a`` in ``b`` agree on; 0 when
    they are fewer than ``LINK_INLIERS`` or bunched together (a repeated texture, one corner:
    their spread, std(x)·std(y), is under ``LINK_SPREAD`` of ``LINK_SIDE``² on either side);
    the number of ratio-tested matches; and RANSAC's raw inlier count."""
    if a[1].shape[0] < LINK_INLIERS or b[1].shape[0] < 2:
        return 0, 0, 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(a[1], b[1], k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < LINK_RATIO * p[1].distance]
    if len(good) < LINK_CANDIDATE_MATCHES:
        return 0, len(good), 0
    src = a[0][[m.queryIdx for m in good]]
    dst = b[0][[m.trainIdx for m in good]]
    cv2.setRNGSeed(0)
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, LINK_REPROJECTION, maxIters=2000)
    if h is None or mask is None:
        return 0, len(good), 0
    m = mask.reshape(-1).astype(bool)
    raw = int(m.sum())
    det = float(np.linalg.det(h[:2, :2]))
    if not 0.05 < abs(det) < 20:  # a collapsing or exploding "transform" is no transform
        return 0, len(good), raw
    # one keypoint explains one keypoint (a repeated texture matches many to one)
    n = min(
        np.unique(np.round(src[m]), axis=0).shape[0], np.unique(np.round(dst[m]), axis=0).shape[0]
    )
    if n < LINK_INLIERS:
        return 0, len(good), raw
    floor = LINK_SPREAD * LINK_SIDE**2
    if min(float(np.prod(src[m].std(0))), float(np.prod(dst[m].std(0)))) < floor:
        return 0, len(good), raw
    return int(n), len(good), raw


def _linked(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[int, bool]:
    """``_verified`` both ways (the second only when the first found enough matches); and
    whether the pair deserves a closer look (``LINK_CANDIDATE_MATCHES`` ratio-tested matches,
    ``LINK_CANDIDATE_RAW`` of them agreeing before the checks)."""
    n, good, raw = _verified(a, b)
    if n or good < LINK_CANDIDATE_MATCHES:
        return n, False
    n2, _good2, raw2 = _verified(b, a)
    return n2, max(raw, raw2) >= LINK_CANDIDATE_RAW


def content_links(
    photos: Sequence[np.ndarray], videos: Sequence[Sequence[np.ndarray]]
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
    """Pairs of items that share content, with the inliers that show it: (photo, photo) and
    (photo, video) index pairs. Exhaustive: every photo against every other photo (both
    ways) and every sampled frame of every video (``videos``: per video, its RGB frames)."""
    feats = [_link_features(p) for p in photos]
    strong: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def strong_features(i: int) -> tuple[np.ndarray, np.ndarray]:
        if i not in strong:
            strong[i] = _link_features(photos[i], LINK_CLOSE_SIDE, LINK_CLOSE_FEATURES, 7)
        return strong[i]

    pp: dict[tuple[int, int], int] = {}
    pv: dict[tuple[int, int], int] = {}
    for i in range(len(feats)):
        for j in range(i + 1, len(feats)):
            n, closer = _linked(feats[i], feats[j])
            if not n and closer:
                n = _linked(strong_features(i), strong_features(j))[0]
            if n:
                pp[(i, j)] = n
    for vi, frames in enumerate(videos):
        for fr in frames:
            ff = _link_features(fr)
            for i in range(len(feats)):
                if (n := _linked(feats[i], ff)[0]) > pv.get((i, vi), 0):
                    pv[(i, vi)] = n
    return pp, pv


def _components(n: int, edges: Sequence[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


# --------------------------------------------------------------------------------------------
# Synthetic films
# --------------------------------------------------------------------------------------------


def _make_film(job: tuple[Path, list[str], float, str, tuple[int, int], float]) -> None:
    out, photo_paths, seconds, seed, size, fps = job
    photos = [load_photo(Path(p), 1280) for p in photo_paths]
    tmp = out.with_suffix(".tmp.mp4")
    with Writer(tmp, size[0], size[1], fps) as w:
        for frame in photo_film(photos, seconds, size, fps, seed):
            w.write(frame)
    tmp.replace(out)


def _make_texture_film(job: tuple[Path, str, float, tuple[int, int], float]) -> None:
    out, seed, seconds, size, fps = job
    photos = [texture(f"{seed}/{i}", (size[0] * 2, size[1] * 2)) for i in range(6)]
    with Writer(out, size[0], size[1], fps, preset="ultrafast") as w:
        for frame in photo_film(photos, seconds, size, fps, seed):
            w.write(frame)


def _films(
    jobs: list[tuple[Path, list[str], float, str, tuple[int, int], float]], quiet: bool
) -> None:
    todo = [j for j in jobs if not j[0].exists()]
    if not todo:
        return
    _log(f"rendering {len(todo)} synthetic films ({sum(j[2] for j in todo) / 60:.0f} min)", quiet)
    workers = max(1, min(len(todo), os.cpu_count() or 1))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_make_film, todo))
    else:
        for j in todo:
            _make_film(j)


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------


def _digest(paths: list[str]) -> str:
    return hashlib.sha1("\n".join(paths).encode()).hexdigest()[:8]


def _split_real(
    videos: list[Video], linked: Sequence[Sequence[str]] = ()
) -> tuple[list[Video], list[Video]]:
    """References and pool; ``linked``: sets of video names that share content (through a
    photo) and so stay on one side too."""
    key_of = {v.name: _group(v) for v in videos}
    for names in linked:  # merge the groups of linked videos (smallest key wins)
        keys = {key_of[n] for n in names if n in key_of}
        if len(keys) > 1:
            target = min(keys)
            for n, k in key_of.items():
                if k in keys:
                    key_of[n] = target
    groups: dict[str, list[Video]] = {}
    for v in videos:
        groups.setdefault(key_of[v.name], []).append(v)
    keys = sorted(groups)
    random.Random(SPLIT_SEED).shuffle(keys)
    total = sum(v.seconds for v in videos)
    pool: list[Video] = []
    refs: list[Video] = []
    for k in keys:
        target = pool if sum(v.seconds for v in pool) < POOL_FRACTION * total else refs
        target.extend(groups[k])
    return sorted(refs, key=lambda v: v.name), sorted(pool, key=lambda v: v.name)


def _link_cache_key(photos: Sequence[Photo], videos: Sequence[Video], kind: str) -> str:
    """What a cached link result depends on: the items (name, size) and every link setting."""
    settings = [kind, LINK_SIDE, LINK_FEATURES, LINK_FRAME_EVERY, LINK_RATIO, LINK_REPROJECTION,
                LINK_INLIERS, LINK_SPREAD, LINK_CANDIDATE_MATCHES, LINK_CANDIDATE_RAW,
                LINK_CLOSE_SIDE, LINK_CLOSE_FEATURES]  # fmt: skip
    items = [f"{p.name}:{p.path.stat().st_size}" for p in photos]
    items += ["|"] + [f"{v.name}:{v.path.stat().st_size}" for v in videos]
    return hashlib.sha1(json.dumps([settings, items]).encode()).hexdigest()[:12]


def _cached_links(
    cache: Path | None, key: str, compute: Any
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
    """``compute()`` (``(pp, pv)``), kept in ``cache/links/<key>.json`` when ``cache`` is set."""
    path = cache / "links" / f"{key}.json" if cache is not None else None
    if path is not None and path.is_file():
        data = json.loads(path.read_text())
        return ({(a, b): n for a, b, n in data["pp"]}, {(a, b): n for a, b, n in data["pv"]})
    pp, pv = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pp": [[a, b, n] for (a, b), n in sorted(pp.items())],
                                   "pv": [[a, b, n] for (a, b), n in sorted(pv.items())]}))  # fmt: skip
        tmp.replace(path)
    return pp, pv


def photo_groups(
    photos: list[Photo], videos: list[Video], quiet: bool = True, cache: Path | None = None
) -> tuple[list[list[int]], list[set[str]]]:
    """Photos that share content (``content_links``), as groups of indices into ``photos``,
    and per group the names of the real videos it shares content with (the links are kept
    under ``cache/links/`` when ``cache`` is given: they take minutes)."""

    def compute() -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], int]]:
        pics = [load_photo(p.path, LINK_SIDE) for p in photos]
        frames = [_video_link_frames(v.path) for v in videos]
        return content_links(pics, frames)

    pp, pv = _cached_links(cache, _link_cache_key(photos, videos, "groups"), compute)
    for (a, b), n in sorted(pp.items()):
        _log(f"linked {photos[a].name} ~ {photos[b].name} ({n} inliers)", quiet)
    for (a, vi), n in sorted(pv.items()):
        _log(f"linked {photos[a].name} ~ {videos[vi].name} ({n} inliers)", quiet)
    groups = _components(len(photos), list(pp))
    videos_of: list[set[str]] = []
    for g in groups:
        members = set(g)
        videos_of.append({videos[vi].name for (a, vi) in pv if a in members})
    return groups, videos_of


def split_photos(
    photos: list[Photo],
    groups: list[list[int]],
    videos_of: list[set[str]],
    ref_videos: set[str],
) -> tuple[list[Photo], list[Photo], list[Photo], list[Photo]]:
    """(reference photos, film photos, unrelated photos, left out): groups land wholly on one
    side. A group that shares content with a registered (reference) video is left out; one
    that shares content with a pool video is unrelated (never registered). The other groups are
    shuffled (seeded) and fill the references, then the film photos, then the unrelated ones;
    a registered group keeps one member (the largest: the others would be copies of a
    registered photo), an unrelated group keeps all of them."""

    def largest(g: list[int]) -> Photo:
        return min((photos[i] for i in g), key=lambda p: (-p.width * p.height, p.name))

    refs: list[Photo] = []
    films: list[Photo] = []
    negs: list[Photo] = []
    dropped: list[Photo] = []
    free = []
    for g, vids in zip(groups, videos_of, strict=True):
        if vids & ref_videos:
            dropped.extend(photos[i] for i in g)
        elif vids:
            negs.extend(photos[i] for i in g)
        else:
            free.append(sorted(g, key=lambda i: photos[i].name))
    free.sort(key=lambda g: photos[g[0]].name)
    random.Random(SPLIT_SEED + "/photos").shuffle(free)
    for g in free:
        if len(refs) < N_REF_PHOTOS or len(films) < N_FILM_REF_PHOTOS:
            side = refs if len(refs) < N_REF_PHOTOS else films
            keep = largest(g)
            side.append(keep)
            dropped.extend(photos[i] for i in g if photos[i] is not keep)
        else:
            negs.extend(photos[i] for i in g)
    by_name = lambda p: p.name  # noqa: E731
    return sorted(refs, key=by_name), films, sorted(negs, key=by_name), sorted(dropped, key=by_name)


# --------------------------------------------------------------------------------------------
# Image negatives: a second, wider look (it only ever drops a negative)
# --------------------------------------------------------------------------------------------

#: ``image_exclusions``: a negative photo is dropped from the image negatives when it shares
#: content with a registered item (reference photo, film photo, photo left out of the split,
#: frame of a real reference video). Generous on purpose (a spurious link only removes a
#: negative) and independent of the methods under test (plain OpenCV, own settings):
#:
#: * the ORB + homography check of ``content_links`` against registered photos and frames of
#:   reference videos (for the extra photographs; the split's own negatives passed it), on the
#:   pairs a pooled nearest-descriptor search shortlists (``_shortlist``: minutes, not an hour);
#: * a *detailed* ORB pass for a negative and a registered photo of one package whose ORB
#:   matches at ``LINK_SIDE`` were many (``LINK_CANDIDATE_MATCHES``) but did not verify: up to
#:   ``LINK_DETAIL_FEATURES`` features of a ``LINK_DETAIL_SIDE`` copy (two screenshots of one
#:   program, whose shared window chrome is fine detail that 500 corners of a 512-px copy miss);
#: * a same-source rule (``_same_tutorial``): two photos of one package and directory whose
#:   names start with the same word (``water_dt``/``water_result``, ``text_motion``/
#:   ``text_defocus``: one tutorial's input and results, one page blurred two ways, which
#:   keypoints cannot link once blur has removed the corners) or both with a two-digit step
#:   number (``02_single_image_view``/``04_default_filter_view``: one tutorial's numbered
#:   screenshots).
#:
#: A global look (correlation of small blurred grey thumbnails) was tried and dropped: on this
#: corpus unrelated pictures of one composition (a galaxy on black and a dark video frame with
#: a bright centre, two sunsets) correlate above 0.95, so it cannot tell shared content from
#: similar framing, and it would drop exactly the hardest unrelated negatives.
LINK_DETAIL_SIDE = 1280
LINK_DETAIL_FEATURES = 4000
#: shortlist (``_shortlist``): nearest descriptors looked at per descriptor, and their distance
SHORTLIST_K = 5
SHORTLIST_DISTANCE = 64
_STEP_RE = re.compile(r"^\d\d_")


def _name_key(path: Path) -> str | None:
    """The first word (3+ letters) of a file's name, or ``(step)`` for a ``NN_`` name."""
    stem = path.stem.lower()
    if _STEP_RE.match(stem):
        return "(step)"
    words = [w for w in re.split(r"[^a-z]+", stem) if len(w) >= 3]
    return words[0] if words else None


def _same_tutorial(a: Photo, b: Photo) -> bool:
    """One package, one directory, and names that start alike (``_name_key``)."""
    return (
        a.package == b.package
        and a.path.parent == b.path.parent
        and (key := _name_key(a.path)) is not None
        and key == _name_key(b.path)
    )


def _picture(src: np.ndarray | Path, side: int) -> np.ndarray:
    return load_photo(src, side) if isinstance(src, Path) else src


def _shortlist(
    f: tuple[np.ndarray, np.ndarray], pool: np.ndarray, owner: np.ndarray, owners: int
) -> np.ndarray:
    """Indices of the items (``owner`` of each row of ``pool``) that hold, for at least
    ``LINK_CANDIDATE_MATCHES`` of ``f``'s descriptors, one of its ``SHORTLIST_K`` nearest
    descriptors within ``SHORTLIST_DISTANCE`` bits: the only pairs worth checking."""
    if f[1].shape[0] == 0 or pool.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    counts = np.zeros(owners, dtype=np.int64)
    for ms in cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(f[1], pool, k=SHORTLIST_K):
        near = {int(owner[m.trainIdx]) for m in ms if m.distance <= SHORTLIST_DISTANCE}
        for o in near:
            counts[o] += 1
    return np.flatnonzero(counts >= LINK_CANDIDATE_MATCHES)


def cross_links(
    negs: Sequence[np.ndarray | Path],
    orb: Sequence[bool],
    registered: Sequence[np.ndarray | Path],
    videos: Sequence[Sequence[np.ndarray]],
    same_source: Sequence[Sequence[bool]] | None = None,
) -> dict[int, tuple[str, int, int]]:
    """Per negative (index into ``negs``: RGB pictures or their files) that shares content
    with a ``registered`` picture or a frame of one of ``videos``: (``"photo"`` or
    ``"video"``, its index, ORB inliers). Pairs are shortlisted (``_shortlist``: every
    registered picture and frame in one pool), then checked: ``orb[i]``: negative ``i`` gets
    the whole ``content_links`` check; the detailed pass runs where ``same_source[i][j]`` (by
    default: always) and the pair had many unverified matches (see ``image_exclusions``)."""
    reg_feats = [_link_features(_picture(r, LINK_SIDE)) for r in registered]
    frame_feats = [(vi, _link_features(fr)) for vi, frs in enumerate(videos) for fr in frs]
    items = [*reg_feats, *(g for _vi, g in frame_feats)]
    pool = np.concatenate([g[1] for g in items]) if items else np.zeros((0, 32), np.uint8)
    owner = (
        np.concatenate([np.full(g[1].shape[0], k) for k, g in enumerate(items)])
        if items
        else np.zeros(0)
    )
    detail: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    strong: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def described(kind: str, i: int, side: int, features: int) -> tuple[np.ndarray, np.ndarray]:
        memo = detail if side == LINK_DETAIL_SIDE else strong
        if (kind, i) not in memo:
            pic = _picture(negs[i] if kind == "neg" else registered[i], side)
            memo[(kind, i)] = _link_features(pic, side, features, 7)
        return memo[(kind, i)]

    out: dict[int, tuple[str, int, int]] = {}
    for i in range(len(negs)):
        f = _link_features(_picture(negs[i], LINK_SIDE))
        for k in _shortlist(f, pool, owner, len(items)):
            if k >= len(reg_feats):  # a video frame
                vi = frame_feats[k - len(reg_feats)][0]
                if orb[i] and (n := _linked(f, items[k])[0]):
                    out[i] = ("video", vi, n)
                    break
                continue
            j = int(k)
            n, good, _raw = _verified(f, reg_feats[j])
            if not n and good >= LINK_CANDIDATE_MATCHES:
                if orb[i]:
                    n, look_closer = _linked(f, reg_feats[j])
                    if not n and look_closer:
                        n = _linked(
                            described("neg", i, LINK_CLOSE_SIDE, LINK_CLOSE_FEATURES),
                            described("reg", j, LINK_CLOSE_SIDE, LINK_CLOSE_FEATURES),
                        )[0]
                if not n and (same_source is None or same_source[i][j]):
                    n = _linked(
                        described("neg", i, LINK_DETAIL_SIDE, LINK_DETAIL_FEATURES),
                        described("reg", j, LINK_DETAIL_SIDE, LINK_DETAIL_FEATURES),
                    )[0]
            if n:
                out[i] = ("photo", j, n)
                break
        for memo in (detail, strong):
            memo.pop(("neg", i), None)
    return out


def image_exclusions(
    candidates: list[Photo],
    orb_names: set[str],
    registered: list[Photo],
    ref_videos: list[Video],
    quiet: bool = True,
    cache: Path | None = None,
) -> dict[str, str]:
    """Names of ``candidates`` (image negatives) that share content with a ``registered``
    photo or a frame of a real reference video, with the reason (``_same_tutorial``, then
    ``cross_links``; its whole ORB check only for ``orb_names``). Kept under
    ``cache/links/`` when ``cache`` is given (minutes)."""
    settings = [LINK_DETAIL_SIDE, LINK_DETAIL_FEATURES, SHORTLIST_K, SHORTLIST_DISTANCE,
                _STEP_RE.pattern, len(candidates), sorted(orb_names)]  # fmt: skip
    key = _link_cache_key([*candidates, *registered], ref_videos, f"exclusions {settings}")
    path = cache / "links" / f"excluded-{key}.json" if cache is not None else None
    if path is not None and path.is_file():
        return dict(json.loads(path.read_text()))
    out: dict[str, str] = {}
    for p in candidates:
        if same := [r.name for r in registered if _same_tutorial(p, r)]:
            out[p.name] = f"same source as {same[0]} (names start alike, one directory)"
    rest = [p for p in candidates if p.name not in out]
    frames = [_video_link_frames(v.path) for v in ref_videos]
    found = cross_links(
        [p.path for p in rest], [p.name in orb_names for p in rest],
        [r.path for r in registered], frames,
        [[p.package == r.package for r in registered] for p in rest],
    )  # fmt: skip
    for i, (kind, j, n) in sorted(found.items()):
        other = registered[j].name if kind == "photo" else ref_videos[j].name
        out[rest[i].name] = f"shares content with {other} (ORB {n} inliers)"
    for name, why in sorted(out.items()):
        _log(f"image negative {name} excluded: {why}", quiet)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=1, ensure_ascii=False))
    return out


def _film_video(path: Path, name: str, note: str) -> Video:
    pr = probe(path)
    return Video(name, path, round(pr.seconds, 3), pr.width, pr.height, round(pr.fps, 3),
                 "synthetic", True, note)  # fmt: skip


def _save(corpus: Corpus, manifest: Path) -> None:
    payload = {
        "version": CORPUS_VERSION,
        "packages": corpus.packages,
        "stats": corpus.stats(),
        "references": [v.to_json() for v in corpus.references],
        "pool": [v.to_json() for v in corpus.pool],
        "ref_photos": [p.to_json() for p in corpus.ref_photos],
        "neg_photos": [p.to_json() for p in corpus.neg_photos],
        "left_out": [p.to_json() for p in corpus.left_out],
        "film_photos": [p.to_json() for p in corpus.film_photos],
        "extra_neg_photos": [p.to_json() for p in corpus.extra_neg_photos],
        "image_excluded": corpus.image_excluded,
    }
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False))
    tmp.replace(manifest)


def load(manifest: Path) -> Corpus | None:
    """The corpus of ``manifest`` if it is current and every file in it exists."""
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != CORPUS_VERSION or not {
        "film_photos",
        "extra_neg_photos",
        "image_excluded",
    } <= set(data):
        return None
    c = Corpus(
        references=[Video.from_json(d) for d in data["references"]],
        pool=[Video.from_json(d) for d in data["pool"]],
        ref_photos=[Photo.from_json(d) for d in data["ref_photos"]],
        neg_photos=[Photo.from_json(d) for d in data["neg_photos"]],
        packages=data.get("packages", {}),
        root=manifest.parent,
        left_out=[Photo.from_json(d) for d in data.get("left_out", [])],
        film_photos=[Photo.from_json(d) for d in data["film_photos"]],
        extra_neg_photos=[Photo.from_json(d) for d in data["extra_neg_photos"]],
        image_excluded=dict(data["image_excluded"]),
    )
    items: list[Video | Photo] = [*c.references, *c.pool, *c.ref_photos, *c.neg_photos]
    items += c.extra_neg_photos
    return c if all(x.path.is_file() for x in items) else None


def build(
    cache: Path | None = None, quiet: bool = False, rebuild: bool = False, films: bool = True
) -> Corpus:
    """Fetch, unpack, list, split and complete the corpus (idempotent; cached).

    ``films=False``: the same split without the synthetic films (nothing rendered; for
    image-only runs), cached in its own manifest."""
    cache = (cache or default_cache_dir()).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    manifest = cache / f"corpus-v{CORPUS_VERSION}{'' if films else '-nofilms'}.json"
    if not rebuild and (cached := load(manifest)) is not None:
        _log(f"reusing {manifest}", quiet)
        return cached

    versions: dict[str, str] = {}
    roots: dict[str, Path] = {}
    for package in dict.fromkeys([*VIDEO_PACKAGES, *PHOTO_PACKAGES, *EXTRA_PHOTO_SOURCES]):
        roots[package], versions[package] = fetch(package, cache, quiet)
    real: list[Video] = []
    for package in VIDEO_PACKAGES:
        found = list_videos(package, roots[package], quiet)
        _log(f"{package}: {len(found)} videos, {sum(v.seconds for v in found):.0f} s", quiet)
        real.extend(found)
    photos = list_photos({p: roots[p] for p in PHOTO_PACKAGES}, quiet)
    groups, videos_of = photo_groups(photos, real, quiet, cache)
    refs, pool = _split_real(real, [sorted(v) for v in videos_of if len(v) > 1])
    ref_photos, film_ref_photos, neg_photos, dropped = split_photos(
        photos, groups, videos_of, {v.name for v in refs}
    )
    _log(f"photos: {len(ref_photos)} references, {len(film_ref_photos)} for films, "
         f"{len(neg_photos)} unrelated, {len(dropped)} left out (content of a registered "
         "item)", quiet)  # fmt: skip
    if len(neg_photos) < 100 or len(film_ref_photos) < N_SYNTH_REFS * 4:
        raise CorpusError(f"only {len(photos)} photographs")
    # image negatives only: more unrelated photographs, and a wider look for shared content
    # (drops negatives, never moves anything: the split above and the films stay as they are)
    extra = list_extra_photos({p: roots[p] for p in EXTRA_PHOTO_SOURCES}, photos, quiet)
    excluded = image_exclusions(
        [*neg_photos, *extra],
        {p.name for p in extra},
        [*ref_photos, *film_ref_photos, *dropped],
        [v for v in refs if not v.synthetic],
        quiet,
        cache,
    )
    _log(f"image negatives: {len(neg_photos)} + {len(extra)} extra, {len(excluded)} excluded "
         "(content of a registered item)", quiet)  # fmt: skip

    film_dir = cache / "films"
    film_dir.mkdir(exist_ok=True)
    jobs: list[tuple[Path, list[str], float, str, tuple[int, int], float]] = []
    per = len(film_ref_photos) // N_SYNTH_REFS
    for i in range(N_SYNTH_REFS):
        ph = [str(p.path) for p in film_ref_photos[i * per : (i + 1) * per]]
        name = f"ref-{i:02d}-{_digest(ph)}.mp4"
        jobs.append((film_dir / name, ph, SYNTH_REF_SECONDS, f"ref{i}", FILM_SIZE, FILM_FPS))
    real_pool = sum(v.seconds for v in pool)
    n_neg = max(0, math.ceil((MIN_NEGATIVE_SECONDS - real_pool) / SYNTH_NEG_SECONDS))
    for i in range(n_neg):
        rng = random.Random(f"{SPLIT_SEED}/neg{i}")
        ph = [str(p.path) for p in rng.sample(neg_photos, min(14, len(neg_photos)))]
        name = f"neg-{i:02d}-{_digest(ph)}.mp4"
        jobs.append((film_dir / name, ph, SYNTH_NEG_SECONDS, f"neg{i}", FILM_SIZE, FILM_FPS))
    if not films:
        jobs = []
    _films(jobs, quiet)
    note = "synthetic: photographs with fast cuts, motion, fades, dark scenes"
    for j in jobs:
        v = _film_video(j[0], f"synthetic/{j[0].name}", note)
        (refs if j[0].name.startswith("ref-") else pool).append(v)

    corpus = Corpus(refs, pool, ref_photos, neg_photos, versions, cache, dropped,
                    film_ref_photos, extra, excluded)  # fmt: skip
    _save(corpus, manifest)
    _log(f"wrote {manifest}: {json.dumps(corpus.stats())}", quiet)
    return corpus


def build_smoke(root: Path, quiet: bool = True) -> Corpus:
    """A tiny synthetic corpus (moving textures, no downloads) in a few seconds, for tests."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = root / f"corpus-v{CORPUS_VERSION}.json"
    if (cached := load(manifest)) is not None:
        return cached
    size, fps = (192, 108), 12.0
    refs, pool = [], []
    for i in range(3):
        p = root / f"ref-{i}.mp4"
        _make_texture_film((p, f"smoke-ref{i}", 12.0, size, fps))
        refs.append(_film_video(p, f"smoke/ref-{i}", "synthetic smoke"))
    for i in range(2):
        p = root / f"neg-{i}.mp4"
        _make_texture_film((p, f"smoke-neg{i}", 12.0, size, fps))
        pool.append(_film_video(p, f"smoke/neg-{i}", "synthetic smoke"))
    ref_photos, neg_photos = [], []
    for i in range(8):
        p = root / f"photo-{i}.png"
        img = texture(f"smoke-photo{i}", (320, 240))
        cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        ph = Photo(f"smoke/photo-{i}", p, 320, 240, "smoke")
        (ref_photos if i < 4 else neg_photos).append(ph)
    corpus = Corpus(refs, pool, ref_photos, neg_photos, {"smoke": "synthetic"}, root)
    _save(corpus, manifest)
    _log(f"smoke corpus in {root}", quiet)
    return corpus


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: build the corpus and print its statistics as JSON."""
    ap = argparse.ArgumentParser(description="Build the video/image benchmark corpus.")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--rebuild", action="store_true", help="re-list and re-split")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--no-films", action="store_true", help="skip the synthetic films")
    ap.add_argument("--smoke", type=Path, default=None, help="build the tiny synthetic corpus here")
    args = ap.parse_args(argv)
    if args.smoke:
        corpus = build_smoke(args.smoke, quiet=args.quiet)
    else:
        corpus = build(args.cache, quiet=args.quiet, rebuild=args.rebuild, films=not args.no_films)
    print(json.dumps(corpus.stats(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
