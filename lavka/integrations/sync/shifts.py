"""Booking closed shifts into accounting: one `ShiftSync` work row per shift, claimed
under a lease, so one worker at a time sends it.

The send is made safe to repeat by the report's stable number: the register's shift is
read, its report built, `find_retail_report(number)` asked, and only if accounting has
none is it created. A worker that dies (or an answer lost to a timeout) after accounting
made the report leaves the row claimed or pending; whoever takes it next finds the
report by its number and records its id. The lease is checked and renewed right before
the create and again between its documents (MoeDelo's takings, then the report), so a
worker whose lease ran out (and whose row another took) sends nothing more.
That same update stamps `send_started_at` on the row's first create, and the owner's
`ReportSend` ledger (which outlives the row: a trade point unmapped and mapped again
makes new rows) notes the number: only a send that neither shows ever started knows no
part of the report was sent, so the adapter skips its look-up of the report's other
documents and a shift costs four calls, the least the APIs allow with the look-up;
every later attempt looks them up.

A sales run queues a task per `runs.SHIFTS_PER_TASK` rows. A task books its own row
(or, when that is done or held, another due row of its trade point), then goes on with
the trade point's due rows, claiming `CLAIM_ROWS` at a time (each still has its own
lease, checked before each create), for up to `BATCH_ROWS` rows or `BATCH_SECONDS`: the
mapping, the connections and the adapters (and their open HTTP connections) serve the
whole batch. A row that is not booked (any failure, recorded on it as usual) ends the
batch and the rows claimed after it are given back; when due rows are left, the task
queues one more for them: at once after a booked batch, at the failed row's retry time
after a transient failure (the trade point's rows wait with it, so a 429's Retry-After
holds for all of them), and none after a refused token (see `_book_batch`). A killed
worker leaves at most `CLAIM_ROWS` rows claimed, taken again when its message is redelivered or their leases run out (the sweeper).

Outcomes: booked → done, with the document id, takings and receipt count; a transient
error (429, 5xx, timeout, a cut answer) → retried with the kernel's backoff, honouring
Retry-After; a refused token → the connection is marked revoked and the row waits for a
person (attention); a refusal, a wrong answer, a shift that cannot be booked as it is
(an unknown product, a Z-report that disagrees with its receipts) → attention with the
reason; the last attempt failing → attention (the dead letter). Rows in attention are
started again from the sync page (Retry, Retry all: `sweeping.retry_manually`) or
given up there on purpose (Discard).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from lavka.core import background, sweeping, work
from lavka.core.http import BadAnswer, RejectedCredentials, TransientHttpError
from lavka.core.work import WorkState
from lavka.integrations.adapters.base import AccountingAdapter, PointOfSaleAdapter
from lavka.integrations.models import (
    Connection,
    GoodLink,
    ReportSend,
    ShiftSync,
    SyncRun,
    TradePointMapping,
)
from lavka.integrations.sync import systems
from lavka.integrations.sync.runs import note_error, refused_marks
from lavka.integrations.sync.sales import MappingIds, retail_report_for

logger = logging.getLogger(__name__)

# How much one task books: rows (as many as a run queues a task for, runs.SHIFTS_PER_TASK),
# and seconds after which it takes no further row; and how many it claims at once.
BATCH_ROWS = 25
BATCH_SECONDS = 20.0
CLAIM_ROWS = 5


@dataclass
class _Books:
    """What every row of one trade point shares: read once per task."""

    mapping: TradePointMapping
    till: Connection
    books: Connection
    register: PointOfSaleAdapter
    accounting: AccountingAdapter
    ids: MappingIds


@dataclass
class _Batch:
    """One task's rows: what they share (read at the first row) and whether the chain
    of tasks for the trade point stops (a connection refused or gone)."""

    books: _Books | None = None
    halted: bool = False


def sync_shift(*, shift_sync_id: int, take_over: bool = False) -> str:
    """Book one shift, then others of its trade point (see the module docstring);
    returns its row's new state, or "skipped" when it is done, not due or held by
    another worker (the task then books the trade point's other due rows, if any)."""
    row = work.claim_one(ShiftSync.objects.filter(pk=shift_sync_id), take_over=take_over)
    if row is None:
        mapping_id = (
            ShiftSync.objects.filter(pk=shift_sync_id).values_list("mapping_id", flat=True).first()
        )
        if mapping_id is not None:
            other = work.claim_one(ShiftSync.objects.filter(mapping_id=mapping_id))
            if other is not None:
                _book_batch(other)
        return "skipped"
    return _book_batch(row)


def _book_batch(row: ShiftSync) -> str:
    """Book a claimed row and further due rows of its trade point. What comes next
    depends on how the batch ended: booked (full, out of time) or a lost lease → a task
    for the next due row now; a transient failure → the trade point's rows wait with
    the failed one (its backoff, or the system's Retry-After) and one task is queued for
    then; a refused token or a connection gone → no task (reconnecting retries the rows
    waiting for it); another failure of one shift → the next row goes on now."""
    started = time.monotonic()
    batch = _Batch()
    first_state = state = _book_one(row, batch)
    last = row
    booked = 1
    while state == WorkState.DONE:
        room = min(CLAIM_ROWS, BATCH_ROWS - booked)
        if room <= 0 or time.monotonic() - started >= BATCH_SECONDS:
            break
        taken = work.claim(
            ShiftSync.objects.filter(mapping_id=row.mapping_id), limit=room, started=False
        )
        if not taken:
            return first_state  # nothing due is left
        booked += len(taken.ids)
        last, state = _book_rows(
            list(ShiftSync.objects.filter(pk__in=taken.ids).order_by("pk")), batch
        )
    if batch.halted:
        return first_state
    if state == WorkState.PENDING:
        _queue_after_retry(last)
    else:
        _queue_next(row.mapping_id)
    return first_state


def _book_rows(rows: list[ShiftSync], batch: _Batch) -> tuple[ShiftSync, str]:
    """Book claimed rows in turn, up to one not booked (a struggling system, a lost
    lease, a refused token): the rows after it are given back. Returns the last row
    tried and its state. Each row is begun as it is booked (they were claimed with
    `started=False`): a worker dying on one costs the rows after it no attempt."""
    for index, row in enumerate(rows):
        if not work.begin(ShiftSync, row.pk, lease_owner=row.lease_owner):
            _give_back(rows[index + 1 :])
            return row, "skipped"
        state = _book_one(row, batch)
        if state != WorkState.DONE:
            _give_back(rows[index + 1 :])
            return row, state
    return rows[-1], str(WorkState.DONE)


def _queue_next(mapping_id: int) -> None:
    due = work.claimable(ShiftSync.objects.filter(mapping_id=mapping_id))
    next_id = due.order_by("pk").values_list("pk", flat=True).first()
    if next_id is not None:
        work.mark_queued(ShiftSync.objects.filter(pk=next_id))
        background.start("integrations.sync_shift", next_id)


def _queue_after_retry(failed: ShiftSync) -> None:
    """The failed row waits (`not_before`: its backoff or the system's Retry-After); the
    trade point's other pending rows would meet the same system, so they wait as long
    (no attempt counted), and one task is queued for then, for the first of them. Its
    row is marked queued as of then, so the sweeper does not queue it sooner."""
    until = ShiftSync.objects.filter(pk=failed.pk).values_list("not_before", flat=True).first()
    now = timezone.now()
    if until is None or until <= now:
        _queue_next(failed.mapping_id)
        return
    pending = ShiftSync.objects.filter(mapping_id=failed.mapping_id, state=WorkState.PENDING)
    pending.filter(Q(not_before__isnull=True) | Q(not_before__lt=until)).update(not_before=until)
    next_id = pending.order_by("pk").values_list("pk", flat=True).first()
    if next_id is not None:
        work.mark_queued(ShiftSync.objects.filter(pk=next_id), now=until)
        background.start_later(
            "integrations.sync_shift", next_id, countdown=(until - now).total_seconds()
        )


def _give_back(rows: list[ShiftSync]) -> None:
    for row in rows:
        work.release(ShiftSync.objects.filter(pk=row.pk, lease_owner=row.lease_owner))


def _book_one(row: ShiftSync, batch: _Batch) -> str:
    """Book one claimed row (reading what its trade point's rows share the first
    time); returns its new state, or "skipped" when its lease was lost."""
    try:
        if batch.books is None:
            batch.books = _books_of(row.mapping_id)
        return _book(row, batch.books)
    except work.LeaseLost:
        return "skipped"
    except TransientHttpError as error:
        retry_after = timedelta(seconds=error.retry_after) if error.retry_after else None
        last = row.attempts + 1 >= ShiftSync.max_attempts
        return _failed(row, error, retry_after=retry_after, attention=last)
    except (RejectedCredentials, systems.NotConnected) as error:
        # the token was refused, or the connection is gone: a person must act
        batch.halted = True
        return _failed(row, error, attention=True)
    except (BadAnswer, ValueError) as error:
        # a refusal or a wrong answer, a shift that cannot be booked as it is
        # (ShiftProblem is a ValueError): a retry will not cure it
        return _failed(row, error, attention=True)
    except background.TRANSIENT_ERRORS:
        work.release(ShiftSync.objects.filter(pk=row.pk, lease_owner=row.lease_owner))
        raise


def _books_of(mapping_id: int) -> _Books:
    mapping = TradePointMapping.objects.select_related(
        "trade_point__connection", "cash_desk__connection", "warehouse"
    ).get(pk=mapping_id)
    till = systems.connection_of(mapping.owner_id, mapping.trade_point.connection.role)
    books = systems.connection_of(mapping.owner_id, mapping.cash_desk.connection.role)
    return _Books(
        mapping=mapping,
        till=till,
        books=books,
        register=systems.point_of_sale_for(till),
        accounting=systems.accounting_for(books),
        ids=MappingIds(
            cash_desk_id=mapping.cash_desk.external_id,
            warehouse_id=mapping.warehouse.external_id,
        ),
    )


def _book(row: ShiftSync, shared: _Books) -> str:
    mapping = shared.mapping
    with refused_marks(shared.till):
        shift = shared.register.shift(mapping.trade_point.external_id, row.shift_external_id)
    sold = {
        line.product_external_id
        for receipt in shift.receipts
        for line in receipt.lines
        if line.product_external_id
    }
    known = set(
        GoodLink.objects.filter(mapping=mapping, good_external_id__in=sold).values_list(
            "good_external_id", flat=True
        )
    )
    report = retail_report_for(shift, shared.ids, row.report_number, known_goods=known)
    with refused_marks(shared.books):
        document_id = shared.accounting.find_retail_report(report.number)
        if document_id is None:
            fresh = _renew_lease(row) and _first_send(mapping.owner_id, row.report_number)
            document_id = shared.accounting.create_retail_report(
                report, fresh=fresh, between_documents=lambda: _extend_lease(row)
            )
    with transaction.atomic():
        if not work.complete(row):
            raise work.LeaseLost
        ShiftSync.objects.filter(pk=row.pk).update(
            document_id=document_id,
            revenue=report.revenue,
            receipts_count=len(shift.receipts),
            shift_number=shift.summary.number,
            closed_at=shift.summary.closed_at,
            last_error="",
        )
        if row.run_id is not None:
            SyncRun.objects.filter(pk=row.run_id).update(shifts_booked=F("shifts_booked") + 1)
    return str(WorkState.DONE)


def _renew_lease(row: ShiftSync) -> bool:
    """Check the row is still ours and give the create a fresh lease: it may take up
    to three calls, each bounded by the client's timeout, well inside the lease. The
    first time, `send_started_at` is stamped in the same update; returns whether this
    is that first time (no earlier attempt sent any part of the report)."""
    now = timezone.now()
    fields: dict[str, object] = {
        "lease_expires_at": now + timedelta(seconds=ShiftSync.lease_seconds)
    }
    fresh = row.send_started_at is None
    if fresh:
        fields["send_started_at"] = now
    held = ShiftSync.objects.filter(
        pk=row.pk,
        state=WorkState.CLAIMED,
        lease_owner=row.lease_owner,
        lease_expires_at__gt=now,
    ).update(**fields)
    if not held:
        raise work.LeaseLost
    return fresh


def _extend_lease(row: ShiftSync) -> None:
    """Between the takings and the report: the row is still ours (or `LeaseLost`, and
    the report is left to the row's new holder, who looks the takings up), with a whole
    lease again for the report's POST."""
    now = timezone.now()
    held = ShiftSync.objects.filter(
        pk=row.pk,
        state=WorkState.CLAIMED,
        lease_owner=row.lease_owner,
        lease_expires_at__gt=now,
    ).update(lease_expires_at=now + timedelta(seconds=ShiftSync.lease_seconds))
    if not held:
        raise work.LeaseLost


def _first_send(owner_id: int, number: str) -> bool:
    """Note (after the lease check, before any create) that sending report `number` has
    started; whether this is the first time for the owner, ever. The note outlives the
    row, so a row made again after re-mapping looks up what an earlier row sent."""
    _, created = ReportSend.objects.get_or_create(owner_id=owner_id, report_number=number)
    return created


def _failed(
    row: ShiftSync,
    error: Exception,
    *,
    retry_after: timedelta | None = None,
    attention: bool = False,
) -> str:
    message = f"{type(error).__name__}: {error}"
    logger.warning("shift sync %s (%s): %s", row.pk, row.report_number, message)
    state = work.record_failure(
        row, error=message, retry_after=retry_after, needs_attention=attention
    )
    if state == WorkState.ATTENTION:
        note_error(row.run_id, f"{row.report_number}: {message}")
    return state


def retry_waiting_shifts(*, owner_id: int) -> int:
    """Start the owner's shifts that wait for a person again (e.g. once the owner has
    connected again after a refused token); a shift whose problem remains comes back
    to `attention` after one attempt."""
    waiting = ShiftSync.objects.filter(mapping__owner_id=owner_id, state=WorkState.ATTENTION)
    return sweeping.retry_manually(ShiftSync, list(waiting.values_list("pk", flat=True)))
