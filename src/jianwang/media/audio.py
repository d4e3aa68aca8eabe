"""Audio of any common container (MP3, AAC/M4A, Ogg, Opus, FLAC, WAV, the audio track of a
video) decoded in-process by FFmpeg (PyAV), streamed and resampled to one analysis rate.

No subprocess per file: PyAV decodes packet by packet, so memory stays bounded by the
output (mono float32 at the analysis rate: 44 KB per second at 11,025 Hz) and decoding stops
at `max_seconds`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..domain import InvalidInput, UnsupportedMedia

#: default analysis rate (Hz): what landmark fingerprints need, and a quarter of CD rate
ANALYSIS_RATE = 11025


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at `rate` Hz; `seconds` is their duration."""

    samples: npt.NDArray[np.float32]
    rate: int

    @property
    def seconds(self) -> float:
        return self.samples.shape[0] / self.rate


def decode_audio(
    source: bytes | Path, rate: int = ANALYSIS_RATE, max_seconds: float = 4 * 3600.0
) -> Audio:
    """Decode the first audio stream of `source` to mono at `rate` Hz.

    Raises `UnsupportedMedia` when there is no audio stream and `InvalidInput` when the data
    is not a container FFmpeg can read or is damaged beyond the first frames. Decoding stops
    after `max_seconds` of audio."""
    import av  # imported here: the text path never needs FFmpeg

    data = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        container = av.open(data, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InvalidInput(f"not a readable audio or video container ({_reason(exc)})") from None
    try:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise UnsupportedMedia("the container has no audio stream")
        stream = streams[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks: list[npt.NDArray[np.float32]] = []
        total = 0
        limit = int(max_seconds * rate)
        try:
            for frame in container.decode(stream):
                if not isinstance(frame, av.AudioFrame):
                    continue
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    chunks.append(arr)
                    total += arr.shape[0]
                if total >= limit:
                    break
            if total < limit:
                for out in resampler.resample(None):
                    arr = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    chunks.append(arr)
                    total += arr.shape[0]
        except (av.error.FFmpegError, ValueError) as exc:
            if total == 0:
                raise InvalidInput(
                    f"damaged audio: no frame could be decoded ({_reason(exc)})"
                ) from None
            raise InvalidInput(
                f"damaged audio after {total / rate:.1f} s ({_reason(exc)})"
            ) from None
    finally:
        container.close()
    if total == 0:
        raise InvalidInput("the audio stream holds no samples")
    samples = np.concatenate(chunks)[:limit]
    return Audio(np.clip(samples, -1.0, 1.0), rate)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
