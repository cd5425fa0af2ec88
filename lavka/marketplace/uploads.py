"""Checks on uploaded images and digital files, run before anything is stored, and where
they are stored.

The type of an image is read from its bytes (Pillow parses the header), never from its
name or the browser's Content-Type, and the path on disk is a random name with the
extension of the detected type, so a hostile name never chooses where a file lands.
Digital products' files go to a storage outside MEDIA_ROOT that has no URL: they are
handed to buyers by the shop after payment, never linked to directly.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

# Pillow format name -> extension of the file kept on disk.
IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}
# Larger pictures are refused before Pillow decodes them (a decompression bomb).
MAX_IMAGE_PIXELS = 40_000_000


def _size(upload: Any) -> int:
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, os.SEEK_END)
        size = upload.tell()
        upload.seek(0)
    return int(size)


def _too_large(limit: int) -> ValidationError:
    return ValidationError(
        _("The file is larger than %(limit)s MB.") % {"limit": f"{limit / 1024 / 1024:g}"},
        code="too_large",
    )


def image_format(upload: Any) -> str:
    """The upload's image format ("JPEG", ...), read from its bytes; ValidationError for
    anything else. The upload is rewound afterwards."""
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            found = image.format or ""
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        found = ""
        width = height = 0
    finally:
        upload.seek(0)
    if found not in IMAGE_FORMATS:
        raise ValidationError(
            _("Upload a JPEG, PNG, GIF or WebP image; this file is not one."),
            code="not_an_image",
        )
    if width * height > MAX_IMAGE_PIXELS:
        raise ValidationError(
            _("The image is too large in pixels (at most %(pixels)s million).")
            % {"pixels": MAX_IMAGE_PIXELS // 1_000_000},
            code="too_many_pixels",
        )
    return found


@deconstructible
class ImageUploadValidator:
    """Size (MARKETPLACE_MAX_IMAGE_BYTES) first, then the type from the bytes."""

    def __call__(self, value: Any) -> None:
        upload = getattr(value, "file", value)
        if getattr(value, "_committed", False) and not hasattr(value, "content_type"):
            return  # a file already stored (an edit that keeps it) was checked on upload
        limit = int(settings.MARKETPLACE_MAX_IMAGE_BYTES)
        if _size(value) > limit:
            raise _too_large(limit)
        image_format(upload)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageUploadValidator)

    def __hash__(self) -> int:
        return hash("ImageUploadValidator")


@deconstructible
class DigitalFileValidator:
    """A digital product's file: not empty, at most MARKETPLACE_MAX_DIGITAL_FILE_BYTES."""

    def __call__(self, value: Any) -> None:
        if getattr(value, "_committed", False) and not hasattr(value, "content_type"):
            return
        limit = int(settings.MARKETPLACE_MAX_DIGITAL_FILE_BYTES)
        size = _size(value)
        if size > limit:
            raise _too_large(limit)
        if size == 0:
            raise ValidationError(_("The file is empty."), code="empty")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DigitalFileValidator)

    def __hash__(self) -> int:
        return hash("DigitalFileValidator")


validate_image_upload = ImageUploadValidator()
validate_digital_file = DigitalFileValidator()


def _random_name(folder: str, extension: str) -> str:
    token = secrets.token_hex(16)
    return f"{folder}/{token[:2]}/{token}{extension}"


def _image_name(folder: str, field_file: Any) -> str:
    """A random name with the extension of the type read from the bytes (a GIF that is
    also HTML, uploaded as `x.html`, is kept as `.gif`)."""
    try:
        extension = IMAGE_FORMATS[image_format(field_file.file)]
    except (ValidationError, AttributeError, ValueError):
        extension = ".bin"  # not reached through forms: they validate first
    return _random_name(folder, extension)


def avatar_upload_to(instance: Any, filename: str) -> str:
    return _image_name("marketplace/avatars", instance.avatar)


def product_image_upload_to(instance: Any, filename: str) -> str:
    return _image_name("marketplace/products", instance.image)


def digital_file_upload_to(instance: Any, filename: str) -> str:
    """A random folder keeps the original name's extension only (for the download's name
    the product keeps `digital_file_name`)."""
    _stem, extension = os.path.splitext(os.path.basename(filename.replace("\\", "/")))
    clean = "".join(ch for ch in extension.lower() if ch.isalnum())[:10]
    return _random_name("digital", f".{clean}" if clean else "")


class PrivateStorage(FileSystemStorage):
    """Files kept under MARKETPLACE_PRIVATE_ROOT, read afresh from settings (tests move
    it); they have no URL."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    @property  # type: ignore[override]
    def base_location(self) -> str:
        return str(settings.MARKETPLACE_PRIVATE_ROOT)

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("private marketplace files have no public URL")


private_storage = PrivateStorage()


def get_private_storage() -> PrivateStorage:
    return private_storage
