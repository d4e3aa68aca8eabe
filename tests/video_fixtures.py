"""Synthetic films for the video tests: shots of smooth random texture that pan and zoom,
cut every few seconds, encoded by FFmpeg (PyAV) so that every test goes through real
decoders. Deterministic per seed."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import av
import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]


def shots(
    seed: int, seconds: float, size: tuple[int, int] = (320, 240), fps: int = 25
) -> list[Frame]:
    """RGB frames: a new shot every 1.5-4 s, each a textured picture moving across."""
    rng = np.random.default_rng(seed)
    w, h = size
    frames: list[Frame] = []
    total = int(seconds * fps)
    while len(frames) < total:
        length = int(rng.uniform(1.5, 4.0) * fps)
        coarse = rng.random((rng.integers(4, 9), rng.integers(5, 11), 3)) * 255
        big = cv2.resize(coarse.astype(np.float32), (w * 2, h * 2), interpolation=cv2.INTER_CUBIC)
        # a few sharp shapes so that the picture has edges as well as gradients
        for _ in range(int(rng.integers(3, 7))):
            c = tuple(float(x) for x in rng.random(3) * 255)
            p = (int(rng.integers(0, w * 2)), int(rng.integers(0, h * 2)))
            cv2.circle(big, p, int(rng.integers(10, h // 2)), c, -1)
        vx, vy = rng.uniform(-2, 2, size=2)
        x0, y0 = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        for i in range(length):
            x = int(np.clip(x0 + vx * i, 0, w))
            y = int(np.clip(y0 + vy * i, 0, h))
            frames.append(np.clip(big[y : y + h, x : x + w], 0, 255).astype(np.uint8))
    return frames[:total]


def encode(
    frames: list[Frame] | Iterator[Frame],
    fps: float = 25,
    container: str = "mp4",
    codec: str = "libx264",
    size: tuple[int, int] | None = None,
    audio: npt.NDArray[np.float32] | None = None,
    audio_rate: int = 22050,
) -> bytes:
    """Encode RGB frames (and optionally mono audio) into a container, in memory."""
    buf = io.BytesIO()
    out = av.open(buf, "w", format=container)
    frames = list(frames)
    h, w = frames[0].shape[:2]
    if size is not None:
        w, h = size
    from fractions import Fraction

    stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
    stream.width, stream.height = w - w % 2, h - h % 2
    stream.pix_fmt = "yuv420p"
    if codec == "libx264":
        stream.options = {"preset": "veryfast", "crf": "28"}
    a_stream = None
    if audio is not None:
        a_stream = out.add_stream("aac", rate=audio_rate)
        a_stream.layout = "mono"
    for f in frames:
        if f.shape[1] != stream.width or f.shape[0] != stream.height:
            f = cv2.resize(f, (stream.width, stream.height), interpolation=cv2.INTER_AREA)
        for p in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
            out.mux(p)
    for p in stream.encode():
        out.mux(p)
    if a_stream is not None and audio is not None:
        n = 1024
        pts = 0
        for i in range(0, audio.shape[0], n):
            chunk = audio[i : i + n].astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = audio_rate
            frame.pts = pts
            pts += chunk.shape[1]
            for p in a_stream.encode(frame):
                out.mux(p)
        for p in a_stream.encode():
            out.mux(p)
    out.close()
    return buf.getvalue()


def each(frames: list[Frame], fn: Callable[[Frame], Frame]) -> list[Frame]:
    return [fn(f) for f in frames]


def crop(f: Frame, share: float) -> Frame:
    h, w = f.shape[:2]
    dy, dx = int(h * share / 2), int(w * share / 2)
    return cv2.resize(f[dy : h - dy, dx : w - dx], (w, h), interpolation=cv2.INTER_AREA)


def crop_at(f: Frame, share: float, x: float, y: float) -> Frame:
    """A window of 1 - `share` of each side at relative position (x, y) in [0, 1], scaled
    back to the frame's size."""
    h, w = f.shape[:2]
    ch, cw = int(h * (1 - share)), int(w * (1 - share))
    y0, x0 = int((h - ch) * y), int((w - cw) * x)
    return cv2.resize(f[y0 : y0 + ch, x0 : x0 + cw], (w, h), interpolation=cv2.INTER_AREA)


def letterbox(f: Frame, bar: float = 0.12) -> Frame:
    h, w = f.shape[:2]
    inner = cv2.resize(f, (w, int(h * (1 - 2 * bar))), interpolation=cv2.INTER_AREA)
    out = np.zeros_like(f)
    y = (h - inner.shape[0]) // 2
    out[y : y + inner.shape[0]] = inner
    return out


def flip(f: Frame) -> Frame:
    return np.ascontiguousarray(f[:, ::-1])


def brighten(f: Frame, gain: float = 1.2, gamma: float = 0.8) -> Frame:
    x = (f.astype(np.float32) / 255.0) ** gamma * gain
    return np.clip(x * 255, 0, 255).astype(np.uint8)


def logo(f: Frame) -> Frame:
    out = f.copy()
    h, w = f.shape[:2]
    cv2.rectangle(out, (w - w // 5, 4), (w - 4, h // 8), (255, 255, 255), -1)
    cv2.putText(
        out, "TV", (w - w // 5 + 4, h // 8 - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (200, 0, 0), 2
    )
    return out


def picture(seed: int, size: tuple[int, int] = (480, 360)) -> Frame:
    """A still with detail at every scale (octaves of smooth noise, as natural photographs
    have), plus a few sharp shapes."""
    rng = np.random.default_rng(seed)
    w, h = size
    acc = np.zeros((h, w, 3), dtype=np.float32)
    for octave in range(1, 6):
        cells = (2**octave + 1, int((2**octave + 1) * w / h))
        noise = rng.random((cells[0], cells[1], 3)).astype(np.float32)
        acc += cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC) * (1.0 / octave)
    acc = (acc - acc.min()) / (np.ptp(acc) + 1e-6) * 255
    for _ in range(int(rng.integers(4, 9))):
        c = tuple(float(x) for x in rng.random(3) * 255)
        p = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(acc, p, int(rng.integers(8, h // 4)), c, -1)
    return np.clip(acc, 0, 255).astype(np.uint8)


def inset(
    background: Frame, f: Frame, share: float = 0.4, corner: tuple[int, int] = (1, 0)
) -> Frame:
    """`f` shrunk to `share` of the width (its proportions kept), with a light border, in a
    corner of `background` (corner (1, 0): right, top), as a picture-in-picture upload shows
    a film over unrelated footage."""
    h, w = background.shape[:2]
    pw = int(w * share) // 2 * 2
    ph = int(pw * f.shape[0] / f.shape[1]) // 2 * 2
    m = max(4, w // 30)
    x = m if corner[0] == 0 else w - pw - m
    y = m if corner[1] == 0 else h - ph - m
    out = background.copy()
    cv2.rectangle(out, (x - 2, y - 2), (x + pw + 1, y + ph + 1), (240, 240, 240), -1)
    out[y : y + ph, x : x + pw] = cv2.resize(f, (pw, ph), interpolation=cv2.INTER_AREA)
    return out
