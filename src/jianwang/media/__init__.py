"""Decoding only: bytes in, signals the fingerprint methods understand out."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import InvalidInput, MediaType, TooLarge, UnsupportedMedia
from .audio import Audio, decode_audio
from .html import extract_main_text
from .sniff import sniff
from .text import declared_encoding, decode_text
from .video import Frames, decode_image, decode_video

__all__ = [
    "Audio",
    "Decoded",
    "Frames",
    "decode",
    "decode_audio",
    "decode_image",
    "decode_video",
    "extract_main_text",
    "rendition_signal",
    "sniff",
]

#: longest audio or video decoded from one input (a feature film)
MAX_AUDIO_SECONDS = 4 * 3600.0
MAX_VIDEO_SECONDS = 4 * 3600.0
#: frames sampled per second of video
VIDEO_FPS = 5.0


@dataclass(frozen=True)
class Decoded:
    """A decoded input: `signal` is what the media's methods take (str for text, `Audio`,
    `Frames` for video and images); a video's `soundtrack` goes to the audio methods."""

    media: MediaType
    format: str
    signal: object
    encoding: str | None = None
    soundtrack: Audio | None = None

    def signals(self) -> list[tuple[MediaType, object]]:
        """Every (media, signal) the input offers its methods: a video's pictures and its
        soundtrack."""
        out: list[tuple[MediaType, object]] = [(self.media, self.signal)]
        if self.soundtrack is not None:
            out.append((MediaType.AUDIO, self.soundtrack))
        return out


def decode(data: bytes, limit: int | None = None, query: bool = False) -> Decoded:
    """Sniff and decode `data`; raise a typed, one-line error for what cannot be used. A
    `query` (what is identified, not registered) keeps more of a video's pictures: see
    `Frames.fine`."""
    if limit is not None and len(data) > limit:
        raise TooLarge(
            f"input is {len(data) / 1e6:.1f} MB, over the limit of {limit / 1e6:.1f} MB "
            "(JIANWANG_MAX_INPUT_BYTES)"
        )
    media, fmt = sniff(data)
    if fmt == "empty" or not data.strip():
        raise InvalidInput("input is empty")
    if media == MediaType.VIDEO:
        try:
            frames = decode_video(data, VIDEO_FPS, MAX_VIDEO_SECONDS, fine=query)
        except UnsupportedMedia:  # an audio-only MP4/M4A, WebM or Matroska
            return Decoded(MediaType.AUDIO, fmt, decode_audio(data, max_seconds=MAX_AUDIO_SECONDS))
        try:
            sound: Audio | None = decode_audio(data, max_seconds=MAX_AUDIO_SECONDS)
        except (UnsupportedMedia, InvalidInput):
            sound = None  # a silent video, or a damaged soundtrack: the pictures still count
        return Decoded(MediaType.VIDEO, fmt, frames, soundtrack=sound)
    if media == MediaType.AUDIO:
        return Decoded(MediaType.AUDIO, fmt, decode_audio(data, max_seconds=MAX_AUDIO_SECONDS))
    if media == MediaType.IMAGE:
        return Decoded(MediaType.IMAGE, fmt, decode_image(data))
    if media == MediaType.FILE:
        # programs, game data, documents, archives taken whole: the file method reads bytes
        return Decoded(MediaType.FILE, fmt, data)
    declared = declared_encoding(data) if fmt == "html" else None
    text, enc = decode_text(data, declared)
    if fmt == "html":
        text = extract_main_text(text)
    if not text.strip():
        raise InvalidInput("input has no text content")
    return Decoded(media, fmt, text, enc)


def rendition_signal(media: MediaType, data: bytes) -> object:
    """A stored rendition (what registration fingerprinted) back as the method's signal:
    the extracted text for text methods, the original recording's sound for audio, its
    pictures for the frame method."""
    if media == MediaType.TEXT:
        return data.decode("utf-8")
    if media == MediaType.FILE:
        return data
    # only what the method reads: a film's soundtrack without its pictures, and the reverse
    kind, fmt = sniff(data)
    if media == MediaType.AUDIO and kind in (MediaType.AUDIO, MediaType.VIDEO):
        return decode_audio(data, max_seconds=MAX_AUDIO_SECONDS)
    if kind == MediaType.VIDEO:
        return decode_video(data, VIDEO_FPS, MAX_VIDEO_SECONDS)
    if kind == MediaType.IMAGE:
        return decode_image(data)
    raise UnsupportedMedia(f"the rendition holds no {media.value} ({fmt})")
