"""Files made in the background for one user: the producers apps register, the request
that turns an export into a streamed response or a work row, the worker's writing of the
file, and the sweep of expired files.

A producer is a name and three functions of the requesting user and the parameters:
`check` (refuse what the user may not ask for, return the cleaned parameters), `count`
(the rows to come, for the progress bar and for choosing between streaming and a
background job) and `rows` (the header row, then the data rows). The worker calls them
again with the requester, so a file holds what that user may see at the time it is made.

The file is written under a temporary name in PREPARED_FILES_ROOT and renamed when
complete: a worker killed mid-file leaves only a `.part` file that nobody is served,
and the row is claimed again once its lease runs out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from lavka.core import work
from lavka.core.converters import parse_id
from lavka.core.csv_export import Row, safe_filename, streaming_csv_response, write_csv
from lavka.core.models import PreparedFile

logger = logging.getLogger(__name__)

PART_SUFFIX = ".part"


@dataclass(frozen=True)
class Producer:
    """How to make one kind of file; see the module docstring."""

    name: str
    check: Callable[[Any, Mapping[str, Any]], dict[str, Any]]
    count: Callable[[Any, Mapping[str, Any]], int]
    rows: Callable[[Any, Mapping[str, Any]], Iterable[Row]]
    # A file in another format than CSV (a report's numbers as JSON for its page):
    # `write(rows, target, on_batch=...)` writes them and returns how many it wrote.
    write: Callable[..., int] = write_csv
    suffix: str = "csv"
    content_type: str = "text/csv; charset=utf-8"
    # A producer that computes before it writes (a report's numbers) cannot renew its
    # lease row by row: it holds the row this long instead of PREPARED_FILE_LEASE_SECONDS,
    # so the sweeper does not hand the job to a second worker meanwhile.
    lease_seconds: int | None = None


_producers: dict[str, Producer] = {}


def register(producer: Producer) -> Producer:
    """Make `producer` known by its name (an app's AppConfig.ready calls this)."""
    known = _producers.get(producer.name)
    if known is not None and known != producer:
        raise ValueError(f"a producer named {producer.name!r} is registered already")
    _producers[producer.name] = producer
    return producer


def producer_named(name: str) -> Producer:
    try:
        return _producers[name]
    except KeyError:
        raise ValidationError(f"no producer named {name!r}") from None


# --- asking for a file ---------------------------------------------------------------


class TooManyFiles(Exception):
    """The user already has PREPARED_FILES_OPEN_PER_USER files waiting or being made."""


def open_files_of(user: Any) -> QuerySet[PreparedFile]:
    """The user's files a worker has yet to finish, newest first."""
    return files_of(user).filter(state__in=work.OPEN_STATES).order_by("-pk")


def _same_file_under_way(user: Any, kind: str, cleaned: Mapping[str, Any]) -> PreparedFile | None:
    """The user's file of this kind and parameters still waiting or being made, or None;
    raises TooManyFiles when there is none and the user has their limit under way."""
    under_way = list(open_files_of(user).only("pk", "kind", "params"))
    same = next((f for f in under_way if f.kind == kind and f.params == cleaned), None)
    if same is not None:
        return PreparedFile.objects.get(pk=same.pk)
    if len(under_way) >= settings.PREPARED_FILES_OPEN_PER_USER:
        raise TooManyFiles
    return None


def request_file(
    *,
    user: Any,
    kind: str,
    params: Mapping[str, Any],
    filename: str,
    rows_total: int | None = None,
) -> PreparedFile:
    """Queue a prepared file for `user`, or return the same one (kind and parameters)
    still waiting or being made: clicking Export again queues nothing. Raises
    ValidationError (or PermissionDenied) from the producer's check before anything is
    written, and TooManyFiles when the user has their limit of files under way (one
    user's clicks must not fill the workers' queue). The rows are counted before the
    transaction (on SQLite it holds the write lock: nobody's checkout waits for a
    COUNT), or passed in by a caller that counted them already."""
    producer = producer_named(kind)
    cleaned = producer.check(user, params)
    same = _same_file_under_way(user, kind, cleaned)
    if same is not None:
        return same
    if rows_total is None:
        rows_total = producer.count(user, cleaned)
    now = timezone.now()
    with transaction.atomic():
        # Read again with the user's row locked (SQLite's IMMEDIATE transaction holds
        # the write lock already): two requests at once make one file, within the limit.
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values("pk"))
        same = _same_file_under_way(user, kind, cleaned)
        if same is not None:
            return same
        prepared = PreparedFile.objects.create(
            requested_by=user,
            kind=kind,
            params=cleaned,
            filename=safe_filename(filename),
            rows_total=rows_total,
            expires_at=now + timedelta(hours=settings.PREPARED_FILE_HOURS),
            queued_at=now,
        )
        PreparedFile.queue_work([prepared.pk])
    return prepared


