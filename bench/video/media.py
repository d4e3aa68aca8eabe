"""Video and photo I/O shared by the video benchmark (PyAV + numpy + cv2, no ffmpeg CLI).

* ``probe`` — duration, size and frame rate of a video file.
* ``FrameReader`` — frames of a file at increasing times (the frame shown at time ``t``), scaled
  with libswscale, optionally after a keyframe seek.
* ``Writer`` — an H.264 (libx264, yuv420p) MP4 writer fed with RGB arrays, at a CRF or a bit rate.
* ``photo_film`` — a film built from still photographs with fast cuts (0.4–3 s shots), motion
  (pan, zoom, rotation, shake), fades to and from black, cross-dissolves and dark scenes. Used for
  filler/negatives and for the few *synthetic* references; never a slow pan.
* ``load_photo`` — an RGB photograph (cv2), optionally bounded in size.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class Probe:
    seconds: float
    width: int
    height: int
    fps: float
    codec: str


def probe(path: Path) -> Probe:
    """Duration (container, else stream), size, average frame rate and codec of ``path``."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        secs = 0.0
        if c.duration:
            secs = float(c.duration) / 1e6
        elif s.duration and s.time_base:
            secs = float(s.duration * s.time_base)
        fps = float(s.average_rate) if s.average_rate else 0.0
        cc = s.codec_context
        return Probe(secs, int(cc.width), int(cc.height), fps, str(cc.name))


def even(x: float) -> int:
    """Nearest even integer >= 2 (yuv420p needs even sizes)."""
    return max(2, round(x / 2.0) * 2)


