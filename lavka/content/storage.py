"""Content-addressed storage of uploads: hash while streaming, detect the type from the
bytes, store each distinct content once.

The uploaded name is kept for display only; the path on disk is made from the SHA-256 and
the detected type, so odd or hostile names (`../../etc/passwd`, NUL bytes, very long
names) can never choose where anything is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lavka.content.models import StoredFile, stored_file_path

logger = logging.getLogger(__name__)

Kind = StoredFile.Kind
HEAD_BYTES = 4096
CHUNK_BYTES = 1024 * 1024


class UploadRejected(ValidationError):
    """The upload was refused; nothing was stored."""


@dataclass(frozen=True)
class DetectedType:
    mime_type: str
    extension: str
    kinds: frozenset[str]


def _type(mime: str, ext: str, *kinds: str) -> DetectedType:
    return DetectedType(mime, ext, frozenset(kinds))


SRT_TIMING = re.compile(
    r"^\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}", re.MULTILINE
)


def detect_type(head: bytes) -> DetectedType | None:
    """The file's type from its first bytes (magic numbers), or None if unknown."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in {b"M4A ", b"M4B ", b"M4P "}:
            return _type("audio/mp4", ".m4a", Kind.AUDIO)
        if brand == b"qt  ":
            return _type("video/quicktime", ".mov", Kind.VIDEO)
        return _type("video/mp4", ".mp4", Kind.VIDEO, Kind.AUDIO)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head[:64]:
            return _type("video/webm", ".webm", Kind.VIDEO, Kind.AUDIO)
        return _type("video/x-matroska", ".mkv", Kind.VIDEO, Kind.AUDIO)
    if head.startswith(b"OggS"):
        if b"theora" in head[:128]:
            return _type("video/ogg", ".ogv", Kind.VIDEO)
        return _type("audio/ogg", ".ogg", Kind.AUDIO)
    if head.startswith(b"fLaC"):
        return _type("audio/flac", ".flac", Kind.AUDIO)
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return _type("audio/wav", ".wav", Kind.AUDIO)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _type("image/webp", ".webp", Kind.IMAGE)
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return _type("audio/mpeg", ".mp3", Kind.AUDIO)
    if head.startswith(b"\xff\xd8\xff"):
        return _type("image/jpeg", ".jpg", Kind.IMAGE)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _type("image/png", ".png", Kind.IMAGE)
    if head.startswith((b"GIF87a", b"GIF89a")):
        return _type("image/gif", ".gif", Kind.IMAGE)
    text = head.removeprefix(b"\xef\xbb\xbf")
    if text.startswith(b"WEBVTT") and (len(text) == 6 or text[6:7] in {b" ", b"\t", b"\n", b"\r"}):
        return _type("text/vtt", ".vtt", Kind.SUBTITLES)
    if _looks_like_srt(text):
        return _type("application/x-subrip", ".srt", Kind.SUBTITLES)
    return None


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a real layer, a usable bitrate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0b11
    return version != 0b01 and layer != 0 and bitrate not in (0, 0xF) and sample_rate != 0b11


def _looks_like_srt(head: bytes) -> bool:
    try:
        text = head.decode("utf-8", errors="strict")
    except UnicodeDecodeError as error:
        text = head[: error.start].decode("utf-8")
    lines = [line.strip() for line in text.lstrip().splitlines()]
    return len(lines) >= 2 and lines[0].isdigit() and bool(SRT_TIMING.match(lines[1]))


def max_bytes(kind: str) -> int:
    return int(getattr(settings, f"CONTENT_MAX_{kind.upper()}_BYTES"))


def display_name(name: str) -> str:
    """A name safe to show: no folders, no control characters, at most 255 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    base = base.lstrip(".") or "upload"
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = f"{stem[: 250 - len(ext)]}.{ext}" if dot and len(ext) <= 10 else base[:255]
    return base


def _incoming_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "content" / ".incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _chunks(upload: Any) -> Iterable[bytes]:
    if hasattr(upload, "chunks"):
        yield from upload.chunks(CHUNK_BYTES)
        return
    while chunk := upload.read(CHUNK_BYTES):
        yield chunk


def _remove(path: Path | str | None) -> None:
    if path is None:
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _scan(upload: Any, *, kind: str, into: Any = None) -> tuple[str, int, DetectedType]:
    """Read the upload once: its SHA-256, its size and its type, checked against the
    kind's limit and types (UploadRejected otherwise); the bytes go to `into` if given."""
    if kind not in Kind.values:
        raise ValueError(f"unknown file kind {kind!r}")
    limit = max_bytes(kind)
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in _chunks(upload):
        size += len(chunk)
        if size > limit:
            raise UploadRejected(
                _("The file is larger than %(limit)s MB, the limit for this kind.")
                % {"limit": f"{limit / 1024 / 1024:g}"},
                code="too_large",
            )
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        digest.update(chunk)
        if into is not None:
            into.write(chunk)
    if size == 0:
        raise UploadRejected(_("The file is empty."), code="empty")
    detected = detect_type(head)
    if detected is None:
        raise UploadRejected(
            _("The file's content is not a supported audio, video, image or subtitles type."),
            code="unknown_type",
        )
    if kind not in detected.kinds:
        raise UploadRejected(
            _("The file's content is %(type)s, which cannot be used as %(kind)s.")
            % {"type": detected.mime_type, "kind": Kind(kind).label},
            code="wrong_type",
        )
    return digest.hexdigest(), size, detected


