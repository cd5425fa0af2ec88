"""The background job of a confirmed CSV import: checked once, then written in batches.

A confirm used to re-plan and write the whole file in one transaction inside the web
request; on SQLite that held the database's only write lock for as long as the import
took (about 30 s for 100,000 lines), and every other user's save waited. Now:

1. **Check.** Before writing anything, the job plans the whole file again against the
   owner's recipients as they are now. If the plan differs from the one the preview
   showed (its fingerprint), the job writes nothing and ends *refused* — the guarantee
   the one-transaction confirm gave, kept for everything that changed before the import
   started. Otherwise the plan is stored, one letter per line (`CODES`).
2. **Batches.** Then at most `CAMPAIGNS_IMPORT_BATCH_ROWS` (≤ 1,000) lines per
   transaction. Each batch reads its lines' recipients again inside its transaction and
   writes only the lines whose outcome is still what the preview showed; a line whose
   email was added, edited or deleted since is not written and is listed on the result
   page as changed since the preview. The same transaction moves the job's progress on
   (`rows_done`, the counts, the lease), guarded by `rows_done` and the lease token: a
   batch is written exactly once, even if its worker dies right after the commit.

What changed: an import is no longer all-or-nothing once it has started. Recipients
appear batch by batch; a change made while it runs refuses only the lines it touches;
an import stopped by an operator keeps the batches it wrote.

A worker killed mid-way loses its uncommitted batch only: the job's lease runs out, the
sweeper (or the broker's redelivery) starts it again, and it resumes at `rows_done`.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lavka.campaigns import csv_io, stats
from lavka.campaigns.csv_io import Action, PlannedRow
from lavka.campaigns.models import (
    ImportStatus,
    Recipient,
    RecipientImport,
    RecipientImportFile,
    RecipientImportProblem,
    RecipientList,
)
from lavka.core import background, work
from lavka.core.work import WorkState

logger = logging.getLogger(__name__)

CODES = {
    Action.CREATE: "c",
    Action.UPDATE: "u",
    Action.UNCHANGED: "n",
    Action.REPLACED: "r",
    Action.REJECT: "x",
}
ACTIONS = {code: action for action, code in CODES.items()}
WRITTEN = {Action.CREATE, Action.UPDATE, Action.UNCHANGED}
REASON_CHARS = 1000


class LeaseLost(Exception):
    """Another worker took the job over (this one's lease ran out): stop, write nothing."""


def run_import(*, job_id: int, take_over: bool = False) -> None:
    """Run (or resume) one import job. Safe to run twice, and at once in two workers:
    the job is claimed with a lease, and every write is guarded by it."""
    job = work.claim_one(RecipientImport.objects.filter(pk=job_id), take_over=take_over)
    if job is None:
        return
    try:
        with translation.override(job.owner.language):
            _run(job)
    except LeaseLost:
        logger.info("recipient import %s was taken over by another worker", job.pk)
    except background.TRANSIENT_ERRORS:
        # the database was busy: give the job back for the task's own retry
        work.release(RecipientImport.objects.filter(pk=job.pk, lease_owner=job.lease_owner))
        raise
    except Exception as error:
        logger.exception("recipient import %s failed; it will be retried", job.pk)
        work.record_failure(job, error=f"{type(error).__name__}: {error}")


def _run(job: RecipientImport) -> None:
    text = RecipientImportFile.objects.values_list("text", flat=True).get(job=job)
    if job.status == ImportStatus.WAITING:
        codes = _check(job, text)
        if codes is None:
            return
    else:
        codes = RecipientImportFile.objects.values_list("plan", flat=True).get(job=job)
    batch_rows = max(1, min(int(settings.CAMPAIGNS_IMPORT_BATCH_ROWS), 1000))
    _shape, lines = csv_io.read_lines(text)
    pacer = Pacer()
    done = job.rows_done
    batch: list[PlannedRow] = []
    for index, line in enumerate(lines):
        if index < done:
            continue  # written by an earlier run of this job
        batch.append(csv_io.check_line(line))
        if len(batch) == batch_rows:
            _write_batch(
                job, start=done, rows=batch, codes=codes[done : done + len(batch)], pacer=pacer
            )
            done += len(batch)
            batch = []
    if batch:
        _write_batch(
            job, start=done, rows=batch, codes=codes[done : done + len(batch)], pacer=pacer
        )
        done += len(batch)
    if done != len(codes):
        raise RuntimeError(f"the file has {done} lines, its plan {len(codes)}")
    now = timezone.now()
    with transaction.atomic():
        _guard(job, status=ImportStatus.FINISHED, finished_at=now, **work.done_fields(now=now))
        RecipientImportFile.objects.filter(job=job).delete()


def _check(job: RecipientImport, text: str) -> str | None:
    """Plan the whole file again; store its plan and return it, or end the job refused
    (None) when it is not what the preview showed."""
    plan = csv_io.plan_import(owner=job.owner, text=text)
    now = timezone.now()
    if not secrets.compare_digest(plan.fingerprint(), job.fingerprint):
        with transaction.atomic():
            _guard(job, status=ImportStatus.REFUSED, finished_at=now, **work.done_fields(now=now))
            RecipientImportFile.objects.filter(job=job).delete()
        return None
    codes = "".join(CODES[row.action] for row in plan.rows)
    with transaction.atomic():
        _guard(
            job,
            status=ImportStatus.IMPORTING,
            total_rows=len(codes),
            started_at=now,
            lease_expires_at=_lease_end(now),
        )
        RecipientImportFile.objects.filter(job=job).update(plan=codes)
    return codes


def _guard(job: RecipientImport, *, after: int | None = None, **fields: Any) -> None:
    """Update the job only while this worker holds it (and, for a batch, only if the
    last line written is `after`); otherwise raise LeaseLost."""
    row = RecipientImport.objects.filter(
        pk=job.pk, state=WorkState.CLAIMED, lease_owner=job.lease_owner
    )
    if after is not None:
        row = row.filter(rows_done=after)
    if not row.update(**fields):
        raise LeaseLost


def _lease_end(now: Any) -> Any:
    return now + timedelta(seconds=RecipientImport.lease_seconds)


class Pacer:
    """On SQLite, leaves the write lock free between two batches for as long as the last
    batch held it (at least 25 ms, at most CAMPAIGNS_IMPORT_PAUSE_MS). Other writers wait
    for the lock by polling at growing intervals (up to 100 ms apart); a loop that takes
    it again at once would starve them. Checking the next batch's lines counts as rest."""

    def __init__(self) -> None:
        self.released_at = 0.0
        self.held = 0.0
        self.active = connection.vendor == "sqlite" and int(settings.CAMPAIGNS_IMPORT_PAUSE_MS) > 0

    def rest(self) -> None:
        if not self.active or not self.released_at:
            return
        cap = int(settings.CAMPAIGNS_IMPORT_PAUSE_MS) / 1000
        wanted = min(max(self.held, 0.025), cap)
        left = wanted - (time.monotonic() - self.released_at)
        if left > 0:
            time.sleep(left)

    def took(self, started: float) -> None:
        self.released_at = time.monotonic()
        self.held = self.released_at - started


def _write_batch(
    job: RecipientImport, *, start: int, rows: list[PlannedRow], codes: str, pacer: Pacer
) -> None:
    """One transaction: these lines' recipients, their problems, and the progress. What
    can be prepared without the lock (the new rows' column values) is, before it."""
    inserts = _prepared_inserts(job, rows=rows, codes=codes)
    for attempt in range(3):
        pacer.rest()
        started = time.monotonic()
        try:
            with transaction.atomic():
                _write_batch_once(job, start=start, rows=rows, codes=codes, inserts=inserts)
            return
        except IntegrityError:
            # PostgreSQL: someone added one of these emails between our read and our
            # insert; read again, and that line is reported as changed since the preview
            if attempt == 2:
                raise
        finally:
            pacer.took(started)


def _write_batch_once(
    job: RecipientImport,
    *,
    start: int,
    rows: list[PlannedRow],
    codes: str,
    inserts: dict[str, list[Any]],
) -> None:
    now = timezone.now()
    # first, so that a second worker on the same batch waits here (PostgreSQL) or
    # finds the batch written (SQLite serialises writers anyway)
    _guard(job, after=start, rows_done=start + len(rows), lease_expires_at=_lease_end(now))
    owner = job.owner
    usable = [row for row, code in zip(rows, codes, strict=True) if ACTIONS[code] in WRITTEN]
    existing = csv_io.existing_recipients(owner, [row.email for row in usable])
    counts = dict.fromkeys(("created", "updated", "skipped", "rejected", "conflicts"), 0)
    new: list[list[Any]] = []
    changed: list[tuple[int, dict[str, str]]] = []
    kept: list[str] = []
    problems: list[RecipientImportProblem] = []
    for row, code in zip(rows, codes, strict=True):
        planned = ACTIONS[code]
        if planned == Action.REJECT:
            counts["rejected"] += 1
            reason = " ".join(row.errors) or _("This line could not be read.")
            problems.append(_problem(job, row, reason))
            continue
        if planned == Action.REPLACED:
            counts["skipped"] += 1
            continue
        current = existing.get(row.email)
        now_action = csv_io.compare_with_stored(row, current)
        if now_action == planned or (planned, now_action) == (Action.UPDATE, Action.UNCHANGED):
            kept.append(row.email)
            if now_action == Action.CREATE:
                new.append(inserts[row.email])
                counts["created"] += 1
            elif now_action == Action.UPDATE and current is not None:
                changed.append((current.pk, row.values))
                counts["updated"] += 1
            else:
                counts["skipped"] += 1
            continue
        counts["conflicts"] += 1
        problems.append(_problem(job, row, _conflict_reason(planned, now_action)))
    _insert_recipients(new)
    _update_recipients(changed, now=now)
    if job.target_list_id is not None and kept:
        _add_to_list(job.target_list_id, owner=owner, emails=kept)
    RecipientImportProblem.objects.bulk_create(problems)
    RecipientImport.objects.filter(pk=job.pk).update(
        **{name: F(name) + value for name, value in counts.items() if value}
    )
    stats.invalidate(owner_id=owner.pk)


def _column(name: str) -> str:
    field = Recipient._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.column)


