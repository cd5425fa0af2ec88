"""A sync run's work for one owner: goods from accounting to every mapped trade point,
and the closed shifts of every mapped trade point recorded as `ShiftSync` rows (booked
by `shifts.sync_shift` tasks, one queued per `SHIFTS_PER_TASK` rows: each task books
further due rows of its trade point).

Both are safe to run twice or at once (a redelivered task, a manual run beside a
scheduled one): products are upserted by external id and links are upserted by
(mapping, good); a shift's row is unique per (mapping, shift), so a shift listed by two
runs, or twice by one, is one row and one report.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from lavka.core import background
from lavka.core.http import HttpError, RejectedCredentials
from lavka.core.work import WorkState, error_text
from lavka.integrations.adapters.base import Good, PointOfSaleAdapter, ShiftSummary
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    GoodLink,
    ShiftSync,
    SyncJob,
    SyncRun,
    SyncRunStatus,
    TradePointMapping,
)
from lavka.integrations.sync import systems
from lavka.integrations.sync.goods import LinkState, ProductToSend, batches, plan_goods

logger = logging.getLogger(__name__)

# Shifts written (and queued) per transaction while a listing is read.
SHIFT_CHUNK = 100
# Rows per queued task: a task books its own row and further due rows of the trade
# point (sync/shifts.py), so one message per this many rows is enough.
SHIFTS_PER_TASK = 25


def lookback() -> timedelta:
    """How far behind its cursor a trade point's listing starts, so a shift its register
    closed offline and uploaded late is still found."""
    return timedelta(hours=int(getattr(settings, "LAVKA_SYNC_LOOKBACK_HOURS", 48)))


def report_number(trade_point_external_id: str, shift_external_id: str) -> str:
    """Lavka's number of a shift's report: stable, so a retry finds what was sent. It
    names the register's trade point and shift, not Lavka's rows, so a trade point that
    is unmapped and mapped again (or reconnected) never books a shift twice."""
    number = f"L{trade_point_external_id}-{shift_external_id}"
    if len(number) > 50:  # the column's, and accounting's, limit
        number = "L" + hashlib.sha256(number.encode()).hexdigest()[:40]
    return number


@contextmanager
def refused_marks(connection: Connection) -> Iterator[None]:
    """A token the system refuses marks its connection revoked (then re-raises)."""
    try:
        yield
    except RejectedCredentials as error:
        systems.token_refused(connection, error)
        raise


def count(run_id: int | None, **increments: int) -> None:
    if run_id is not None and any(increments.values()):
        SyncRun.objects.filter(pk=run_id).update(
            **{name: F(name) + value for name, value in increments.items()}
        )


def note_error(run_id: int | None, error: str) -> None:
    if run_id is not None:
        SyncRun.objects.filter(pk=run_id).update(
            errors=F("errors") + 1, last_error=error_text(error)
        )


# --- goods --------------------------------------------------------------------------------


@dataclass
class GoodsOutcome:
    sent: int = 0
    archived: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)


def sync_goods(*, owner_id: int, run_id: int | None = None) -> GoodsOutcome:
    """Send new and changed goods to every mapped trade point whose system takes goods
    (not Lavka's own shop), archive those accounting archived or dropped; links are
    written per batch, so work done before a failure is not sent again. Accounting's
    listing is read once for all trade points. A register that fails does not stop the
    others; the first failure is raised once all were tried."""
    outcome = GoodsOutcome()
    groups = [
        (connection, group)
        for connection, group in _by_point_of_sale(owner_id)
        if systems.takes_goods(connection)
    ]
    if not groups:
        return outcome
    books = systems.connection_of(owner_id, ConnectionRole.ACCOUNTING)
    with refused_marks(books):
        goods = list(systems.accounting_for(books).goods())

    def send(mapping: TradePointMapping, register: PointOfSaleAdapter) -> None:
        _sync_goods_of(mapping, goods, register, outcome, run_id)

    _each_trade_point(groups, send)
    return outcome


def _each_trade_point(
    groups: list[tuple[Connection, list[TradePointMapping]]],
    work: Callable[[TradePointMapping, PointOfSaleAdapter], None],
) -> None:
    """`work` for every mapping, through its connection's adapter (a refused token
    marks the connection). A connection that fails (a refused token, an outage) does
    not stop the others; the first failure is raised once all were tried."""
    failures: list[Exception] = []
    for connection, group in groups:
        try:
            till = systems.usable(connection)
            register = systems.point_of_sale_for(till)
            with refused_marks(till):
                for mapping in group:
                    work(mapping, register)
        except (HttpError, systems.NotConnected) as failure:
            failures.append(failure)
    if failures:
        raise failures[0]


def _by_point_of_sale(owner_id: int) -> list[tuple[Connection, list[TradePointMapping]]]:
    """The owner's mappings grouped by the connection of their trade point (a register
    account, Lavka's shop), each connection once, in a stable order."""
    groups: dict[int, tuple[Connection, list[TradePointMapping]]] = {}
    mappings = (
        TradePointMapping.objects.filter(owner_id=owner_id)
        .select_related("trade_point__connection")
        .order_by("pk")
    )
    for mapping in mappings:
        connection = mapping.trade_point.connection
        groups.setdefault(connection.pk, (connection, []))[1].append(mapping)
    return list(groups.values())