def check_upload(upload: Any, *, kind: str) -> None:
    """Refuse (UploadRejected) what `store_upload` would refuse, storing nothing: for
    forms, which validate before anything is kept. The upload is read from its start."""
    _scan(upload, kind=kind)
    if hasattr(upload, "seek"):
        upload.seek(0)


def store_upload(upload: Any, *, kind: str, name: str | None = None) -> StoredFile:
    """Store an uploaded file (or any binary file object) of the declared kind.

    Returns the existing StoredFile when the same bytes were stored before. Raises
    UploadRejected (a ValidationError) for a file that is too large, of an unknown type
    or of a type that does not fit the kind; nothing is left on disk in that case.
    Processing is not started here: that is the caller's (`services.store_file`).
    """
    shown_name = display_name(name or getattr(upload, "name", "") or "")
    handle, temp_name = tempfile.mkstemp(prefix="upload-", dir=_incoming_dir())
    try:
        with os.fdopen(handle, "wb") as temp:
            sha256, size, detected = _scan(upload, kind=kind, into=temp)
            temp.flush()
            os.fsync(temp.fileno())
        return _keep(
            Path(temp_name),
            sha256=sha256,
            size=size,
            detected=detected,
            kind=kind,
            original_name=shown_name,
        )
    finally:
        _remove(temp_name)


def store_bytes(data: bytes, *, kind: str, name: str) -> StoredFile:
    """`store_upload` for content made on the server (a converted subtitles file)."""
    return store_upload(io.BytesIO(data), kind=kind, name=name)


def _keep(
    temp_path: Path,
    *,
    sha256: str,
    size: int,
    detected: DetectedType,
    kind: str,
    original_name: str,
) -> StoredFile:
    existing = StoredFile.objects.filter(sha256=sha256).first()
    if existing is not None:
        return existing
    stored = StoredFile(
        sha256=sha256,
        size=size,
        mime_type=detected.mime_type,
        extension=detected.extension,
        kind=kind,
        original_name=original_name,
    )
    stored.file.name = stored_file_path(stored, original_name)
    try:
        with transaction.atomic():
            stored.save()
            _place(temp_path, stored.file.name)
    except IntegrityError:
        # Another upload of the same bytes won the race: its row and file are the ones.
        return StoredFile.objects.get(sha256=sha256)
    except BaseException:
        _discard_unless_kept(stored.file.name, sha256=sha256)
        raise
    return stored


def _place(temp_path: Path, name: str) -> None:
    """Move the finished temporary file to its final name in one step."""
    storage = default_storage
    if isinstance(storage, FileSystemStorage):
        final = Path(storage.path(name))
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp_path, 0o644)
        os.replace(temp_path, final)
        return
    with open(temp_path, "rb") as source:
        if not storage.exists(name):
            storage.save(name, File(source))


def _discard_unless_kept(name: str, *, sha256: str) -> None:
    """Remove a placed file whose row did not survive, unless another row owns it."""
    try:
        if not StoredFile.objects.filter(sha256=sha256).exists():
            default_storage.delete(name)
    except Exception:
        logger.warning("could not check or remove %s after a failed upload", name)


def sweep_orphan_files(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Remove stored files that no row owns, and upload leftovers; returns how many.

    A file is placed just before its row commits. When an outer transaction rolls the row
    back, or a process dies in between, the file is left without an owner; so is a
    temporary upload of a killed process. Files younger than `older_than` are left alone:
    their row may be about to commit.
    """
    cutoff = timezone.now() - older_than
    removed = 0
    for folder, names in _content_folders():
        old = [name for name in names if default_storage.get_modified_time(name) < cutoff]
        if folder.endswith("/.incoming"):
            orphans = old
        else:
            shas = {PurePosixPath(name).stem: name for name in old}
            owned = set(
                StoredFile.objects.filter(sha256__in=list(shas)).values_list("sha256", flat=True)
            )
            orphans = [name for sha, name in shas.items() if sha not in owned]
        for name in orphans:
            default_storage.delete(name)
            logger.info("removed orphan content file %s", name)
        removed += len(orphans)
    return removed


def _content_folders(folder: str = "content") -> Iterable[tuple[str, list[str]]]:
    """Each folder under `content/` with the names of the files directly in it."""
    if not default_storage.exists(folder):
        return
    subfolders, files = default_storage.listdir(folder)
    yield folder, [f"{folder}/{name}" for name in files]
    for sub in subfolders:
        yield from _content_folders(f"{folder}/{sub}")
