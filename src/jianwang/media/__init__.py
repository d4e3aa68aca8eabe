"""Decoding only: bytes in, signals the fingerprint methods understand out."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import InvalidInput, MediaType, TooLarge, UnsupportedMedia
from .audio import Audio, decode_audio
from .html import extract_main_text
from .sniff import sniff
from .text import declared_encoding, decode_text

__all__ = [
    "Audio",
    "Decoded",
    "decode",
    "decode_audio",
    "extract_main_text",
    "rendition_signal",
    "sniff",
]

#: longest audio decoded from one input (a feature film's soundtrack)
MAX_AUDIO_SECONDS = 4 * 3600.0


@dataclass(frozen=True)
class Decoded:
    """A decoded input: `signal` is what the media's methods take (str for text)."""

    media: MediaType
    format: str
    signal: object
    encoding: str | None = None


def decode(data: bytes, limit: int | None = None) -> Decoded:
    """Sniff and decode `data`; raise a typed, one-line error for what cannot be used."""
    if limit is not None and len(data) > limit:
        raise TooLarge(
            f"input is {len(data) / 1e6:.1f} MB, over the limit of {limit / 1e6:.1f} MB "
            "(JIANWANG_MAX_INPUT_BYTES)"
        )
    media, fmt = sniff(data)
    if fmt == "empty" or not data.strip():
        raise InvalidInput("input is empty")
    if media in (MediaType.AUDIO, MediaType.VIDEO):
        # a video is identified by its soundtrack until video methods arrive
        return Decoded(MediaType.AUDIO, fmt, decode_audio(data, max_seconds=MAX_AUDIO_SECONDS))
    if media != MediaType.TEXT:
        if fmt == "binary":
            raise UnsupportedMedia("input is binary data of no known format")
        raise UnsupportedMedia(f"no identification method for {media.value} ({fmt}) yet")
    declared = declared_encoding(data) if fmt == "html" else None
    text, enc = decode_text(data, declared)
    if fmt == "html":
        text = extract_main_text(text)
    if not text.strip():
        raise InvalidInput("input has no text content")
    return Decoded(media, fmt, text, enc)


def rendition_signal(media: MediaType, data: bytes) -> object:
    """A stored rendition (what registration fingerprinted) back as the method's signal:
    the extracted text for text methods, the original recording for audio."""
    if media == MediaType.TEXT:
        return data.decode("utf-8")
    return decode(data).signal
