"""Limits and knobs of the vision service, each read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be a positive number, got {raw!r}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be a positive number, got {raw!r}")
    return value


@dataclass(frozen=True)
class Limits:
    """What an upload may be; everything past these is refused before heavy work starts."""

    max_image_bytes: int
    max_video_bytes: int
    max_pixels: int
    max_video_pixels: int
    max_video_seconds: float
    min_video_frames: int
    max_video_frames: int
    min_frame_rate: float
    max_frame_rate: float
    analysis_frame_rate: float
    concurrency: int

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_image_bytes=_int("VISION_MAX_IMAGE_BYTES", 10 * 1024 * 1024),
            max_video_bytes=_int("VISION_MAX_VIDEO_BYTES", 50 * 1024 * 1024),
            max_pixels=_int("VISION_MAX_PIXELS", 40_000_000),
            max_video_pixels=_int("VISION_MAX_VIDEO_PIXELS", 1920 * 1080),
            max_video_seconds=_float("VISION_MAX_VIDEO_SECONDS", 60.0),
            min_video_frames=_int("VISION_MIN_VIDEO_FRAMES", 10),
            max_video_frames=_int("VISION_MAX_VIDEO_FRAMES", 3600),
            min_frame_rate=_float("VISION_MIN_FRAME_RATE", 5.0),
            max_frame_rate=_float("VISION_MAX_FRAME_RATE", 120.0),
            analysis_frame_rate=_float("VISION_ANALYSIS_FRAME_RATE", 10.0),
            concurrency=_int("VISION_CONCURRENCY", 2),
        )
