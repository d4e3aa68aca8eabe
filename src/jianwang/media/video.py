"""Pictures of any common container (MP4, MKV, WebM, FLV, AVI, MPEG-TS, HLS segments) and
still images, decoded in-process (FFmpeg through PyAV; Pillow for images) into small grey
frames that the visual methods hash.

Decoding is streamed: frames are sampled at `fps` as they come (non-reference frames are not
even decoded, which halves the work on H.264/HEVC), scaled inside FFmpeg to a small grey
picture, cleared of black bars (letterbox and pillarbox) and kept as FRAME x FRAME bytes.
Memory is bounded by the output: 4 KB per kept frame (a two-hour film at 5 fps: 150 MB).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..domain import InvalidInput, TooLarge, UnsupportedMedia

#: side of the kept frames (what perceptual hashes need: PDQ works on 64 x 64)
FRAME = 64
#: side of a still image's detailed picture, and the long side of its full picture
DETAIL = 128
PICTURE = 512
#: side of the picture FFmpeg scales to before bars are found and cropped
_PROBE = 128
#: a row or column of the border is "black" when its brightest pixel is below this
_BAR_LEVEL = 40
#: bars never take more than this share of either dimension (a dark frame is not all bars),
#: or _MAX_CENTRED_BAR when they are centred (a wide film letterboxed into 4:3 and squeezed)
_MAX_BAR = 0.35
_MAX_CENTRED_BAR = 0.55
#: images above this many pixels are refused (decompression bombs)
MAX_IMAGE_PIXELS = 80_000_000


@dataclass(frozen=True)
class Frames:
    """Sampled frames: `pixels[i]` (FRAME x FRAME grey, bars removed) shown at `times[i]`
    seconds; `duration` is the length of the input (0 for a still image); `size` is the
    source picture's (width, height)."""

    times: npt.NDArray[np.float32]
    pixels: npt.NDArray[np.uint8]
    duration: float
    size: tuple[int, int]
    still: bool = False
    #: a still image's picture at twice the side (DETAIL x DETAIL), for hashing its parts
    detail: npt.NDArray[np.uint8] | None = None
    #: a still image in its own proportions, long side at most PICTURE pixels, bars kept
    #: (for local features)
    picture: npt.NDArray[np.uint8] | None = None

    def __len__(self) -> int:
        return int(self.times.shape[0])


