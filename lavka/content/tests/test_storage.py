from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lavka.content.conftest import files_under
from lavka.content.models import StoredFile
from lavka.content.storage import UploadRejected, detect_type, display_name, store_upload
from lavka.content.tests import media

pytestmark = pytest.mark.django_db


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_same_bytes_under_another_name_reuse_the_stored_file(media_root: Path) -> None:
    # given a video stored once
    first = store_upload(upload("holiday.mp4", media.mp4_bytes()), kind="video")
    # when the same bytes are uploaded again under another name
    second = store_upload(upload("renamed copy.MOV", media.mp4_bytes()), kind="video")
    # then the first stored file is reused and only one file is on disk
    assert second.pk == first.pk
    assert StoredFile.objects.count() == 1
    assert files_under(media_root) == [Path(first.file.path)]
    assert first.original_name == "holiday.mp4"


def test_stored_file_is_named_by_its_hash_and_detected_type(media_root: Path) -> None:
    stored = store_upload(upload("clip.bin", media.mp4_bytes()), kind="video")
    sha = stored.sha256
    assert stored.file.name == f"content/{sha[:2]}/{sha[2:4]}/{sha}.mp4"
    assert stored.mime_type == "video/mp4"
    assert stored.size == len(media.mp4_bytes())
    assert stored.status == StoredFile.Status.PENDING
    assert Path(stored.file.path).read_bytes() == media.mp4_bytes()


def test_different_bytes_are_stored_separately(media_root: Path) -> None:
    one = store_upload(upload("a.mp4", media.mp4_bytes(salt=b"1")), kind="video")
    two = store_upload(upload("a.mp4", media.mp4_bytes(salt=b"2")), kind="video")
    assert one.pk != two.pk
    assert len(files_under(media_root)) == 2


def test_png_bytes_named_mp4_are_refused_as_video(media_root: Path) -> None:
    # given an image with a video file name
    with pytest.raises(UploadRejected) as error:
        # when it is uploaded as a video
        store_upload(upload("movie.mp4", media.png_bytes()), kind="video")
    # then it is refused for its content, and nothing is left behind
    assert error.value.code == "wrong_type"
    assert "image/png" in error.value.messages[0]
    assert StoredFile.objects.count() == 0
    assert files_under(media_root) == []


def test_unknown_content_is_refused(media_root: Path) -> None:
    with pytest.raises(UploadRejected) as error:
        store_upload(upload("notes.mp3", b"just some text, not audio"), kind="audio")
    assert error.value.code == "unknown_type"
    assert files_under(media_root) == []


def test_empty_file_is_refused(media_root: Path) -> None:
    with pytest.raises(UploadRejected) as error:
        store_upload(upload("empty.wav", b""), kind="audio")
    assert error.value.code == "empty"
    assert files_under(media_root) == []


def test_file_over_the_kind_limit_is_refused_without_leftovers(
    media_root: Path, settings: object
) -> None:
    # given an audio limit smaller than the file
    settings.CONTENT_MAX_AUDIO_BYTES = 1000  # type: ignore[attr-defined]
    data = media.wav_bytes(1.0)
    # when it is uploaded
    with pytest.raises(UploadRejected) as error:
        store_upload(upload("long.wav", data), kind="audio")
    # then it is refused with the limit named, and no temporary file remains
    assert error.value.code == "too_large"
    assert "MB" in error.value.messages[0]
    assert StoredFile.objects.count() == 0
    assert files_under(media_root) == []


def test_other_kinds_keep_their_own_limit(media_root: Path, settings: object) -> None:
    settings.CONTENT_MAX_AUDIO_BYTES = 1000  # type: ignore[attr-defined]
    stored = store_upload(upload("poster.png", media.png_bytes()), kind="image")
    assert stored.kind == StoredFile.Kind.IMAGE


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../../../etc/passwd.wav", "passwd.wav"),
        ("..\\..\\windows\\evil.wav", "evil.wav"),
        ("/abs/path/a.wav", "a.wav"),
        ("..", "upload"),
        ("bad\x00na\nme.wav", "badname.wav"),
        (".hidden.wav", "hidden.wav"),
    ],
)
def test_odd_and_hostile_names_never_become_paths(media_root: Path, name: str, shown: str) -> None:
    # when a file is uploaded under a hostile name
    stored = store_upload(upload("x.wav", media.wav_bytes(0.1)), kind="audio", name=name)
    # then the name is only shown, and the file lands under the content folder
    assert stored.original_name == shown
    assert Path(stored.file.path).resolve().is_relative_to((media_root / "content").resolve())
    assert ".." not in stored.file.name


def test_very_long_name_is_shortened_keeping_the_extension() -> None:
    shown = display_name("a" * 400 + ".wav")
    assert len(shown) <= 255
    assert shown.endswith(".wav")


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00", "audio/mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis", "audio/ogg"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x00" + b"\x00" * 8, "audio/mpeg"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"WEBVTT\n\n00:00.000 --> 00:01.000\nHi", "text/vtt"),
        (b"\xef\xbb\xbfWEBVTT - title\n", "text/vtt"),
        (b"1\r\n00:00:01,000 --> 00:00:02,000\r\nHi\r\n", "application/x-subrip"),
    ],
)
def test_type_is_detected_from_the_first_bytes(head: bytes, mime: str) -> None:
    detected = detect_type(head)
    assert detected is not None
    assert detected.mime_type == mime


@pytest.mark.parametrize(
    "head", [b"", b"WEBVTTX", b"hello world", b"1\nnot a timing line\n", b"\xff\xd0\x00\x00"]
)
def test_unknown_heads_are_not_detected(head: bytes) -> None:
    assert detect_type(head) is None


def test_subtitles_are_refused_as_audio(media_root: Path) -> None:
    with pytest.raises(UploadRejected):
        store_upload(upload("talk.mp3", media.SRT_TEXT.encode()), kind="audio")
    assert files_under(media_root) == []


def test_a_file_whose_row_was_rolled_back_is_swept_once_it_is_old(media_root: Path) -> None:
    import os
    import time
    from datetime import timedelta

    from django.db import transaction

    from lavka.content.storage import sweep_orphan_files

    # given a kept file and one whose upload was rolled back by an outer transaction
    kept = store_upload(upload("kept.png", media.png_bytes()), kind="image")
    with pytest.raises(RuntimeError), transaction.atomic():
        store_upload(upload("holiday.mp4", media.mp4_bytes()), kind="video")
        raise RuntimeError("the form around the upload failed")
    leftover = (media_root / "content" / ".incoming" / "upload-killed").resolve()
    leftover.write_bytes(b"half an upload")
    assert len(files_under(media_root)) == 3

    # when the sweeper runs while they are young, then nothing goes
    assert sweep_orphan_files(older_than=timedelta(hours=1)) == 0

    # when they are old, the orphan and the leftover go, the kept file stays
    hour_ago = time.time() - 3700
    for path in files_under(media_root):
        os.utime(path, (hour_ago, hour_ago))
    assert sweep_orphan_files(older_than=timedelta(hours=1)) == 2
    assert files_under(media_root) == [Path(kept.file.path)]
