"""Checks on uploads: type by content, size, pixel count before decoding, truncation,
and for videos their length, frame count and frame rate, read from the container header
first so that a long or huge video is refused without being decoded."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from PIL import Image

from .config import Limits

# Pillow's own bomb check would refuse at open() with a message of its own; the same
# check is made below, from the header, right after open() and before any decoding.
Image.MAX_IMAGE_PIXELS = None

IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "WEBP": (b"RIFF",),
}


class InputError(Exception):
    """An upload the service refuses; becomes a JSON error with this status and code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def sniff_image_format(data: bytes) -> str | None:
    """The image format the first bytes announce (JPEG, PNG or WebP), else None."""
    if data.startswith(IMAGE_SIGNATURES["JPEG"]):
        return "JPEG"
    if data.startswith(IMAGE_SIGNATURES["PNG"]):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def decode_image(data: bytes, limits: Limits) -> np.ndarray:
    """RGB pixels of an uploaded image, or InputError saying why not.

    The header is read first (Pillow opens lazily) so that a 30,000 x 30,000 PNG is
    refused from its declared size, before a byte of it is inflated.
    """
    if not data:
        raise InputError(422, "empty_file", "The file is empty.")
    if len(data) > limits.max_image_bytes:
        raise too_large(len(data), limits.max_image_bytes)
    kind = sniff_image_format(data)
    if kind is None:
        raise InputError(
            415,
            "unsupported_type",
            "The file is not a JPEG, PNG or WebP image (checked by content).",
        )
    try:
        image = Image.open(io.BytesIO(data), formats=[kind])
        width, height = image.size
        if width <= 0 or height <= 0:
            raise InputError(422, "corrupt_image", "The image declares no pixels.")
        if width * height > limits.max_pixels:
            raise InputError(
                413,
                "too_many_pixels",
                f"The image is {width}x{height} pixels; at most {limits.max_pixels:,} pixels are accepted.",
            )
        image.load()
    except InputError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        message = str(exc)
        if "truncated" in message or "broken data stream" in message:
            raise InputError(
                422, "truncated_image", "The image is truncated: its data ends early."
            ) from exc
        raise InputError(422, "corrupt_image", f"The image cannot be decoded: {message}") from exc
    rgb = image.convert("RGB")
    return np.asarray(rgb)


def too_large(size: int, limit: int) -> InputError:
    return InputError(
        413,
        "file_too_large",
        f"The file is {size:,} bytes; at most {limit:,} bytes are accepted.",
    )


# ---------------------------------------------------------------------------- video


def sniff_video_container(data: bytes) -> str | None:
    """The container the first bytes announce (MP4/MOV, Matroska/WebM, AVI), else None."""
    if data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "avi"
    return None