def _insert_columns() -> list[Any]:
    return [field for field in Recipient._meta.concrete_fields if not field.primary_key]


def _prepared_inserts(
    job: RecipientImport, *, rows: list[PlannedRow], codes: str
) -> dict[str, list[Any]]:
    """The column values of the recipients this batch plans to add, by email, prepared
    as `bulk_create` would (defaults, timestamps, the fields' database forms)."""
    columns = _insert_columns()
    prepared: dict[str, list[Any]] = {}
    for row, code in zip(rows, codes, strict=True):
        if ACTIONS[code] == Action.CREATE:
            recipient = Recipient(owner_id=job.owner_id, email=row.email, **row.values)
            prepared[row.email] = [
                field.get_db_prep_save(field.pre_save(recipient, True), connection)
                for field in columns
            ]
    return prepared


def _insert_recipients(rows: list[list[Any]]) -> None:
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = _insert_columns()
    names = ", ".join(quote(field.column) for field in columns)
    marks = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(Recipient._meta.db_table)} ({names}) VALUES ({marks})",  # noqa: S608 - names from the model
            rows,
        )


def _update_recipients(changed: list[tuple[int, dict[str, str]]], *, now: Any) -> None:
    """Write the changed cells, one prepared UPDATE per set of columns. The values are
    the cleaned cells, already in their stored form (text, E.164 phone, country code);
    `bulk_update` builds a CASE per row and column and held the lock ten times longer."""
    by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
    stamp = connection.ops.adapt_datetimefield_value(now)
    for pk, values in changed:
        columns = tuple(sorted(values))
        by_columns.setdefault(columns, []).append([*(values[c] for c in columns), stamp, pk])
    table = connection.ops.quote_name(Recipient._meta.db_table)
    with connection.cursor() as cursor:
        for columns, rows in by_columns.items():
            assigned = ", ".join(
                f"{connection.ops.quote_name(_column(name))} = %s"
                for name in (*columns, "updated_at")
            )
            where = connection.ops.quote_name(_column("id"))
            cursor.executemany(f"UPDATE {table} SET {assigned} WHERE {where} = %s", rows)  # noqa: S608 - names from the model


def _add_to_list(list_id: int, *, owner: Any, emails: list[str]) -> None:
    if not RecipientList.objects.filter(pk=list_id, owner=owner).exists():
        return  # deleted while the import ran
    membership = RecipientList.recipients.through
    membership.objects.bulk_create(
        [
            membership(recipientlist_id=list_id, recipient_id=recipient.pk)
            for recipient in csv_io.existing_recipients(owner, emails).values()
        ],
        ignore_conflicts=True,
    )


def _problem(job: RecipientImport, row: PlannedRow, reason: str) -> RecipientImportProblem:
    return RecipientImportProblem(
        job=job, line=row.line, email=row.email[:254], reason=reason[:REASON_CHARS]
    )


def _conflict_reason(planned: str, now: str) -> str:
    if planned == Action.CREATE:
        return _("This email was added to your recipients after the preview; not imported.")
    if now == Action.CREATE:
        return _("This recipient was deleted after the preview; not imported.")
    return _("This recipient was edited after the preview; not imported, so that edit is kept.")
