"""Media type from content, never from the file name."""

from __future__ import annotations

import re

import filetype

from ..domain import MediaType

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_HTML_RE = re.compile(
    rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<meta\s|<title>|<div[\s>]|<p>|<br\s*/?>",
    re.IGNORECASE,
)


def sniff(data: bytes) -> tuple[MediaType, str]:
    """(media type, format) of `data`: e.g. (TEXT, "html"), (TEXT, "plain"), (IMAGE, "png"),
    (FILE, "zip"), (FILE, "binary"). Looks at the first 64 KiB at most."""
    head = data[:65536]
    if not head:
        return MediaType.TEXT, "empty"
    if head.startswith(_BOMS) or head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return MediaType.TEXT, _text_kind(head)
    # Text never carries the NUL and control bytes that every binary container has near its
    # start; deciding that first spares text (the common input) the magic-number search.
    if _looks_textual(head[:8192]) and not head.startswith(_TEXTUAL_MAGIC):
        return MediaType.TEXT, _text_kind(head)
    if _mpeg_ts(head):  # HLS segments, DVB/IPTV recordings: no magic number, a sync pattern
        return MediaType.VIDEO, "ts"
    kind = filetype.guess(head)
    if kind is not None:
        major = kind.mime.split("/")[0]
        media = {
            "image": MediaType.IMAGE,
            "audio": MediaType.AUDIO,
            "video": MediaType.VIDEO,
        }.get(major, MediaType.FILE)
        return media, kind.extension
    if _looks_textual(head):
        return MediaType.TEXT, _text_kind(head)
    return MediaType.FILE, "binary"


def _mpeg_ts(head: bytes) -> bool:
    """An MPEG transport stream: the sync byte 0x47 every 188 bytes (7 packets in a row)."""
    if len(head) < 188 * 7:
        return False
    return all(head[i * 188] == 0x47 for i in range(7))


def _text_kind(head: bytes) -> str:
    start = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start[:1] == b"<" and _HTML_RE.search(head[:4096]):
        return "html"
    if _HTML_RE.search(head[:1024]) and len(_HTML_RE.findall(head[:8192])) >= 3:
        return "html"
    return "plain"


def _looks_textual(head: bytes) -> bool:
    """Text in any common encoding: no NUL bytes and few C0 control bytes."""
    if b"\x00" in head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROLS))
    return controls <= len(head) * 0.01


# binary formats whose first bytes can look like text
_TEXTUAL_MAGIC = (b"%PDF", b"ID3", b"{\\rtf", b"%!PS", b"GIF8")

_CONTROLS = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
