"""What a visitor's upload is, read from its content (never its name), before any call:
images by Pillow's header (format and pixel count, then a full decode to catch truncated
files), videos by their container signature and size. Deeper video checks (length,
frames, frame rate) are the service's; its JSON error is shown as it says."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    width: int = 0
    height: int = 0


def check_size(file: IO[bytes], size: int, max_bytes: int) -> None:
    if size <= 0:
        raise ValidationError(_("The file is empty."), code="empty")
    if size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s; this demo takes at most %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(max_bytes)},
            code="too_large",
        )


def check_image(file: IO[bytes], *, max_pixels: int) -> CheckedUpload:
    file.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                kind, (width, height) = image.format, image.size
                if kind not in IMAGE_TYPES:
                    raise ValidationError(_("Upload a JPEG, PNG or WebP image."), code="image_type")
                if width * height > max_pixels:
                    raise ValidationError(
                        _(
                            "The image is %(width)s by %(height)s pixels; this demo takes "
                            "at most %(limit)s pixels."
                        )
                        % {"width": width, "height": height, "limit": max_pixels},
                        code="too_many_pixels",
                    )
                image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            _("The image has far too many pixels."), code="too_many_pixels"
        ) from None
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError):
        raise ValidationError(
            _("This file is not a readable image (damaged, cut short, or not an image)."),
            code="not_image",
        ) from None
    finally:
        file.seek(0)
    return CheckedUpload(IMAGE_TYPES[str(kind)], width, height)


def check_video(file: IO[bytes]) -> CheckedUpload:
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return CheckedUpload("video/mp4")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return CheckedUpload("video/x-msvideo")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return CheckedUpload("video/webm")
    raise ValidationError(_("Upload an MP4, WebM or AVI video."), code="video_type")