def export_response(
    *, user: Any, kind: str, params: Mapping[str, Any], filename: str
) -> HttpResponse | StreamingHttpResponse:
    """What an export link answers: the CSV streamed when it is small enough to finish
    in about a second (EXPORT_STREAM_MAX_ROWS), else a redirect to the page of a file
    a worker prepares. Raises what the producer's check raises."""
    producer = producer_named(kind)
    cleaned = producer.check(user, params)
    rows = producer.count(user, cleaned)
    if rows <= settings.EXPORT_STREAM_MAX_ROWS:
        return streaming_csv_response(producer.rows(user, cleaned), filename=filename)
    prepared = request_file(
        user=user, kind=kind, params=cleaned, filename=filename, rows_total=rows
    )
    return HttpResponseRedirect(reverse("prepared_file", args=[prepared.pk]))


# --- reads ------------------------------------------------------------------------------


def files_of(user: Any) -> QuerySet[PreparedFile]:
    """The user's own files: nobody else's, whatever their role (a file holds what its
    requester could see, e.g. one creator's sales)."""
    if not getattr(user, "is_authenticated", False):
        return PreparedFile.objects.none()
    return PreparedFile.objects.filter(requested_by_id=user.pk, expires_at__gt=timezone.now())


def own_file(user: Any, pk: int) -> PreparedFile | None:
    if not 0 < pk < 2**63:
        return None
    return files_of(user).filter(pk=pk).first()


def may_still_read(user: Any, prepared: PreparedFile) -> bool:
    """Whether the requester may still see what the file holds: the producer's check
    runs again at download, so a manager who lost the role no longer gets the orders
    they exported."""
    try:
        producer_named(prepared.kind).check(user, prepared.params)
    except (PermissionDenied, ValidationError):
        return False
    return True


def root() -> Path:
    return Path(settings.PREPARED_FILES_ROOT)


def content_type(prepared: PreparedFile) -> str:
    """The file's media type, as its producer writes it (CSV when the kind is gone)."""
    known = _producers.get(prepared.kind)
    return known.content_type if known is not None else Producer.content_type


def stored_path(prepared: PreparedFile) -> Path | None:
    """Where a ready file is, or None (not ready, or its file is gone)."""
    if not prepared.is_ready:
        return None
    path = root() / prepared.stored_name
    return path if path.is_file() else None


# --- the worker's side ------------------------------------------------------------------


def _final_name(prepared: PreparedFile, producer: Producer) -> str:
    return f"{prepared.pk}.{producer.suffix}"


