"""Distorted video and image queries for the identification benchmark (deterministic, cached).

**Video.** Each positive query is ``filler + excerpt + filler``: an excerpt of 10–60 s (shorter
when the reference is) of one reference, between 3–10 s pieces of unrelated footage from the
pool, written as H.264 MP4 at 25 fps, 480 px high with the reference's aspect ratio unless the
family says otherwise. The family's treatment applies to the whole upload (filler included), as
a re-upload of a programme would carry it; for ``pip`` the pool footage is the full-frame
background during the excerpt too. Families (``FAMILIES``):

* ``reencode_150k`` — libx264 at 150 kb/s (VBV-capped).
* ``res_360p`` — 360 px high.
* ``fps_15`` — 15 frames/s.
* ``crop_20`` — an 80 % × 80 % window (20 % of each dimension cut, random position), rescaled.
* ``letterbox`` — aspect change with bars: a wide source (>= 1.5:1) squeezed to 85 % of its
  height and letterboxed in a 4:3 frame; a narrower one stretched to 115 % of its width and
  pillarboxed in a 16:9 frame.
* ``hflip`` — mirrored left/right.
* ``speed_1.05`` — played 5 % fast (reference time = r_start + 1.05 × (t − q_start)).
* ``color`` — brightness ±20–40, contrast ×0.7–0.8 or ×1.2–1.3, gamma 0.7–0.8 or 1.25–1.4.
* ``logo_ticker`` — a 60 %-opaque station logo in a corner and an opaque scrolling text ticker
  band (10 % of the height) at the bottom.
* ``pip`` — the excerpt scaled to 38–42 % of the width, bordered, in a corner over unrelated
  full-frame footage.
* ``camcorder`` — perspective warp (corners moved 3–8 %, dark surround), Gaussian blur, sensor
  noise (σ 5–8), vignette, brightness ×0.85–0.95.
* ``combo`` — crop 15 % + logo/ticker + gamma 1.2 + 250 kb/s.

Ground truth: ``ref``, ``q_start``/``q_end`` (excerpt in query seconds), ``r_start``/``r_end``
(in reference seconds) and ``speed``. Negative queries are the pool's videos themselves
(unregistered; real clips and synthetic photo films), at least 30 minutes in the full corpus.

**Images.** Per reference photo (at most 1,024 px on its long side first): ``crop_10`` and
``crop_20`` (90 % / 80 % windows), ``overlay`` (corner logo, a large semi-transparent watermark
and a caption bar), ``flip`` (left/right), ``jpeg_q20`` (75 % size, JPEG quality 20),
``screenshot`` (the photo at 55–70 % of a 1280×800 "window" with title bar, sidebar and text
lines, PNG). Negatives: the corpus's image negatives (``Corpus.image_negatives``: its unrelated
photographs and the extra ones used only as image negatives, less those that share content with
a registered item); they are not part of the cache key, so the video queries do not depend on
them.

Cache: ``<cache>/queries/v<version>-<config hash>/`` holds the files and ``manifest.json``
(written last).

Command line: ``python -m bench.video.queries [--per-family N] [--seed S] [--smoke DIR]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.video.corpus import Corpus, Photo, Video, build, build_smoke, default_cache_dir
from bench.video.media import FrameReader, Writer, cover, even, load_photo, probe

QUERY_VERSION = 1
DEFAULT_PER_FAMILY = 6
FAMILIES = (
    "reencode_150k",
    "res_360p",
    "fps_15",
    "crop_20",
    "letterbox",
    "hflip",
    "speed_1.05",
    "color",
    "logo_ticker",
    "pip",
    "camcorder",
    "combo",
)
IMAGE_FAMILIES = ("crop_10", "crop_20", "overlay", "flip", "jpeg_q20", "screenshot")
TICKER_TEXT = (
    "BREAKING  +++  Markets close higher as tech rallies  +++  Weather: storms expected in the "
    "north tonight  +++  Sports: home team wins 3-1  +++  Traffic delays on the ring road  +++  "
)


@dataclass(frozen=True, slots=True)
class QueryConfig:
    per_family: int = DEFAULT_PER_FAMILY
    seed: int = 0
    height: int = 480
    low_height: int = 360
    fps: float = 25.0
    low_fps: float = 15.0
    excerpt: tuple[float, float] = (10.0, 60.0)
    filler: tuple[float, float] = (3.0, 10.0)
    image_refs: int = 0  # 0: all reference photos
    preset: str = "veryfast"

    def key(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


SMOKE_CONFIG = QueryConfig(
    per_family=1, height=108, low_height=72, fps=12.0, low_fps=8.0, excerpt=(4.0, 6.0),
    filler=(1.5, 2.5), preset="ultrafast",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class VideoQuery:
    id: str
    path: Path
    family: str
    seconds: float
    ref: str | None = None
    q_start: float = 0.0
    q_end: float = 0.0
    r_start: float = 0.0
    r_end: float = 0.0
    speed: float = 1.0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> VideoQuery:
        return cls(**{**d, "path": Path(d["path"])})


@dataclass(frozen=True, slots=True)
class ImageQuery:
    id: str
    path: Path
    family: str
    ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ImageQuery:
        return cls(**{**d, "path": Path(d["path"])})


@dataclass(slots=True)
class QuerySet:
    videos: list[VideoQuery]
    images: list[ImageQuery]
    directory: Path

    def counts(self) -> dict[str, Any]:
        pos = Counter(q.family for q in self.videos if q.ref is not None)
        ipos = Counter(q.family for q in self.images if q.ref is not None)
        neg = [q for q in self.videos if q.ref is None]
        return {
            "video_positive": dict(pos),
            "video_negative": len(neg),
            "video_negative_hours": round(sum(q.seconds for q in neg) / 3600, 3),
            "video_positive_hours": round(sum(q.seconds for q in self.videos if q.ref) / 3600, 3),
            "image_positive": dict(ipos),
            "image_negative": sum(1 for q in self.images if q.ref is None),
        }


# --------------------------------------------------------------------------------------------
# Frame treatments
# --------------------------------------------------------------------------------------------


def _font_scale_for(height: int) -> float:
    return max(0.3, height / 480 * 0.9)


def _logo(h: int) -> np.ndarray:
    """A station logo, RGBA float in [0, 1]: a coloured badge with text."""
    lh = max(12, int(h * 0.12))
    lw = int(lh * 2.4)
    img = np.zeros((lh, lw, 4), np.uint8)
    cv2.rectangle(img, (0, 0), (lw - 1, lh - 1), (215, 25, 25, 255), -1)
    cv2.circle(img, (lh // 2, lh // 2), lh // 3, (255, 215, 25, 255), -1)
    fs = lh / 40
    cv2.putText(
        img, "TV7", (lh, int(lh * 0.72)), cv2.FONT_HERSHEY_DUPLEX, fs, (255, 255, 255, 255), 2
    )
    return img.astype(np.float32) / 255.0


def _ticker_strip(h: int) -> np.ndarray:
    band = max(8, int(h * 0.1))
    fs = band / 36
    (tw, _th), _ = cv2.getTextSize(TICKER_TEXT, cv2.FONT_HERSHEY_SIMPLEX, fs, 1)
    strip = np.zeros((band, tw + 10, 3), np.uint8)
    strip[:] = (12, 30, 110)
    cv2.putText(strip, TICKER_TEXT, (5, int(band * 0.72)), cv2.FONT_HERSHEY_SIMPLEX, fs,
                (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    return strip


def _blend(dst: np.ndarray, rgba: np.ndarray, x: int, y: int, opacity: float) -> None:
    h, w = rgba.shape[:2]
    roi = dst[y : y + h, x : x + w].astype(np.float32)
    a = rgba[..., 3:4] * opacity
    dst[y : y + h, x : x + w] = (roi * (1 - a) + rgba[..., :3] * 255.0 * a).astype(np.uint8)


Treat = Callable[[np.ndarray, float], np.ndarray]


def _logo_ticker(w: int, h: int, rng: random.Random) -> Treat:
    logo = _logo(h)
    strip = _ticker_strip(h)
    corner = rng.choice(["tl", "tr"])
    margin = max(2, h // 30)
    x = margin if corner == "tl" else w - logo.shape[1] - margin
    speed = w / 6.0  # px/s

    def f(img: np.ndarray, t: float) -> np.ndarray:
        out = img.copy()
        _blend(out, logo, x, margin, 0.6)
        band = strip.shape[0]
        off = int(t * speed) % strip.shape[1]
        row = np.concatenate([strip, strip], axis=1)[:, off : off + w]
        if row.shape[1] < w:
            row = np.pad(row, ((0, 0), (0, w - row.shape[1]), (0, 0)))
        out[h - band :, :] = row
        return out

    return f


def _crop(w: int, h: int, frac: float, rng: random.Random) -> Treat:
    cw, ch = int(w * (1 - frac)), int(h * (1 - frac))
    x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)

    def f(img: np.ndarray, t: float) -> np.ndarray:
        return cv2.resize(img[y0 : y0 + ch, x0 : x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR)

    return f


def _lut(brightness: float, contrast: float, gamma: float) -> np.ndarray:
    x = np.arange(256, dtype=np.float32) / 255.0
    y = np.power(x, gamma)
    y = (y - 0.5) * contrast + 0.5 + brightness / 255.0
    return (np.clip(y, 0, 1) * 255).astype(np.uint8)


def _color(rng: random.Random) -> Treat:
    b = rng.choice([-1, 1]) * rng.uniform(20, 40)
    c = rng.choice([rng.uniform(0.7, 0.8), rng.uniform(1.2, 1.3)])
    g = rng.choice([rng.uniform(0.7, 0.8), rng.uniform(1.25, 1.4)])
    lut = _lut(b, c, g)
    return lambda img, t: cv2.LUT(img, lut)


def _camcorder(w: int, h: int, rng: random.Random, seed: int) -> Treat:
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    d = [rng.uniform(0.03, 0.08) for _ in range(8)]
    dst = np.float32([
        [w * d[0], h * d[1]], [w * (1 - d[2]), h * d[3]],
        [w * (1 - d[4]), h * (1 - d[5])], [w * d[6], h * (1 - d[7])],
    ])  # fmt: skip
    m = cv2.getPerspectiveTransform(src, dst)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    vignette = (1.0 - 0.22 * r2)[..., None] * rng.uniform(0.85, 0.95)
    sigma_blur = rng.uniform(0.9, 1.5)
    sigma_noise = rng.uniform(5, 8)
    noise_rng = np.random.default_rng(seed)

    def f(img: np.ndarray, t: float) -> np.ndarray:
        out = cv2.warpPerspective(img, m, (w, h), borderValue=(18, 18, 22))
        out = cv2.GaussianBlur(out, (0, 0), sigma_blur)
        x = out.astype(np.float32) * vignette
        x += noise_rng.normal(0, sigma_noise, size=(h, w, 1)).astype(np.float32)
        return np.clip(x, 0, 255).astype(np.uint8)

    return f


def _compose(*fs: Treat) -> Treat:
    def f(img: np.ndarray, t: float) -> np.ndarray:
        for g in fs:
            img = g(img, t)
        return img

    return f


# --------------------------------------------------------------------------------------------
# Video query rendering
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Job:
    id: str
    family: str
    ref: Video
    r_start: float
    r_len: float  # reference seconds in the excerpt
    fillers: tuple[tuple[Video, float, float], ...]  # (video, start, seconds), in query order
    split: int  # how many filler pieces come before the excerpt
    out: Path
    seed: int
    cfg: QueryConfig


def _canvas(job: _Job) -> tuple[int, int, float]:
    cfg = job.cfg
    h = cfg.low_height if job.family == "res_360p" else cfg.height
    aspect = job.ref.width / job.ref.height
    if job.family == "letterbox":
        aspect = 4 / 3 if aspect >= 1.5 else 16 / 9
    w = even(h * aspect)
    fps = cfg.low_fps if job.family == "fps_15" else cfg.fps
    return w, even(h), fps


def _render(job: _Job) -> VideoQuery:
    rng = random.Random(f"{job.seed}/{job.id}/treat")
    w, h, fps = _canvas(job)
    speed = 1.05 if job.family == "speed_1.05" else 1.0
    q_len_excerpt = job.r_len / speed
    fam = job.family
    treat: Treat = lambda img, t: img  # noqa: E731
    bit_rate: int | None = None
    content = (w, h)
    if fam == "reencode_150k":
        bit_rate = 150_000
    elif fam == "crop_20":
        treat = _crop(w, h, 0.2, rng)
    elif fam == "hflip":
        treat = lambda img, t: np.ascontiguousarray(img[:, ::-1])  # noqa: E731
    elif fam == "color":
        treat = _color(rng)
    elif fam == "logo_ticker":
        treat = _logo_ticker(w, h, rng)
    elif fam == "camcorder":
        treat = _camcorder(w, h, rng, job.seed)
    elif fam == "combo":
        treat = _compose(_crop(w, h, 0.15, rng), _logo_ticker(w, h, rng))
        lut = _lut(0.0, 1.0, 1.2)
        treat = _compose(treat, lambda img, t: cv2.LUT(img, lut))
        bit_rate = 250_000
    elif fam == "letterbox":
        src_aspect = job.ref.width / job.ref.height
        if src_aspect >= 1.5:  # wide source in a 4:3 frame: squeezed to 85 % height, bars
            content = (w, min(h - 2 * (h // 10), even(w / src_aspect * 0.85)))
        else:  # narrow source in a 16:9 frame: stretched to 115 % width, side bars
            content = (min(w - 2 * (w // 10), even(h * src_aspect * 1.15)), h)
    pip_box: tuple[int, int, int, int] | None = None
    if fam == "pip":
        pw = even(w * rng.uniform(0.38, 0.42))
        ph = even(pw * job.ref.height / job.ref.width)
        m = max(4, w // 30)
        px = m if rng.random() < 0.5 else w - pw - m
        py = m if rng.random() < 0.5 else h - ph - m - h // 10
        pip_box = (px, max(0, py), pw, ph)
        content = (pw, ph)

    pieces = list(job.fillers)
    contiguous = fam == "pip"  # pip: the filler runs on under the inset
    q_start = sum(p[2] for p in pieces[: job.split])
    total = sum(p[2] for p in pieces) + (0.0 if contiguous else q_len_excerpt)
    q_end = q_start + q_len_excerpt
    seek_ref = job.ref.synthetic
    n = round(total * fps)
    tmp = job.out.with_suffix(".tmp.mp4")
    with Writer(tmp, w, h, fps, bit_rate=bit_rate, preset=job.cfg.preset) as wr:
        ref_reader = FrameReader(job.ref.path, content, seek=seek_ref)
        # filler timeline: (query start, piece)
        timeline = []
        t0 = 0.0
        for i, pc in enumerate(pieces):
            if not contiguous and i == job.split:
                t0 += q_len_excerpt
            timeline.append((t0, pc))
            t0 += pc[2]
        readers: dict[int, FrameReader] = {}
        for k in range(n):
            t = k / fps
            in_excerpt = q_start <= t < q_end
            frame: np.ndarray | None = None
            if contiguous or not in_excerpt:
                idx = max(i for i, (ts, _) in enumerate(timeline) if ts <= t + 1e-9)
                ts, (v, vstart, _vlen) = timeline[idx]
                if idx not in readers:
                    for old in list(readers):
                        readers.pop(old).close()
                    readers[idx] = FrameReader(v.path, None, seek=v.synthetic)
                src = readers[idx].at(vstart + (t - ts))
                frame = cover(src, w, h)
            if in_excerpt:
                rt = job.r_start + (t - q_start) * speed
                ex = ref_reader.at(rt)
                if pip_box is not None and frame is not None:
                    px, py, pw, ph = pip_box
                    frame = frame.copy()
                    cv2.rectangle(
                        frame, (px - 2, py - 2), (px + pw + 1, py + ph + 1), (240,) * 3, -1
                    )
                    frame[py : py + ph, px : px + pw] = ex[: h - py, : w - px]
                elif content != (w, h):
                    frame = np.zeros((h, w, 3), np.uint8)
                    y, x = (h - content[1]) // 2, (w - content[0]) // 2
                    frame[y : y + content[1], x : x + content[0]] = ex
                else:
                    frame = ex
            assert frame is not None
            wr.write(treat(frame, t))
        ref_reader.close()
        for r in readers.values():
            r.close()
    tmp.replace(job.out)
    return VideoQuery(
        id=job.id, path=job.out, family=fam, seconds=round(n / fps, 3), ref=job.ref.name,
        q_start=round(q_start, 3), q_end=round(q_end, 3), r_start=round(job.r_start, 3),
        r_end=round(job.r_start + job.r_len, 3), speed=speed,
    )  # fmt: skip


def _filler(
    rng: random.Random, pool: list[Video], seconds: float
) -> list[tuple[Video, float, float]]:
    out = []
    left = seconds
    while left > 0.05:
        v = rng.choice(pool)
        if v.seconds < 1.5:
            continue
        take = min(left, v.seconds - 0.5)
        start = rng.uniform(0, max(0.0, v.seconds - take - 0.5))
        out.append((v, round(start, 3), round(take, 3)))
        left -= take
    return out


def _plan(corpus: Corpus, cfg: QueryConfig, out: Path) -> list[_Job]:
    jobs: list[_Job] = []
    refs = sorted(corpus.references, key=lambda v: v.name)
    pool = sorted(corpus.pool, key=lambda v: v.name)
    for fam in FAMILIES:
        order = list(refs)
        random.Random(f"{cfg.seed}/{fam}/refs").shuffle(order)
        for k in range(cfg.per_family):
            rng = random.Random(f"{cfg.seed}/{fam}/{k}")
            ref = order[k % len(order)]
            lo, hi = cfg.excerpt
            usable = max(1.0, ref.seconds - 0.3)
            r_len = min(rng.uniform(lo, hi), usable)
            r_start = rng.uniform(0, max(0.0, usable - r_len))
            f1, f2 = rng.uniform(*cfg.filler), rng.uniform(*cfg.filler)
            a = _filler(rng, pool, f1)
            # pip: the second filler also runs under the inset
            pieces = [*a, *_filler(rng, pool, f2 + (r_len if fam == "pip" else 0.0))]
            split = len(a)
            qid = f"{fam}-{k:03d}"
            jobs.append(
                _Job(
                    qid,
                    fam,
                    ref,
                    r_start,
                    r_len,
                    tuple(pieces),
                    split,
                    out / f"{qid}.mp4",
                    cfg.seed,
                    cfg,
                )
            )
    return jobs


# --------------------------------------------------------------------------------------------
# Image queries
# --------------------------------------------------------------------------------------------


def _image_query(photo: Photo, fam: str, out: Path, seed: str) -> None:
    rng = random.Random(seed)
    img = load_photo(photo.path, 1024)
    h, w = img.shape[:2]
    ext_png = False
    if fam in ("crop_10", "crop_20"):
        frac = 0.1 if fam == "crop_10" else 0.2
        res = _crop(w, h, frac, rng)(img, 0.0)
        cw, ch = int(w * (1 - frac)), int(h * (1 - frac))
        res = cv2.resize(res, (cw, ch), interpolation=cv2.INTER_AREA)
    elif fam == "overlay":
        res = img.copy()
        _blend(res, _logo(h), w - int(h * 0.12 * 2.4) - h // 30, h // 30, 0.8)
        wm = np.zeros_like(res)
        fs = w / 500
        cv2.putText(wm, "@copycat_uploads", (int(w * 0.1), int(h * 0.55)),
                    cv2.FONT_HERSHEY_DUPLEX, fs, (255, 255, 255), max(1, int(fs * 2)))  # fmt: skip
        res = cv2.addWeighted(res, 1.0, wm, 0.35, 0)
        bar = max(10, h // 9)
        res[h - bar :] = (res[h - bar :].astype(np.float32) * 0.3).astype(np.uint8)
        cv2.putText(res, "Look at this!! #viral", (w // 40, h - bar // 3), cv2.FONT_HERSHEY_SIMPLEX,
                    bar / 40, (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    elif fam == "flip":
        res = np.ascontiguousarray(img[:, ::-1])
    elif fam == "jpeg_q20":
        res = cv2.resize(img, (even(w * 0.75), even(h * 0.75)), interpolation=cv2.INTER_AREA)
    elif fam == "screenshot":
        cw, chh = 1280, 800
        res = np.full((chh, cw, 3), 245, np.uint8)
        res[:36] = (60, 63, 70)
        for i, col in enumerate([(235, 90, 80), (240, 190, 60), (90, 190, 90)]):
            cv2.circle(res, (20 + 22 * i, 18), 7, col, -1)
        res[36:, : int(cw * 0.16)] = (225, 228, 232)
        for i in range(12):
            y = 70 + 40 * i
            cv2.rectangle(res, (16, y), (int(cw * 0.16) - 20, y + 10), (180, 184, 190), -1)
        k = rng.uniform(0.55, 0.7) * min((cw * 0.8) / w, (chh - 140) / h)
        pw, ph = int(w * k), int(h * k)
        x0 = int(cw * 0.16) + (int(cw * 0.84) - pw) // 2
        y0 = 60
        res[y0 : y0 + ph, x0 : x0 + pw] = cv2.resize(img, (pw, ph), interpolation=cv2.INTER_AREA)
        for i in range(4):
            y = y0 + ph + 20 + 18 * i
            if y + 8 < chh:
                cv2.rectangle(res, (x0, y), (x0 + int(pw * rng.uniform(0.5, 1)), y + 8),
                              (150, 150, 155), -1)  # fmt: skip
        ext_png = True
    else:
        raise ValueError(fam)
    bgr = cv2.cvtColor(res, cv2.COLOR_RGB2BGR)
    q = 20 if fam == "jpeg_q20" else 90
    if ext_png:
        cv2.imwrite(str(out), bgr)
    else:
        cv2.imwrite(str(out), bgr, [cv2.IMWRITE_JPEG_QUALITY, q])


def _image_queries(corpus: Corpus, cfg: QueryConfig, out: Path) -> list[ImageQuery]:
    out.mkdir(parents=True, exist_ok=True)
    refs = corpus.ref_photos[: cfg.image_refs] if cfg.image_refs else corpus.ref_photos
    qs: list[ImageQuery] = []
    for i, p in enumerate(refs):
        for fam in IMAGE_FAMILIES:
            qid = f"img-{fam}-{i:03d}"
            path = out / f"{qid}.{'png' if fam == 'screenshot' else 'jpg'}"
            if not path.exists():
                _image_query(p, fam, path, f"{cfg.seed}/{qid}")
            qs.append(ImageQuery(qid, path, fam, p.name))
    for i, p in enumerate(corpus.image_negatives()):
        qs.append(ImageQuery(f"img-neg-{i:03d}", p.path, "negative", None))
    return qs


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def _corpus_key(corpus: Corpus) -> str:
    names = [v.name for v in corpus.references] + ["|"] + [v.name for v in corpus.pool]
    names += (
        ["|"] + [p.name for p in corpus.ref_photos] + ["|"] + [p.name for p in corpus.neg_photos]
    )
    return hashlib.sha1("\n".join(names).encode()).hexdigest()[:8]


def make_queries(
    corpus: Corpus,
    cfg: QueryConfig,
    cache: Path | None = None,
    jobs: int = 0,
    quiet: bool = False,
) -> QuerySet:
    """Render (or reuse) every video and image query of ``cfg`` for ``corpus``."""
    root = (cache or corpus.root or default_cache_dir()) / "queries"
    out = root / f"v{QUERY_VERSION}-{cfg.key()}-{_corpus_key(corpus)}"
    manifest = out / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        qs = QuerySet(
            [VideoQuery.from_json(d) for d in data["videos"]],
            [ImageQuery.from_json(d) for d in data["images"]],
            out,
        )
        if all(q.path.exists() for q in qs.videos):
            # the image queries follow the corpus's image negatives (cheap: files are reused)
            qs.images = _image_queries(corpus, cfg, out / "images")
            return qs
    out.mkdir(parents=True, exist_ok=True)
    plan = _plan(corpus, cfg, out)
    done: list[VideoQuery] = []
    todo = []
    for j in plan:
        if j.out.exists():
            done.append(_existing(j))
        else:
            todo.append(j)
    if todo and not quiet:
        secs = sum(j.r_len + sum(p[2] for p in j.fillers) for j in todo)
        print(
            f"[video-queries] rendering {len(todo)} queries ({secs / 60:.0f} min)", file=sys.stderr
        )
    workers = max(1, min(len(todo), jobs or os.cpu_count() or 1))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done.extend(pool.map(_render, todo))
    else:
        done.extend(_render(j) for j in todo)
    order = {j.id: i for i, j in enumerate(plan)}
    videos = sorted(done, key=lambda q: order[q.id])
    for i, v in enumerate(sorted(corpus.pool, key=lambda v: v.name)):
        videos.append(VideoQuery(f"neg-{i:03d}", v.path, "negative", v.seconds))
    images = _image_queries(corpus, cfg, out / "images")
    qs = QuerySet(videos, images, out)
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps({
        "version": QUERY_VERSION, "config": asdict(cfg), "counts": qs.counts(),
        "videos": [q.to_json() for q in videos], "images": [q.to_json() for q in images],
    }, indent=1))  # fmt: skip
    tmp.replace(manifest)
    return qs


def make_image_queries(corpus: Corpus, cfg: QueryConfig, cache: Path | None = None) -> QuerySet:
    """Only the image queries of ``cfg`` (no video rendered): the files ``make_queries``
    would write for them, in the same directory."""
    root = (cache or corpus.root or default_cache_dir()) / "queries"
    out = root / f"v{QUERY_VERSION}-{cfg.key()}-{_corpus_key(corpus)}"
    return QuerySet([], _image_queries(corpus, cfg, out / "images"), out)


def _existing(j: _Job) -> VideoQuery:
    """Ground truth of an already rendered query (same arithmetic as ``_render``)."""
    speed = 1.05 if j.family == "speed_1.05" else 1.0
    q_len = j.r_len / speed
    q_start = sum(p[2] for p in j.fillers[: j.split])
    return VideoQuery(
        id=j.id, path=j.out, family=j.family, seconds=round(probe(j.out).seconds, 3), ref=j.ref.name,
        q_start=round(q_start, 3), q_end=round(q_start + q_len, 3), r_start=round(j.r_start, 3),
        r_end=round(j.r_start + j.r_len, 3), speed=speed,
    )  # fmt: skip


def speed_clips(
    corpus: Corpus, cache: Path | None = None, seconds: float = 20.0
) -> dict[str, Path]:
    """480p and 1080p H.264 clips (``seconds`` long) of the longest real reference, for timing.

    The 1080p clip is an upscale (the real material is at most 720p); say so when reporting.
    """
    real = [v for v in corpus.references if not v.synthetic] or corpus.references
    src = max(real, key=lambda v: (v.seconds, v.name))
    out = (cache or corpus.root or default_cache_dir()) / "speed"
    out.mkdir(parents=True, exist_ok=True)
    clips = {}
    for label, h in (("480p", 480), ("1080p", 1080)):
        w = even(h * 16 / 9)
        path = out / f"{label}-{_corpus_key(corpus)}.mp4"
        if not path.exists():
            tmp = path.with_suffix(".tmp.mp4")
            fps = 25.0
            with FrameReader(src.path, None) as r, Writer(tmp, w, h, fps, crf=20) as wr:
                for k in range(round(min(seconds, src.seconds - 0.2) * fps)):
                    wr.write(cover(r.at(k / fps), w, h))
            tmp.replace(path)
        clips[label] = path
    return clips


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Render the video/image benchmark queries.")
    ap.add_argument("--per-family", type=int, default=DEFAULT_PER_FAMILY)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("--smoke", type=Path, default=None, help="tiny synthetic corpus + queries here")
    args = ap.parse_args(argv)
    if args.smoke:
        corpus = build_smoke(args.smoke)
        cfg = SMOKE_CONFIG
    else:
        corpus = build()
        cfg = QueryConfig(per_family=args.per_family, seed=args.seed)
    qs = make_queries(corpus, cfg, jobs=args.jobs)
    print(json.dumps({"directory": str(qs.directory), **qs.counts()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
