from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lavka.content import services
from lavka.content.models import StoredFile
from lavka.content.processing import ProcessingFailed, srt_to_webvtt
from lavka.content.storage import store_upload
from lavka.content.tests import media

pytestmark = pytest.mark.django_db


def stored(name: str, data: bytes, kind: str) -> StoredFile:
    return store_upload(SimpleUploadedFile(name, data), kind=kind)


def process(file: StoredFile) -> StoredFile:
    services.process_stored_file(stored_file_id=file.pk)
    file.refresh_from_db()
    return file


def test_wav_completes_with_its_duration(media_root: Path) -> None:
    file = process(stored("tone.wav", media.wav_bytes(2.0), "audio"))
    assert file.status == StoredFile.Status.COMPLETED
    assert file.duration_seconds == pytest.approx(2.0)
    assert file.processed_at is not None
    assert file.failure_reason == ""


def test_mp3_completes_with_its_duration(media_root: Path) -> None:
    file = process(stored("silence.mp3", media.mp3_bytes(frames=200), "audio"))
    assert file.status == StoredFile.Status.COMPLETED
    assert file.duration_seconds == pytest.approx(200 * 1152 / 44100, rel=0.05)


def test_mp4_completes_with_its_duration(media_root: Path) -> None:
    file = process(stored("clip.mp4", media.mp4_bytes(seconds=2.5), "video"))
    assert file.status == StoredFile.Status.COMPLETED
    assert file.duration_seconds == pytest.approx(2.5)


def test_corrupt_mp3_fails_with_a_reason(media_root: Path) -> None:
    # given bytes that start like an MP3 (ID3 tag) but hold no audio
    file = stored("broken.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x10" + b"garbage" * 20, "audio")
    # when it is processed
    file = process(file)
    # then it failed, and the reason says why
    assert file.status == StoredFile.Status.FAILED
    assert "could not be read" in file.failure_reason
    assert file.duration_seconds is None


def test_webm_whose_duration_cannot_be_read_still_completes(media_root: Path) -> None:
    head = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"
    file = process(stored("clip.webm", head + b"\x00" * 64, "video"))
    assert file.status == StoredFile.Status.COMPLETED
    assert file.duration_seconds is None


def test_corrupt_image_fails_with_a_reason(media_root: Path) -> None:
    file = process(stored("cover.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image"))
    assert file.status == StoredFile.Status.FAILED
    assert "image could not be read" in file.failure_reason


def test_valid_image_completes(media_root: Path) -> None:
    file = process(stored("cover.png", media.png_bytes(), "image"))
    assert file.status == StoredFile.Status.COMPLETED


def test_srt_subtitles_get_a_webvtt_version(media_root: Path) -> None:
    # given SRT subtitles
    file = stored("talk.srt", media.SRT_TEXT.encode(), "subtitles")
    # when processed
    file = process(file)
    # then a WebVTT file is stored and linked, and players get it
    assert file.status == StoredFile.Status.COMPLETED
    assert file.webvtt is not None
    assert file.player_file == file.webvtt
    assert file.webvtt.mime_type == "text/vtt"
    assert file.webvtt.original_name == "talk.vtt"
    text = Path(file.webvtt.file.path).read_text()
    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello there.")
    assert "00:00:01.600 --> 00:00:02.400\n<i>Second</i> line" in text


def test_webvtt_subtitles_are_played_as_they_are(media_root: Path) -> None:
    file = process(stored("talk.vtt", media.VTT_TEXT.encode(), "subtitles"))
    assert file.status == StoredFile.Status.COMPLETED
    assert file.webvtt is None
    assert file.player_file == file


def test_subtitles_that_are_not_utf8_fail(media_root: Path) -> None:
    data = b"1\n00:00:00,000 --> 00:00:01,000\n" + "Привет".encode("cp1251")
    file = process(stored("ru.srt", data, "subtitles"))
    assert file.status == StoredFile.Status.FAILED
    assert "UTF-8" in file.failure_reason


def test_processing_twice_changes_nothing(media_root: Path) -> None:
    file = process(stored("tone.wav", media.wav_bytes(1.0), "audio"))
    processed_at = file.processed_at
    again = process(file)
    assert again.status == StoredFile.Status.COMPLETED
    assert again.processed_at == processed_at


def test_processing_a_missing_file_row_does_nothing() -> None:
    services.process_stored_file(stored_file_id=999_999)


def test_a_file_gone_from_disk_fails(media_root: Path) -> None:
    file = stored("tone.wav", media.wav_bytes(0.5), "audio")
    Path(file.file.path).unlink()
    file = process(file)
    assert file.status == StoredFile.Status.FAILED
    assert "missing" in file.failure_reason


def test_srt_to_webvtt_handles_crlf_and_short_milliseconds() -> None:
    text = (
        "1\r\n0:00:01,5 --> 0:00:02,25\r\nOne\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nTwo\r\n"
    )
    assert srt_to_webvtt(text) == (
        "WEBVTT\n\n00:00:01.500 --> 00:00:02.250\nOne\n\n00:00:03.000 --> 00:00:04.000\nTwo\n"
    )


def test_srt_with_a_broken_cue_is_refused() -> None:
    with pytest.raises(ProcessingFailed):
        srt_to_webvtt("1\nnot a time\nHello\n")
