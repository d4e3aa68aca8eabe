"""Audio decoding with FFmpeg (PyAV): real encoders make the fixtures, in the test."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from jianwang.domain import InvalidInput, UnsupportedMedia
from jianwang.media.audio import decode_audio
from tests.audio_fixtures import encode

RATE = 44100


def _tone(freq: float, seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _encode(samples: np.ndarray, fmt: str, codec: str, rate: int = RATE) -> bytes:
    """Mono float samples, written as stereo, encoded with FFmpeg into `fmt`/`codec` bytes."""
    return encode(samples, rate, fmt, codec, layout="stereo")


@pytest.mark.parametrize(
    ("fmt", "codec"),
    [
        ("wav", "pcm_s16le"),
        ("flac", "flac"),
        ("mp3", "libmp3lame"),
        ("adts", "aac"),
        ("ogg", "libopus"),
        ("matroska", "libopus"),
    ],
)
def test_decodes_common_formats_to_mono_at_the_analysis_rate(fmt: str, codec: str) -> None:
    data = _encode(
        _tone(1000.0, 3.0, 48000 if codec == "libopus" else RATE),
        fmt,
        codec,
        48000 if codec == "libopus" else RATE,
    )
    audio = decode_audio(data, rate=11025)
    assert audio.rate == 11025
    assert abs(audio.seconds - 3.0) < 0.15  # codec padding and priming only
    spectrum = np.abs(np.fft.rfft(audio.samples[2000 : 2000 + 11025]))
    peak_hz = int(np.argmax(spectrum))  # one second at 11,025 Hz: 1 Hz per bin
    assert abs(peak_hz - 1000) <= 2  # the tone survives decoding and resampling


def test_stops_at_the_time_limit() -> None:
    audio = decode_audio(_encode(_tone(440.0, 5.0), "wav", "pcm_s16le"), max_seconds=2.0)
    assert audio.seconds == pytest.approx(2.0, abs=0.01)


def test_garbage_and_empty_input_are_clear_errors() -> None:
    with pytest.raises(InvalidInput, match="not a readable"):
        decode_audio(b"\x00\x01garbage" * 100)
    with pytest.raises(InvalidInput):
        decode_audio(b"")


def test_truncated_file_is_an_error_or_a_shorter_result() -> None:
    data = _encode(_tone(440.0, 4.0), "mp3", "libmp3lame")
    try:
        audio = decode_audio(data[: len(data) // 2])
    except InvalidInput as exc:
        assert "audio" in str(exc)
    else:
        assert 1.0 < audio.seconds < 3.0


def test_video_without_audio_is_unsupported() -> None:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="matroska") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((32, 32, 3), i * 40, np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(UnsupportedMedia, match="no audio stream"):
        decode_audio(buf.getvalue())
