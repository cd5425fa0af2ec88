"""What the background processing of a stored file does, kind by kind.

Each step raises ProcessingFailed with a reason a person can act on; the service records
it on the StoredFile, which the admin shows and filters on.
"""

from __future__ import annotations

import re
from pathlib import Path

import mutagen
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

# Containers whose duration mutagen cannot read; an unknown duration is not a failure.
DURATION_OPTIONAL = {"video/webm", "video/x-matroska", "video/quicktime"}

SRT_TIME = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})")
SRT_CUE_TIMING = re.compile(rf"^\s*{SRT_TIME.pattern}\s*-->\s*{SRT_TIME.pattern}(.*)$")


class ProcessingFailed(Exception):
    pass


def read_duration(path: Path, mime_type: str) -> float | None:
    try:
        media = mutagen.File(path)
    except mutagen.MutagenError as error:
        if mime_type in DURATION_OPTIONAL:
            return None
        raise ProcessingFailed(_("The media file could not be read: %s") % error) from error
    length = getattr(getattr(media, "info", None), "length", None)
    if media is None or not length:
        if mime_type in DURATION_OPTIONAL:
            return None
        raise ProcessingFailed(_("The media file has no readable audio or video stream."))
    return round(float(length), 3)


def check_image(path: Path) -> None:
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ProcessingFailed(_("The image could not be read: %s") % error) from error


def decode_subtitles(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProcessingFailed(_("Subtitles must be UTF-8 text.")) from error


def check_webvtt(text: str) -> None:
    if not text.startswith("WEBVTT"):
        raise ProcessingFailed(_("A WebVTT file must start with the line WEBVTT."))


def srt_to_webvtt(text: str) -> str:
    """SubRip cues to WebVTT: a header, dots for decimal commas, no cue numbers needed."""
    cues: list[str] = []
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    for block in blocks:
        lines = block.split("\n")
        if lines and lines[0].strip().isdigit():
            lines = lines[1:]
        if not lines:
            continue
        timing = SRT_CUE_TIMING.match(lines[0])
        if timing is None:
            raise ProcessingFailed(_("Not a valid SRT cue: %s") % lines[0][:80])
        groups = timing.groups()
        start = _vtt_time(groups[0:4])
        end = _vtt_time(groups[4:8])
        body = [line for line in lines[1:] if "-->" not in line]
        cues.append("\n".join([f"{start} --> {end}", *body]))
    if not cues:
        raise ProcessingFailed(_("The SRT file has no cues."))
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def _vtt_time(parts: tuple[str, ...]) -> str:
    hours, minutes, seconds, millis = parts
    return f"{int(hours):02d}:{minutes}:{seconds}.{millis.ljust(3, '0')}"