def content_box(grey: npt.NDArray[np.uint8]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the picture inside black bars: rows and columns at the
    borders whose brightest pixel stays below `_BAR_LEVEL` are bars, up to `_MAX_BAR` of the
    dimension each way (a dark scene is not taken for bars)."""
    h, w = grey.shape
    rows = grey.max(axis=1) >= _BAR_LEVEL
    cols = grey.max(axis=0) >= _BAR_LEVEL
    if not rows.any() or not cols.any():
        return 0, h, 0, w
    top, bottom = int(np.argmax(rows)), h - int(np.argmax(rows[::-1]))
    left, right = int(np.argmax(cols)), w - int(np.argmax(cols[::-1]))
    if not _plausible_bars(top, h - bottom, h):
        top, bottom = 0, h
    if not _plausible_bars(left, w - right, w):
        left, right = 0, w
    # a bar boundary is soft after scaling: step one more pixel in
    if top > 0:
        top = min(top + 1, bottom - 1)
    if bottom < h:
        bottom = max(bottom - 1, top + 1)
    if left > 0:
        left = min(left + 1, right - 1)
    if right < w:
        right = max(right - 1, left + 1)
    return top, bottom, left, right


def _plausible_bars(a: int, b: int, side: int) -> bool:
    """Bars of `a` and `b` pixels on opposite sides: up to `_MAX_BAR` of the side in all, or up
    to `_MAX_CENTRED_BAR` when they are about equal (a letterboxed picture is centred; a dark
    scene with one bright corner is not)."""
    total = a + b
    if total <= _MAX_BAR * side:
        return True
    return total <= _MAX_CENTRED_BAR * side and abs(a - b) <= 0.05 * side


def crop_bars(grey: npt.NDArray[np.uint8], side: int = FRAME) -> npt.NDArray[np.uint8]:
    """`grey` without its black bars, scaled to side x side (area interpolation)."""
    import cv2

    top, bottom, left, right = content_box(grey)
    inner = grey[top:bottom, left:right]
    return np.ascontiguousarray(cv2.resize(inner, (side, side), interpolation=cv2.INTER_AREA))


def decode_video(source: bytes | Path, fps: float = 5.0, max_seconds: float = 4 * 3600.0) -> Frames:
    """Frames of the first video stream of `source`, about `fps` per second.

    Raises `UnsupportedMedia` when there is no video stream and `InvalidInput` when the data
    is not a container FFmpeg can read or no frame decodes. A stream damaged after some
    frames keeps the frames before the damage (what a truncated upload still shows)."""
    import av

    data = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        container = av.open(data, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise InvalidInput(f"not a readable video container ({_reason(exc)})") from None
    times: list[float] = []
    pixels: list[npt.NDArray[np.uint8]] = []
    size = (0, 0)
    try:
        streams = [s for s in container.streams if s.type == "video" and not _is_cover_art(s)]
        if not streams:
            raise UnsupportedMedia("the container has no video stream")
        stream: Any = streams[0]
        stream.thread_type = "NONE"  # one core per file; the engine runs files in parallel
        # frames no other frame refers to need not be decoded: sampling skips most anyway
        stream.codec_context.skip_frame = "NONREF"
        step = 1.0 / fps
        due = 0.0
        start: float | None = None
        last = 0.0
        try:
            for frame in container.decode(stream):
                if not isinstance(frame, av.VideoFrame):
                    continue
                if frame.pts is None or frame.time_base is None:
                    t = last + step
                else:
                    t = float(frame.pts * frame.time_base)
                if start is None:
                    start = t
                t -= start
                last = t
                if t > max_seconds:
                    break
                if t + 1e-6 < due:
                    continue
                due = t + step if t > due + step else due + step
                grey = frame.reformat(
                    width=_PROBE, height=_PROBE, format="gray", interpolation="AREA"
                ).to_ndarray()
                size = (frame.width, frame.height)
                times.append(t)
                pixels.append(crop_bars(np.ascontiguousarray(grey[:, :_PROBE])))
        except (av.error.FFmpegError, ValueError) as exc:
            if not pixels:
                raise InvalidInput(
                    f"damaged video: no frame could be decoded ({_reason(exc)})"
                ) from None
            # keep what decoded: a truncated upload is still evidence of what it showed
        duration = last
        if stream.duration is not None and stream.time_base is not None:
            duration = max(duration, float(stream.duration * stream.time_base))
    finally:
        container.close()
    if not pixels:
        raise InvalidInput("the video stream holds no decodable frame")
    return Frames(
        np.asarray(times, dtype=np.float32),
        np.stack(pixels),
        float(min(duration, max_seconds)),
        size,
    )


def decode_image(data: bytes) -> Frames:
    """A still image (JPEG, PNG, GIF, WebP, BMP, TIFF) as one frame; decompression bombs and
    damaged files end in a clear error."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS:
                raise TooLarge(f"image is {w} x {h} pixels, over the limit of {MAX_IMAGE_PIXELS:,}")
            img.draft("L", (PICTURE, PICTURE))  # JPEG: decode at a reduced scale
            grey = img.convert("L")
            grey.thumbnail((PICTURE, PICTURE))
            arr = np.asarray(grey, dtype=np.uint8)
    except TooLarge:
        raise
    except Image.DecompressionBombError as exc:
        raise TooLarge(f"image refused as a decompression bomb ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"damaged or unreadable image ({_reason(exc)})") from None
    import cv2

    big = np.asarray(
        cv2.resize(arr, (_PROBE * 2, _PROBE * 2), interpolation=cv2.INTER_AREA), dtype=np.uint8
    )
    detail = crop_bars(big, DETAIL)
    frame = np.ascontiguousarray(
        cv2.resize(detail, (FRAME, FRAME), interpolation=cv2.INTER_AREA), dtype=np.uint8
    )
    return Frames(
        np.zeros(1, dtype=np.float32),
        frame[None],
        0.0,
        (w, h),
        still=True,
        detail=detail,
        picture=np.ascontiguousarray(arr),
    )


def _is_cover_art(stream: object) -> bool:
    disposition = getattr(stream, "disposition", None)
    try:
        return bool(disposition is not None and disposition & 0x400)  # ATTACHED_PIC
    except TypeError:
        return False


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
