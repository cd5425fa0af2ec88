"""File processing as a durable work row: leases, retries, the sweeper, manual retry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from lavka.content import processing, services, tasks
from lavka.content.cache import current_revision
from lavka.content.models import StoredFile
from lavka.content.storage import store_upload
from lavka.content.tests import media
from lavka.core import sweeping, work
from lavka.core.work import WorkState

pytestmark = pytest.mark.django_db


class Clock:
    """`timezone.now()` for the kernel and the services, moved by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def move_to(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Ids handed to `content.process_file` (instead of the broker)."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.process_file, "delay", lambda pk: ids.append(pk))
    return ids


def wav_file() -> StoredFile:
    return store_upload(SimpleUploadedFile("tone.wav", media.wav_bytes(0.5)), kind="audio")


def reload(file: StoredFile) -> StoredFile:
    file.refresh_from_db()
    return file


def test_a_new_upload_is_pending_work_and_queued_after_the_commit(
    media_root: Path, queued: list[int], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        file = services.store_file(
            upload=SimpleUploadedFile("a.wav", media.wav_bytes(0.3)), kind="audio"
        )
    assert (file.state, file.status) == (WorkState.PENDING, StoredFile.Status.PENDING)
    assert queued == [file.pk]


def test_processing_completes_the_work_row(media_root: Path) -> None:
    file = wav_file()
    services.process_stored_file(stored_file_id=file.pk)
    file = reload(file)
    assert (file.state, file.status) == (WorkState.DONE, StoredFile.Status.COMPLETED)
    assert file.lease_owner == ""


def test_srt_conversion_queues_no_task_for_the_converted_file(
    media_root: Path, queued: list[int], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    srt = store_upload(SimpleUploadedFile("a.srt", media.SRT_TEXT.encode()), kind="subtitles")
    with django_capture_on_commit_callbacks(execute=True):
        services.process_stored_file(stored_file_id=srt.pk)
    srt = reload(srt)
    assert srt.webvtt is not None
    assert (srt.webvtt.state, srt.webvtt.status) == (WorkState.DONE, StoredFile.Status.COMPLETED)
    assert queued == []


def test_a_worker_killed_mid_processing_is_started_again_after_its_lease(
    media_root: Path,
    clock: Clock,
    queued: list[int],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given a file a worker claimed and then died on (it never finished)
    file = wav_file()
    assert work.claim_one(StoredFile.objects.filter(pk=file.pk)) is not None
    # when its task is delivered again while the lease runs, nothing happens
    services.process_stored_file(stored_file_id=file.pk)
    assert reload(file).state == WorkState.CLAIMED
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeping.requeue_lost_work() == 0
    assert queued == []

    # when the lease has run out, the sweeper queues it again
    clock.advance(seconds=StoredFile.lease_seconds + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeping.requeue_lost_work() == 1
    assert queued == [file.pk]

    # and the task processes it to the end
    tasks.process_file(file.pk)
    file = reload(file)
    assert (file.state, file.status) == (WorkState.DONE, StoredFile.Status.COMPLETED)
    assert file.duration_seconds == pytest.approx(0.5)


def test_a_transient_error_is_retried_with_backoff_then_fails_after_max_attempts(
    media_root: Path,
    clock: Clock,
    queued: list[int],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given storage that cannot be read for now
    def unreadable(path: Path, mime_type: str) -> float:
        raise ConnectionError("storage timed out")

    monkeypatch.setattr(processing, "read_duration", unreadable)
    file = wav_file()

    # when it is processed, it waits for a retry
    services.process_stored_file(stored_file_id=file.pk)
    file = reload(file)
    assert (file.state, file.status) == (WorkState.PENDING, StoredFile.Status.PENDING)
    assert file.attempts == 1
    assert "storage timed out" in file.last_error
    assert file.not_before is not None and file.not_before > clock.now
    assert file.failure_reason == ""

    # a delivery before the retry is due does nothing
    services.process_stored_file(stored_file_id=file.pk)
    assert reload(file).attempts == 1

    # once due, the sweeper queues the retry; each failed attempt waits longer
    clock.move_to(file.not_before + timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeping.requeue_lost_work() == 1
    assert queued == [file.pk]
    waits = []
    while reload(file).state == WorkState.PENDING:
        assert file.not_before is not None
        clock.move_to(file.not_before + timedelta(seconds=1))
        started = clock.now
        tasks.process_file(file.pk)
        if reload(file).not_before is not None:
            waits.append(file.not_before - started)

    # then after max_attempts it failed, with the error as the reason
    file = reload(file)
    assert file.attempts == StoredFile.max_attempts
    assert (file.state, file.status) == (WorkState.FAILED, StoredFile.Status.FAILED)
    assert "storage timed out" in file.failure_reason
    assert waits == sorted(waits)


def test_a_processing_error_fails_at_once(media_root: Path) -> None:
    file = store_upload(
        SimpleUploadedFile("broken.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x10" + b"x" * 140),
        kind="audio",
    )
    services.process_stored_file(stored_file_id=file.pk)
    file = reload(file)
    assert (file.state, file.status, file.attempts) == (
        WorkState.FAILED,
        StoredFile.Status.FAILED,
        1,
    )
    assert file.last_error == file.failure_reason


def test_manual_retry_processes_a_failed_file_again(
    media_root: Path,
    queued: list[int],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given a file that failed (its storage was briefly broken in a way that looked final)
    def broken(path: Path, mime_type: str) -> float:
        raise processing.ProcessingFailed("The media file could not be read: no")

    monkeypatch.setattr(processing, "read_duration", broken)
    file = wav_file()
    services.process_stored_file(stored_file_id=file.pk)
    assert reload(file).status == StoredFile.Status.FAILED
    monkeypatch.undo()
    monkeypatch.setattr(tasks.process_file, "delay", lambda pk: queued.append(pk))

    # when staff retry it from the operations page
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeping.retry_manually(StoredFile, [file.pk]) == 1
    file = reload(file)
    assert (file.state, file.status, file.attempts) == (
        WorkState.PENDING,
        StoredFile.Status.PENDING,
        0,
    )
    assert file.failure_reason == ""
    assert queued == [file.pk]

    # then its task processes it again, to the end
    tasks.process_file(file.pk)
    file = reload(file)
    assert (file.state, file.status) == (WorkState.DONE, StoredFile.Status.COMPLETED)
    assert file.duration_seconds == pytest.approx(0.5)


def test_a_file_that_kills_every_worker_is_given_up_and_shows_as_failed(
    media_root: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a file whose processing kills the worker each time (it never records a failure)
    def killed(path: Path, mime_type: str) -> float:
        raise SystemExit("killed by the kernel's OOM killer")

    monkeypatch.setattr(processing, "read_duration", killed)
    file = wav_file()
    for attempt in range(StoredFile.max_attempts):
        with pytest.raises(SystemExit):
            services.process_stored_file(stored_file_id=file.pk)
        file = reload(file)
        assert (file.state, file.status, file.attempts) == (
            WorkState.CLAIMED,
            StoredFile.Status.PROCESSING,
            attempt,
        )
        clock.advance(seconds=StoredFile.lease_seconds + 1)
    revision_before = current_revision()[0]

    # when its task comes again after the last attempt's lease ran out, it is given up
    clock.advance(seconds=1)
    services.process_stored_file(stored_file_id=file.pk)

    # then it shows as failed, with the reason, and cached content responses change
    file = reload(file)
    assert (file.state, file.status) == (WorkState.FAILED, StoredFile.Status.FAILED)
    assert file.last_error == work.GIVEN_UP
    assert file.failure_reason == str(work.GIVEN_UP_NOTICE)
    assert file.processed_at == clock.now and file.duration_seconds is None
    assert current_revision()[0] > revision_before