def _sync_goods_of(
    mapping: TradePointMapping,
    goods: Sequence[Good],
    register: PointOfSaleAdapter,
    outcome: GoodsOutcome,
    run_id: int | None,
) -> None:
    links = [
        LinkState(good_id, digest, archived_at is not None)
        for good_id, digest, archived_at in GoodLink.objects.filter(mapping=mapping).values_list(
            "good_external_id", "content_hash", "archived_at"
        )
    ]
    plan = plan_goods(goods, links)
    outcome.unchanged += plan.unchanged
    sendable: list[ProductToSend] = []
    for item in plan.to_send:
        reason = register.refusal(item.product)
        if reason:
            outcome.refused.append(f"{item.product.name} (id {item.product.external_id}): {reason}")
        else:
            sendable.append(item)
    trade_point = mapping.trade_point.external_id
    for batch in batches(sendable, register.batch_size):
        register.upsert_products(trade_point, [item.product for item in batch])
        now = timezone.now()
        GoodLink.objects.bulk_create(
            [
                GoodLink(
                    mapping=mapping,
                    good_external_id=item.product.external_id,
                    content_hash=item.content_hash,
                    archived_at=None,
                    sent_at=now,
                )
                for item in batch
            ],
            update_conflicts=True,
            unique_fields=["mapping", "good_external_id"],
            update_fields=["content_hash", "archived_at", "sent_at"],
        )
        outcome.sent += len(batch)
        count(run_id, goods_sent=len(batch))
    for archived in batches(plan.to_archive, register.batch_size):
        register.archive_products(trade_point, archived)
        GoodLink.objects.filter(mapping=mapping, good_external_id__in=archived).update(
            archived_at=timezone.now()
        )
        outcome.archived += len(archived)
        count(run_id, goods_archived=len(archived))


# --- shifts -------------------------------------------------------------------------------


def find_shifts(*, owner_id: int, run_id: int | None = None) -> int:
    """Record every closed shift of the owner's mapped trade points since each one's
    cursor (minus the look-back window) as a `ShiftSync` row and queue the new ones;
    returns how many rows this call created. Each trade point is listed through its own
    connection (a register account, Lavka's shop): one that fails (a refused token, an
    outage) does not stop the others; the first failure is raised once all were tried."""
    found = 0

    def find(mapping: TradePointMapping, register: PointOfSaleAdapter) -> None:
        nonlocal found
        found += _find_shifts_of(mapping, register, run_id)

    _each_trade_point(_by_point_of_sale(owner_id), find)
    return found


def _find_shifts_of(
    mapping: TradePointMapping, register: PointOfSaleAdapter, run_id: int | None
) -> int:
    """The cursor moves to the newest shift listed once the listing is read whole: a
    shift's row, not the cursor, carries its work, so a row written is never lost, and
    a listing cut short is read again from the old cursor."""
    since = (mapping.sales_cursor or mapping.created_at) - lookback()
    found = 0
    newest: datetime | None = None
    chunk: list[ShiftSummary] = []
    for summary in register.closed_shifts(mapping.trade_point.external_id, closed_since=since):
        chunk.append(summary)
        newest = summary.closed_at if newest is None else max(newest, summary.closed_at)
        if len(chunk) >= SHIFT_CHUNK:
            found += _record_shifts(mapping, chunk, run_id)
            chunk = []
    found += _record_shifts(mapping, chunk, run_id)
    if newest is not None:
        TradePointMapping.objects.filter(pk=mapping.pk).filter(
            Q(sales_cursor__isnull=True) | Q(sales_cursor__lt=newest)
        ).update(sales_cursor=newest)
    return found