def _remove_parts(prepared: PreparedFile) -> None:
    """Drop what an earlier, killed attempt left half written."""
    for part in root().glob(f"{prepared.pk}.*{PART_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


def prepare(pk: int, *, take_over: bool = False) -> str:
    """Claim the row and write its file; returns the row's state afterwards ("" when
    another worker holds it or it is done)."""
    lease = timedelta(seconds=settings.PREPARED_FILE_LEASE_SECONDS)
    prepared = work.claim_one(
        PreparedFile.objects.filter(pk=pk, expires_at__gt=timezone.now()),
        lease=lease,
        take_over=take_over,
    )
    if prepared is None:
        return ""
    mine = PreparedFile.objects.filter(
        pk=prepared.pk, state=work.WorkState.CLAIMED, lease_owner=prepared.lease_owner
    )
    with work.attempt(prepared, what="prepared file") as outcome:
        try:
            producer = producer_named(prepared.kind)
            user = prepared.requested_by
            params = producer.check(user, prepared.params)
        except (PermissionDenied, ValidationError) as refused:
            # the requester lost the right to this export, or its kind is gone: final
            work.record_failure(prepared, error=work.describe(refused), permanent=True)
            return str(work.WorkState.FAILED)
        if producer.lease_seconds:
            lease = timedelta(seconds=producer.lease_seconds)
        total = producer.count(user, params)
        if not mine.update(rows_total=total, rows_done=0, lease_expires_at=timezone.now() + lease):
            raise work.LeaseLost
        directory = root()
        directory.mkdir(parents=True, exist_ok=True)
        _remove_parts(prepared)
        part = directory / f"{prepared.pk}.{prepared.lease_owner}{PART_SUFFIX}"

        def progress(rows_written: int) -> None:
            """Rows so far (the header not counted), and a fresh lease for the rest."""
            renewed = mine.update(
                rows_done=max(0, rows_written - 1),
                lease_expires_at=timezone.now() + lease,
            )
            if not renewed:
                raise work.LeaseLost

        try:
            # readable by Lavka's own user only: it holds customers' names and emails
            descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(descriptor, "w", encoding="utf-8", newline="") as target:
                written = producer.write(producer.rows(user, params), target, on_batch=progress)
                target.flush()
                os.fsync(target.fileno())
            final = directory / _final_name(prepared, producer)
            os.replace(part, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
        now = timezone.now()
        if not mine.update(
            **work.done_fields(now=now),
            stored_name=final.name,
            size=final.stat().st_size,
            rows_done=max(0, written - 1),
            rows_total=max(0, written - 1),
            finished_at=now,
        ):
            raise work.LeaseLost
    if outcome.succeeded:
        return work.WorkState.DONE
    return str(PreparedFile.objects.filter(pk=pk).values_list("state", flat=True).first() or "")


def delete_expired(*, now: Any = None) -> int:
    """Delete files (and their rows) past `expires_at`, and `.part` files of rows that
    are gone; returns the rows deleted."""
    now = now or timezone.now()
    expired = list(
        PreparedFile.objects.filter(expires_at__lte=now).values_list("pk", "stored_name")
    )
    directory = root()
    for pk, stored_name in expired:
        for path in [directory / stored_name] if stored_name else []:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for part in directory.glob(f"{pk}.*{PART_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
    PreparedFile.objects.filter(pk__in=[pk for pk, _name in expired]).delete()
    _delete_orphans(directory, now)
    return len(expired)


# `<id>.<suffix>` when written, `<id>.<lease token>.part` while being written
OUR_FILE_NAME = re.compile(r"[0-9]{1,19}\.(?:[a-z0-9]{1,10}|[0-9a-f]{32}\.part)")


def _delete_orphans(directory: Path, now: Any) -> None:
    """Files whose row is gone another way (its requester deleted, the row removed by
    hand) are found by the folder, not the rows: a file named as this module names them,
    older than a file's life, whose id is no live row's. Nothing else there is touched."""
    if not directory.is_dir():
        return
    oldest = (now - timedelta(hours=settings.PREPARED_FILE_HOURS)).timestamp()
    old_files = [
        path for path in directory.iterdir() if path.is_file() and path.stat().st_mtime < oldest
    ]
    ids = {
        path: parse_id(path.name.split(".", 1)[0])
        for path in old_files
        if OUR_FILE_NAME.fullmatch(path.name)
    }
    live = set(
        PreparedFile.objects.filter(pk__in={pk for pk in ids.values() if pk}).values_list(
            "pk", flat=True
        )
    )
    for path, pk in ids.items():
        if pk not in live:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
