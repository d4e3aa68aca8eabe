"""Synthetic songs for the audio tests and the benchmark's smoke run: random melodies and
chords of harmonic notes with attack/decay envelopes, over a bass line and drum hits,
encoded by FFmpeg (PyAV) so that every test goes through real decoders.

Made-up music, so the tests check behaviour (right song, right place, speed and pitch read
back), not accuracy: the benchmark measures accuracy on real recordings."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

_CODECS = {"ogg": "libopus", "flac": "flac", "mp3": "libmp3lame", "wav": "pcm_s16le", "ipod": "aac"}


def song(seed: int, seconds: float, rate: int = 22050) -> np.ndarray:
    """`seconds` of a reproducible synthetic song at `rate` Hz, mono float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n, dtype=np.float64)
    scale = np.array([0, 2, 3, 5, 7, 8, 10, 12, 14, 15, 17, 19])
    root = 45 + int(rng.integers(0, 12))  # MIDI note of the key
    t = 0.0
    while t < seconds:
        dur = float(rng.choice([0.1, 0.15, 0.2, 0.3]))
        notes = root + 12 + rng.choice(scale, size=int(rng.integers(2, 5)), replace=False)
        if rng.random() < 0.5:
            notes = np.append(notes, root - 12 + int(rng.choice([0, 5, 7])))  # bass
        for note in notes:
            _add_note(
                out,
                rate,
                t,
                dur * float(rng.uniform(1.0, 1.8)),
                440.0 * 2 ** ((note - 69) / 12),
                float(rng.uniform(0.08, 0.25)),
                rng,
            )
        if rng.random() < 0.6:  # a drum hit: a burst of decaying noise
            i, m = int(t * rate), int(0.08 * rate)
            seg = out[i : i + m]
            seg += (
                0.15
                * rng.standard_normal(seg.shape[0])
                * np.exp(-np.arange(seg.shape[0]) / (0.015 * rate))
            )
        t += dur
    peak = float(np.max(np.abs(out))) or 1.0
    return (0.8 * out / peak).astype(np.float32)


def _add_note(
    out: np.ndarray,
    rate: int,
    start: float,
    dur: float,
    freq: float,
    amp: float,
    rng: np.random.Generator,
) -> None:
    i = int(start * rate)
    m = min(int(dur * rate), out.shape[0] - i)
    if m <= 0:
        return
    tt = np.arange(m) / rate
    env = np.minimum(1.0, tt / 0.01) * np.exp(-tt / (0.35 * dur))
    wave = np.zeros(m)
    for h in range(1, 6):
        if freq * h < rate / 2:
            wave += (0.6 ** (h - 1)) * np.sin(2 * np.pi * freq * h * tt + rng.uniform(0, 2 * np.pi))
    out[i : i + m] += amp * env * wave


def encode(
    samples: np.ndarray,
    rate: int,
    fmt: str,
    codec: str | None = None,
    layout: str = "mono",
) -> bytes:
    """Mono float samples as a file of container `fmt`: ogg (Opus), mp3, wav, flac, ipod (AAC
    in M4A), or any container with an explicit `codec`; `layout="stereo"` writes the samples
    to both channels."""
    codec = codec or _CODECS[fmt]
    if codec == "libopus" and rate != 48000:  # Opus runs at 48 kHz only
        samples = resample(samples, rate / 48000)
        rate = 48000
    channels = 2 if layout == "stereo" else 1
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)  # type: ignore[call-overload]
        stream.layout = layout
        sample_fmt = stream.codec_context.format
        frame_size = stream.codec_context.frame_size or 1024
        pts = 0
        x = np.clip(samples, -1, 1)
        for start in range(0, x.shape[0], frame_size):
            chunk = x[start : start + frame_size]
            if sample_fmt.name.startswith("s16"):
                chunk = (chunk * 32767).astype(np.int16)
            elif sample_fmt.name.startswith("s32"):
                chunk = (chunk * 2147483000).astype(np.int32)
            else:
                chunk = chunk.astype(np.float32)
            # planar: one row per channel; packed: the channels interleaved in one row
            if sample_fmt.is_planar:
                arr = np.ascontiguousarray(np.tile(chunk, (channels, 1)))
            else:
                arr = np.ascontiguousarray(np.repeat(chunk, channels).reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(arr, format=sample_fmt.name, layout=layout)
            frame.sample_rate = rate
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            pts += chunk.shape[0]
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def resample(x: np.ndarray, factor: float) -> np.ndarray:
    """Play `x` `factor` times faster (speed and pitch together), by interpolation."""
    n = int(x.shape[0] / factor)
    return np.interp(np.arange(n) * factor, np.arange(x.shape[0]), x).astype(np.float32)