class FrameReader:
    """Frames of one video at non-decreasing times, as RGB ``uint8`` arrays of ``size``.

    ``at(t)`` returns the frame on screen at time ``t`` (seconds from the file's first frame):
    the last decoded frame whose timestamp is <= ``t`` (the first frame for earlier ``t``; the
    last frame after the end). ``seek=True`` starts with a backward keyframe seek to the first
    requested time (only for files whose seeking is reliable, e.g. our own H.264 MP4s).
    """

    def __init__(self, path: Path, size: tuple[int, int] | None = None, seek: bool = False):
        self.path = path
        self.size = size
        self._seek = seek
        self._c = av.open(str(path))
        self._s = self._c.streams.video[0]
        self._s.thread_type = "AUTO"
        self._t0: float | None = None
        self._it: Iterator[av.VideoFrame] | None = None
        self._cur: tuple[float, av.VideoFrame] | None = None
        self._nxt: tuple[float, av.VideoFrame] | None = None
        self._done = False
        self._cache: tuple[float, np.ndarray] | None = None

    def _start(self, t: float) -> None:
        tb = self._s.time_base
        start = self._s.start_time
        self._t0 = float(start * tb) if start is not None and tb is not None else 0.0
        if self._seek and t > 2.0 and tb is not None:
            self._c.seek(int((self._t0 + t - 1.0) / tb), stream=self._s, backward=True)
        self._it = iter(self._c.decode(self._s))

    def _pull(self) -> tuple[float, av.VideoFrame] | None:
        assert self._it is not None
        if self._done:
            return None
        try:
            f = next(self._it)
        except (StopIteration, av.error.FFmpegError):
            self._done = True
            return None
        ts = float(f.time) if f.time is not None else (self._cur[0] + 0.04 if self._cur else 0.0)
        return ts - (self._t0 or 0.0), f

    def at(self, t: float) -> np.ndarray:
        if self._it is None:
            self._start(t)
        if self._cur is None:
            self._cur = self._pull()
            if self._cur is None:
                raise ValueError(f"no frames in {self.path}")
            self._nxt = self._pull()
        while self._nxt is not None and self._nxt[0] <= t + 1e-6:
            self._cur = self._nxt
            self._nxt = self._pull()
        key = self._cur[0]
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        f = self._cur[1]
        if self.size is not None:
            arr = f.to_ndarray(width=self.size[0], height=self.size[1], format="rgb24")
        else:
            arr = f.to_ndarray(format="rgb24")
        self._cache = (key, arr)
        return arr

    def close(self) -> None:
        self._c.close()

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Writer:
    """H.264 MP4 writer: RGB frames in, constant frame rate ``fps``."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: float,
        *,
        crf: int = 23,
        bit_rate: int | None = None,
        preset: str = "veryfast",
    ):
        self.path = path
        self.width, self.height = even(width), even(height)
        self.c = av.open(str(path), "w")
        rate = Fraction(fps).limit_denominator(1001)
        self.s = self.c.add_stream("libx264", rate=rate)
        self.s.width, self.s.height, self.s.pix_fmt = self.width, self.height, "yuv420p"
        opts = {"preset": preset, "threads": "1"}
        if bit_rate:
            self.s.bit_rate = bit_rate
            opts["x264-params"] = f"vbv-maxrate={bit_rate // 1000}:vbv-bufsize={bit_rate // 500}"
        else:
            opts["crf"] = str(crf)
        opts["g"] = str(max(1, round(2 * fps)))  # a keyframe every 2 s: cheap seeking
        self.s.options = opts
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        if rgb.shape[1] != self.width or rgb.shape[0] != self.height:
            rgb = cv2.resize(rgb, (self.width, self.height), interpolation=cv2.INTER_AREA)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for p in self.s.encode(frame):
            self.c.mux(p)
        self.frames += 1

    def close(self) -> None:
        for p in self.s.encode(None):
            self.c.mux(p)
        self.c.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_photo(path: Path, max_side: int = 0) -> np.ndarray:
    """RGB ``uint8`` image (alpha dropped), shrunk so that its long side is <= ``max_side``."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot read image {path}")
    if max_side and max(img.shape[:2]) > max_side:
        k = max_side / max(img.shape[:2])
        img = cv2.resize(img, (even(img.shape[1] * k), even(img.shape[0] * k)), cv2.INTER_AREA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def cover(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Scale and centre-crop ``img`` to exactly ``w`` × ``h`` (no bars)."""
    ih, iw = img.shape[:2]
    k = max(w / iw, h / ih)
    nw, nh = max(w, math.ceil(iw * k)), max(h, math.ceil(ih * k))
    r = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    x, y = (nw - w) // 2, (nh - h) // 2
    return r[y : y + h, x : x + w]


def photo_film(
    photos: Sequence[np.ndarray], seconds: float, size: tuple[int, int], fps: float, seed: str
) -> Iterator[np.ndarray]:
    """Frames of a film cut from ``photos`` (RGB arrays): fast cuts, motion, fades, dark scenes.

    Shots last 0.4–3 s; each moves (pan up to a third of the frame per second, zoom ±25 %/s,
    rotation up to ±6°/s, hand-held shake); 20 % start or end with a fade through black, 15 %
    begin with a cross-dissolve, 20 % are dark (gain 0.12–0.35, gamma 1.5–2.2).
    """
    rng = random.Random(seed)
    w, h = size
    n = round(seconds * fps)
    prepared: dict[int, np.ndarray] = {}

    def big(i: int) -> np.ndarray:
        if i not in prepared:
            if len(prepared) > 16:
                prepared.pop(next(iter(prepared)))
            prepared[i] = cover(photos[i], int(w * 1.6), int(h * 1.6))
        return prepared[i]

    def shot_frame(src: np.ndarray, p: dict[str, float], t: float) -> np.ndarray:
        sh, sw = src.shape[:2]
        zoom = p["z0"] * (1.0 + p["dz"] * t)
        ang = p["a0"] + p["da"] * t
        cx = sw / 2 + p["px"] * w * t + p["shake"] * math.sin(23.0 * t + p["ph"]) * w
        cy = sh / 2 + p["py"] * h * t + p["shake"] * math.cos(17.0 * t + p["ph"]) * h
        m = cv2.getRotationMatrix2D((cx, cy), ang, zoom)
        m[0, 2] += w / 2 - cx
        m[1, 2] += h / 2 - cy
        out = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if p["dark"]:
            f = out.astype(np.float32) / 255.0
            out = (np.power(f, p["gamma"]) * p["gain"] * 255.0).astype(np.uint8)
        return out

    def new_shot() -> tuple[int, dict[str, float], int]:
        i = rng.randrange(len(photos))
        p = {
            "z0": rng.uniform(0.65, 1.0),
            "dz": rng.uniform(-0.25, 0.25),
            "a0": rng.uniform(-4, 4),
            "da": rng.uniform(-6, 6),
            "px": rng.uniform(-0.33, 0.33),
            "py": rng.uniform(-0.2, 0.2),
            "shake": rng.choice([0.0, 0.0, 0.004, 0.01]),
            "ph": rng.uniform(0, 6.28),
            "dark": 1.0 if rng.random() < 0.2 else 0.0,
            "gain": rng.uniform(0.12, 0.35),
            "gamma": rng.uniform(1.5, 2.2),
            "fade_in": 1.0 if rng.random() < 0.2 else 0.0,
            "fade_out": 1.0 if rng.random() < 0.2 else 0.0,
            "dissolve": 1.0 if rng.random() < 0.15 else 0.0,
        }
        return i, p, max(2, round(rng.uniform(0.4, 3.0) * fps))

    prev: tuple[int, dict[str, float], int, int] | None = None
    k = 0
    while k < n:
        i, p, length = new_shot()
        fade = max(1, int(0.4 * fps))
        for j in range(min(length, n - k)):
            t = j / fps
            img = shot_frame(big(i), p, t)
            if p["fade_in"] and j < fade:
                img = (img.astype(np.float32) * (j / fade)).astype(np.uint8)
            if p["fade_out"] and length - j <= fade:
                img = (img.astype(np.float32) * ((length - j - 1) / fade)).astype(np.uint8)
            if p["dissolve"] and prev is not None and j < fade:
                pi, pp, plen, _ = prev
                other = shot_frame(big(pi), pp, (plen + j) / fps)
                a = j / fade
                img = cv2.addWeighted(img, a, other, 1.0 - a, 0.0)
            yield img
            k += 1
        prev = (i, p, length, k)


def texture(seed: str, size: tuple[int, int]) -> np.ndarray:
    """A random smooth colour texture with edges (synthetic stand-in for a photo in --smoke)."""
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    w, h = size
    base = rng.random((max(2, h // 16), max(2, w // 16), 3), dtype=np.float32)
    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(max(3, h // 12), max(4, h // 3)))
        col = tuple(float(c) for c in rng.random(3))
        cv2.circle(img, (x0, y0), r, col, -1)
        x1, y1 = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(img, (x1, y1), (x1 + r, y1 + r // 2), col[::-1], -1)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)