def _record_shifts(
    mapping: TradePointMapping, summaries: Sequence[ShiftSummary], run_id: int | None
) -> int:
    if not summaries:
        return 0
    with transaction.atomic():
        listed = {summary.external_id: summary for summary in summaries}
        known = set(
            ShiftSync.objects.filter(
                mapping=mapping, shift_external_id__in=list(listed)
            ).values_list("shift_external_id", flat=True)
        )
        fresh = [summary for shift_id, summary in listed.items() if shift_id not in known]
        if not fresh:
            return 0
        now = timezone.now()
        ShiftSync.objects.bulk_create(
            [
                ShiftSync(
                    mapping=mapping,
                    shift_external_id=summary.external_id,
                    shift_number=summary.number,
                    closed_at=summary.closed_at,
                    report_number=report_number(
                        mapping.trade_point.external_id, summary.external_id
                    ),
                    run_id=run_id,
                    queued_at=now,
                )
                for summary in fresh
            ],
            ignore_conflicts=True,  # a concurrent run wrote some first: theirs stand
        )
        created = list(
            ShiftSync.objects.filter(
                mapping=mapping,
                shift_external_id__in=[summary.external_id for summary in fresh],
                run_id=run_id,
                state=WorkState.PENDING,
                attempts=0,
                queued_at=now,
            ).values_list("pk", flat=True)
        )
        count(run_id, shifts_found=len(created))
        background.start_each(
            "integrations.sync_shift", [(pk,) for pk in created[::SHIFTS_PER_TASK]]
        )
    return len(created)


# --- a run --------------------------------------------------------------------------------


def execute_run(*, run_id: int) -> str:
    """Do a run's job once; a run already finished (a redelivered message) is left as
    it is. A sales run is done when its shifts are recorded: they are booked by their
    own tasks, which count `shifts_booked` on the run.

    `started_at` is stamped again here, when a worker actually starts the run, so a run
    that waited in a busy queue gets the whole time limit from its start before it is
    stale (dispatch.stale_cutoff); one that waits longer than that in the queue is
    failed by the next dispatch and skipped here. Whatever goes wrong, the run ends
    `failed` with the reason (never left `running`); only the kernel's transient
    database errors propagate, so the task is retried and does the run then."""
    started = SyncRun.objects.filter(
        pk=run_id, status=SyncRunStatus.RUNNING, finished_at__isnull=True
    ).update(started_at=timezone.now())
    run = SyncRun.objects.select_related("schedule").filter(pk=run_id).first()
    if run is None or run.finished_at is not None or not started:
        return "skipped"
    owner_id = run.schedule.owner_id
    status, error = SyncRunStatus.DONE, ""
    try:
        if run.schedule.job == SyncJob.GOODS:
            outcome = sync_goods(owner_id=owner_id, run_id=run.pk)
            if outcome.refused:
                error = f"{len(outcome.refused)} goods not sent: " + "; ".join(outcome.refused[:5])
                SyncRun.objects.filter(pk=run.pk).update(errors=F("errors") + len(outcome.refused))
        else:
            find_shifts(owner_id=owner_id, run_id=run.pk)
    except background.TRANSIENT_ERRORS:
        raise
    except (HttpError, systems.NotConnected, ValueError) as failure:
        logger.warning("sync run %s failed: %s", run.pk, failure)
        status, error = SyncRunStatus.FAILED, f"{type(failure).__name__}: {failure}"
        SyncRun.objects.filter(pk=run.pk).update(errors=F("errors") + 1)
    except Exception as failure:  # a bug or a database refusal: the run must still end
        logger.exception("sync run %s failed unexpectedly", run.pk)
        status, error = SyncRunStatus.FAILED, f"{type(failure).__name__}: {failure}"
        SyncRun.objects.filter(pk=run.pk).update(errors=F("errors") + 1)
    fields: dict[str, object] = {"status": status, "finished_at": timezone.now()}
    if error:
        fields["last_error"] = error_text(error)
    SyncRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(**fields)
    return str(status)
