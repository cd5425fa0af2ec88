"""Booking one closed shift into accounting: a `ShiftSync` work row, claimed under a
lease, so one worker at a time sends it.

The send is made safe to repeat by the report's stable number: the register's shift is
read, its report built, `find_retail_report(number)` asked, and only if accounting has
none is it created. A worker that dies (or an answer lost to a timeout) after accounting
made the report leaves the row claimed or pending; whoever takes it next finds the
report by its number and records its id. The lease is checked and renewed right before
the create, so a worker whose lease ran out (and whose row another took) sends nothing.

Outcomes: booked → done, with the document id, takings and receipt count; a transient
error (429, 5xx, timeout, a cut answer) → retried with the kernel's backoff, honouring
Retry-After; a refused token → the connection is marked revoked and the row waits for a
person (attention); a refusal, a wrong answer, a shift that cannot be booked as it is
(an unknown product, a Z-report that disagrees with its receipts) → attention with the
reason; the last attempt failing → attention (the dead letter). Rows in attention are
started again by the kernel's manual retry (`sweeping.retry_manually`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from lavka.core import background, sweeping, work
from lavka.core.http import BadAnswer, RejectedCredentials, TransientHttpError
from lavka.core.work import WorkState
from lavka.integrations.models import GoodLink, ShiftSync, SyncRun, TradePointMapping
from lavka.integrations.sync import systems
from lavka.integrations.sync.runs import note_error, refused_marks
from lavka.integrations.sync.sales import MappingIds, retail_report_for

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker took the row (this one's lease ran out): stop, send nothing."""


def sync_shift(*, shift_sync_id: int, take_over: bool = False) -> str:
    """Book one shift (see the module docstring); returns the row's new state, or
    "skipped" when it is done, not due or held by another worker."""
    row = work.claim_one(ShiftSync.objects.filter(pk=shift_sync_id), take_over=take_over)
    if row is None:
        return "skipped"
    try:
        return _book(row)
    except LeaseLost:
        return "skipped"
    except TransientHttpError as error:
        retry_after = timedelta(seconds=error.retry_after) if error.retry_after else None
        last = row.attempts + 1 >= ShiftSync.max_attempts
        return _failed(row, error, retry_after=retry_after, attention=last)
    except RejectedCredentials as error:
        return _failed(row, error, attention=True)
    except (BadAnswer, ValueError, systems.NotConnected) as error:
        # a refusal or a wrong answer, a shift that cannot be booked as it is
        # (ShiftProblem is a ValueError), no usable connection: a retry will not cure it
        return _failed(row, error, attention=True)
    except background.TRANSIENT_ERRORS:
        work.release(ShiftSync.objects.filter(pk=row.pk, lease_owner=row.lease_owner))
        raise


def _book(row: ShiftSync) -> str:
    mapping = TradePointMapping.objects.select_related(
        "trade_point__connection", "cash_desk__connection", "warehouse"
    ).get(pk=row.mapping_id)
    till = systems.connection_of(mapping.owner_id, mapping.trade_point.connection.role)
    books = systems.connection_of(mapping.owner_id, mapping.cash_desk.connection.role)
    with refused_marks(till):
        shift = systems.point_of_sale_for(till).shift(
            mapping.trade_point.external_id, row.shift_external_id
        )
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
    ids = MappingIds(
        cash_desk_id=mapping.cash_desk.external_id, warehouse_id=mapping.warehouse.external_id
    )
    report = retail_report_for(shift, ids, row.report_number, known_goods=known)
    accounting = systems.accounting_for(books)
    with refused_marks(books):
        document_id = accounting.find_retail_report(report.number)
        if document_id is None:
            _renew_lease(row)
            document_id = accounting.create_retail_report(report)
    with transaction.atomic():
        if not work.complete(row):
            raise LeaseLost
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


def _renew_lease(row: ShiftSync) -> None:
    """Check the row is still ours and give the create a fresh lease: it may take up
    to three calls, each bounded by the client's timeout, well inside the lease."""
    now = timezone.now()
    held = ShiftSync.objects.filter(
        pk=row.pk,
        state=WorkState.CLAIMED,
        lease_owner=row.lease_owner,
        lease_expires_at__gt=now,
    ).update(lease_expires_at=now + timedelta(seconds=ShiftSync.lease_seconds))
    if not held:
        raise LeaseLost


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