@dataclass
class VideoFrames:
    """Frames sampled from a video at about the analysis rate, with their times."""

    width: int
    height: int
    frame_rate: float
    duration: float
    decoded_frames: int
    frames: list[np.ndarray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


def read_video(data: bytes, limits: Limits) -> VideoFrames:
    """Sampled RGB frames of an uploaded video, or InputError saying why not.

    The container header's duration, frame rate and size are checked before decoding;
    decoding then stops as soon as the video proves longer than the limit, so a video
    whose header lies or says nothing is refused after at most the allowed length.
    """
    import av  # PyAV; imported here so that image-only callers need not load FFmpeg

    if not data:
        raise InputError(422, "empty_file", "The file is empty.")
    if len(data) > limits.max_video_bytes:
        raise too_large(len(data), limits.max_video_bytes)
    if sniff_video_container(data) is None:
        raise InputError(
            415,
            "unsupported_type",
            "The file is not an MP4, MOV, WebM/Matroska or AVI video (checked by content).",
        )
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError) as exc:
        raise InputError(422, "corrupt_video", f"The video cannot be opened: {exc}") from exc
    with container:
        if not container.streams.video:
            raise InputError(422, "no_video_stream", "The file holds no video stream.")
        stream = container.streams.video[0]
        width = int(stream.codec_context.width or 0)
        height = int(stream.codec_context.height or 0)
        if width * height > limits.max_video_pixels:
            raise InputError(
                413,
                "too_many_pixels",
                f"The video is {width}x{height}; at most {limits.max_video_pixels:,} pixels a frame are accepted.",
            )
        duration = _declared_duration(container, stream)
        if duration is not None and duration > limits.max_video_seconds:
            raise video_too_long(duration, limits)
        rate = _declared_rate(stream)
        if rate is not None:
            check_rate(rate, limits)
        declared_frames = int(stream.frames or 0)
        if declared_frames and declared_frames > limits.max_video_frames:
            raise too_many_frames(declared_frames, limits)
        try:
            result = _sample_frames(container, stream, rate, limits)
        except (av.FFmpegError, ValueError) as exc:
            raise InputError(422, "corrupt_video", f"The video cannot be decoded: {exc}") from exc
    if result.decoded_frames < limits.min_video_frames:
        raise InputError(
            422,
            "too_few_frames",
            f"The video has {result.decoded_frames} frame(s); at least {limits.min_video_frames} are needed.",
        )
    if rate is None:
        measured = (result.decoded_frames - 1) / result.duration if result.duration > 0 else 0.0
        check_rate(measured, limits)
        result.frame_rate = measured
    return result


def _declared_duration(container: Any, stream: Any) -> float | None:
    seconds: list[float] = []
    raw = getattr(container, "duration", None)
    if raw:
        seconds.append(raw / 1_000_000)  # AV_TIME_BASE
    stream_duration = getattr(stream, "duration", None)
    time_base = getattr(stream, "time_base", None)
    if stream_duration and time_base:
        seconds.append(float(stream_duration * time_base))
    return max(seconds) if seconds else None


def _declared_rate(stream: Any) -> float | None:
    rate = getattr(stream, "average_rate", None) or getattr(stream, "base_rate", None)
    if isinstance(rate, Fraction | int | float) and rate > 0:
        return float(rate)
    return None


def _sample_frames(container: Any, stream: Any, rate: float | None, limits: Limits) -> VideoFrames:
    step = max(1, round((rate or limits.analysis_frame_rate) / limits.analysis_frame_rate))
    result = VideoFrames(width=0, height=0, frame_rate=rate or 0.0, duration=0.0, decoded_frames=0)
    first_time: float | None = None
    for index, frame in enumerate(_decode(container, stream)):
        moment = float(frame.time) if frame.time is not None else index / (rate or 1.0)
        if first_time is None:
            first_time = moment
        elapsed = moment - first_time
        if elapsed > limits.max_video_seconds:
            raise video_too_long(elapsed, limits)
        result.decoded_frames += 1
        if result.decoded_frames > limits.max_video_frames:
            raise too_many_frames(result.decoded_frames, limits)
        result.duration = elapsed
        if index % step == 0:
            pixels = frame.to_ndarray(format="rgb24")
            result.height, result.width = pixels.shape[:2]
            result.frames.append(pixels)
            result.times.append(elapsed)
    return result


def _decode(container: Any, stream: Any) -> Iterator[Any]:
    yield from container.decode(stream)


def check_rate(rate: float, limits: Limits) -> None:
    if not limits.min_frame_rate <= rate <= limits.max_frame_rate:
        raise InputError(
            422,
            "frame_rate_out_of_range",
            f"The video runs at {rate:.2f} frames/s; {limits.min_frame_rate:g} to {limits.max_frame_rate:g} are accepted.",
        )


def video_too_long(seconds: float, limits: Limits) -> InputError:
    return InputError(
        422,
        "video_too_long",
        f"The video lasts {seconds:,.0f} s; at most {limits.max_video_seconds:g} s are accepted.",
    )


def too_many_frames(frames: int, limits: Limits) -> InputError:
    return InputError(
        422,
        "too_many_frames",
        f"The video has at least {frames:,} frames; at most {limits.max_video_frames:,} are accepted.",
    )
