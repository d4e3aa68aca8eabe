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
from ..fingerprint.geometry import content_box, crop_bars

__all__ = ["Frames", "content_box", "crop_bars", "decode_image", "decode_video"]

#: side of the kept frames (what perceptual hashes need: PDQ works on 64 x 64)
FRAME = 64
#: side of a still image's detailed picture, and the long side of its full picture (the
#: keypoint method describes it at 512 px, and a query also at this size: a picture shown
#: small inside a screenshot keeps its detail)
DETAIL = 128
PICTURE = 1024
#: side of the picture FFmpeg scales to before bars are found and cropped
_PROBE = 128
#: most frames kept at DETAIL side for a query (30 minutes at 5 fps, 150 MB)
MAX_FINE_FRAMES = 9000
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
    #: a video's frames at DETAIL x DETAIL as well (bars removed), when decoded for a query:
    #: what finding and cutting out an inset (picture-in-picture) needs; the first
    #: MAX_FINE_FRAMES frames only
    fine: npt.NDArray[np.uint8] | None = None

    def __len__(self) -> int:
        return int(self.times.shape[0])


def decode_video(
    source: bytes | Path, fps: float = 5.0, max_seconds: float = 4 * 3600.0, fine: bool = False
) -> Frames:
    """Frames of the first video stream of `source`, about `fps` per second; with `fine`,
    also at DETAIL side (a query's frames, for insets).

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
    fines: list[npt.NDArray[np.uint8]] = []
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
                probe = np.ascontiguousarray(grey[:, :_PROBE], dtype=np.uint8)
                box = content_box(probe)  # once for both sizes
                pixels.append(crop_bars(probe, FRAME, box))
                if fine and len(fines) < MAX_FINE_FRAMES:
                    fines.append(crop_bars(probe, DETAIL, box))
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
        fine=np.stack(fines) if fines else None,
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
