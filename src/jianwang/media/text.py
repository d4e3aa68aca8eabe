"""Bytes to text in any common encoding (UTF-8/16/32, GB18030/GBK, Big5, …), detected."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from ..domain import InvalidInput

_META_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
# Declared labels that browsers read as a superset encoding (WHATWG Encoding Standard).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
}


def declared_encoding(data: bytes) -> str | None:
    """The charset an HTML document declares in its first 4 KiB, if it is a known codec."""
    m = _META_RE.search(data[:4096])
    if not m:
        return None
    label = m.group(1).decode("ascii", "replace").lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode `data`; return (text, encoding used). A BOM wins, then a declared charset that
    decodes cleanly, then strict UTF-8, then detection. Undecodable bytes in otherwise clear
    text become U+FFFD rather than failing."""
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc
    if declared:
        try:
            return data.decode(declared), declared
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few damaged bytes (a truncated download, a bad copy): keep it as UTF-8;
    # text in a legacy encoding fails UTF-8 on most of its non-ASCII bytes, never on a few.
    lenient = data.decode("utf-8", errors="replace")
    if lenient.count("\ufffd") <= max(1, len(data) // 200):
        return lenient, "utf-8"
    best = charset_normalizer.from_bytes(data[: 1 << 20]).best()
    if best is None:
        raise InvalidInput("cannot decode input as text in any known encoding")
    enc = best.encoding
    enc = _SUPERSETS.get(enc, enc)
    return data.decode(enc, errors="replace"), enc
