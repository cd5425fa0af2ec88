"""Durable work rows: work that must survive a killed worker, a lost message or a
restart is a row, not only a message.

A row is `pending` until a worker claims it with a short lease (`claimed`), then `done`,
`pending` again with a later `not_before` (a retry), `failed` after its last attempt or
a permanent error (the dead letter), or `attention` when a person must act (a revoked
token, a run paused by failures). A lease taken over (its worker died, or ran past it)
counts as a failed attempt when the holder had begun the row, so a row that kills
every worker that takes it (a poison row) is given up after `max_attempts` like any
other failing row, not retried for ever. The broker only carries "look at these rows": a lost
or duplicated message costs a sweep, never a lost or doubled piece of work.

One claiming function serves every app: on PostgreSQL rows are locked with
SELECT … FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows without
waiting; SQLite serialises writers, so a conditional UPDATE that stamps a lease token
does the same there. One backoff policy (bounded, jittered, exponential, honouring a
server's Retry-After) serves every retry. What works across apps (the sweeper, the
operator page's list, manual retry and discard) is in `sweeping.py`.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from django.db import connection, models, transaction
from django.db.models import Case, F, Q, QuerySet, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lavka.core.background import TRANSIENT_ERRORS
from lavka.core.http import MAX_RETRY_AFTER_SECONDS, retry_after_seconds

logger = logging.getLogger(__name__)

ERROR_CHARS = 2000


def error_text(error: str) -> str:
    """An error as a `last_error` column stores it: cut to ERROR_CHARS, and a NUL (an
    answer's text may carry one; PostgreSQL refuses it in text) shown as U+FFFD."""
    return error.replace("\x00", "\ufffd")[:ERROR_CHARS]


class WorkState(models.TextChoices):
    PENDING = "pending", _("Pending")
    CLAIMED = "claimed", _("Claimed")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    ATTENTION = "attention", _("Needs attention")


OPEN_STATES = (WorkState.PENDING, WorkState.CLAIMED)
PROBLEM_STATES = (WorkState.FAILED, WorkState.ATTENTION)


class WorkItem(models.Model):
    """Abstract base of every durable work row; the kernel's functions below act on it.

    A subclass sets `max_attempts`, the lease and the retry timing, and implements
    `queue_work` (how to hand rows to a task) so the sweeper and the operator's retry
    can start it again.
    """

    state = models.CharField(
        _("work state"),
        max_length=16,
        choices=WorkState.choices,
        default=WorkState.PENDING,
        db_index=True,
    )
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    lease_owner = models.CharField(_("lease owner"), max_length=32, blank=True)
    # The lease token under which the row's work began: only then does a lease taken
    # over count an attempt (rows a batch claimed but never reached cost nothing).
    started_by = models.CharField(_("started by"), max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=200, null=True, blank=True, unique=True
    )
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    state_changed_at = models.DateTimeField(_("state changed at"), default=timezone.now)

    max_attempts: ClassVar[int] = 5
    lease_seconds: ClassVar[int] = 60
    # A pending row whose task was queued this long ago and has not run was lost.
    requeue_after_seconds: ClassVar[int] = 120
    retry_base_seconds: ClassVar[int] = 30
    retry_cap_seconds: ClassVar[int] = 3600

    class Meta:
        abstract = True

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        """Queue tasks for these rows after the commit. Rows that need no task (driven by
        a parent row) leave this as it is and are not swept."""
        raise NotImplementedError

    @classmethod
    def is_queueable(cls) -> bool:
        return cls.queue_work.__func__ is not WorkItem.queue_work.__func__  # type: ignore[attr-defined]

    @property
    def work_summary(self) -> str:
        """What the operator page names this row by; override to hide personal data."""
        return str(self)

    @property
    def work_error(self) -> str:
        """The last error as the operator page shows it; override to hide personal data."""
        return self.last_error

    @classmethod
    def in_motion(cls, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Hook: the rows of `queryset` whose work should be moving now. Rows held back
        on purpose (e.g. deliveries of a paused run) are neither re-queued by the sweeper
        nor listed as stuck."""
        return queryset

    @classmethod
    def before_manual_retry(cls, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        """Hook: bring the app's own fields back in line before the rows are retried;
        return the rows to start again when some must not be (settled otherwise here)."""

    @classmethod
    def after_given_up(cls, pks: Sequence[int], *, error: str) -> None:
        """Hook: bring the app's own fields (a status, a parent's counts) in line with
        rows the kernel failed because their workers stopped mid-work on every attempt;
        runs inside the transaction that failed them."""


W = TypeVar("W", bound=WorkItem)


# --- claiming ----------------------------------------------------------------------------


def claimable(
    queryset: QuerySet[W], *, now: datetime | None = None, take_over: bool = False
) -> QuerySet[W]:
    """Rows a worker may take now: pending and due, or claimed by a lease that ran out
    (or by any lease, with `take_over`: the caller knows the holder died)."""
    now = now or timezone.now()
    leased = Q(state=WorkState.CLAIMED)
    if not take_over:
        leased &= Q(lease_expires_at__lt=now)
    return queryset.filter(
        Q(state=WorkState.PENDING, not_before__isnull=True)
        | Q(state=WorkState.PENDING, not_before__lte=now)
        | leased
    )


# A claimed row whose holder began its work (see `claim` and `begin`).
_CLAIMED_AND_BEGUN = Q(state=WorkState.CLAIMED, started_by=F("lease_owner")) & ~Q(started_by="")


def begin(model: type[WorkItem], pk: int, *, lease_owner: str) -> bool:
    """Mark a row of a batch claimed with `started=False` as begun by its holder; False
    when the lease was lost meanwhile (another worker has the row: leave it)."""
    return bool(
        model._default_manager.filter(
            pk=pk, state=WorkState.CLAIMED, lease_owner=lease_owner
        ).update(started_by=lease_owner)
    )


@dataclass(frozen=True)
class Claim:
    token: str
    ids: list[int]

    def __bool__(self) -> bool:
        return bool(self.ids)


def claim(
    queryset: QuerySet[W],
    *,
    limit: int | None = None,
    lease: timedelta | None = None,
    now: datetime | None = None,
    take_over: bool = False,
    started: bool = True,
) -> Claim:
    """Claim up to `limit` claimable rows of `queryset` (in pk order) for this caller.

    The rows get a fresh lease token (`claim.token`); read them back by primary key,
    `claim.ids`: the token column has no index. Two callers never get the same row
    while its lease runs, unless one passes `take_over` because it knows the holder is
    dead: a task whose message the broker redelivered (`BackgroundTask.redelivered`)
    after its worker died mid-way.

    The rows count as started at once; a caller that claims a batch and works through
    it row by row passes `started=False` and calls `begin` before each row, so that a
    worker dying on one row costs the rows it never reached no attempt.
    """
    model = queryset.model
    now = now or timezone.now()
    lease = lease or timedelta(seconds=model.lease_seconds)
    token = uuid.uuid4().hex
    if limit is not None and limit <= 0:
        return Claim(token=token, ids=[])
    give_up_lost_too_often(queryset, now=now, take_over=take_over)
    candidates = claimable(queryset, now=now, take_over=take_over).order_by("pk")
    rows = model._default_manager.all()
    stamp = {
        "state": WorkState.CLAIMED,
        "lease_owner": token,
        "lease_expires_at": now + lease,
        "state_changed_at": now,
        "started_by": token if started else "",
        # A lease taken over from a holder that had begun is the attempt it never
        # finished (SQL reads the old row here: the values before this UPDATE).
        "attempts": Case(
            When(_CLAIMED_AND_BEGUN, then=F("attempts") + 1),
            default=F("attempts"),
            output_field=models.PositiveSmallIntegerField(),
        ),
    }
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            # Rows another transaction holds are skipped, not waited for; `of` locks this
            # table's rows only when the queryset filters through a relation.
            locked = candidates.select_for_update(skip_locked=True, of=("self",))
            ids = list(locked.values_list("pk", flat=True)[:limit])
            if ids:
                rows.filter(pk__in=ids).update(**stamp)
        return Claim(token=token, ids=ids)
    # SQLite serialises writers: one UPDATE that re-checks the claimable condition is
    # the claim, and it holds the write lock only for itself (the reads around it take
    # none). Rows are named by primary key throughout: the token column has no index.
    chosen = list(candidates.values_list("pk", flat=True)[:limit])
    if not chosen:
        return Claim(token=token, ids=[])
    claimable(rows.filter(pk__in=chosen), now=now, take_over=take_over).update(**stamp)
    ids = list(
        rows.filter(pk__in=chosen, lease_owner=token).order_by("pk").values_list("pk", flat=True)
    )
    return Claim(token=token, ids=ids)


GIVEN_UP = (
    "Given up: the worker working on it stopped before it finished, on every attempt "
    "(killed, out of memory, or lost with its host). Retry it once the cause is fixed."
)
# What an owner's page says of such a row (a run, a delivery, a file), in their words.
GIVEN_UP_NOTICE = _(
    "Stopped: it was tried several times and never finished. The site's operator can see "
    "it and try it again."
)


def give_up_lost_too_often(
    queryset: QuerySet[W], *, now: datetime | None = None, take_over: bool = False
) -> list[int]:
    """Fail the rows of `queryset` whose lease is to be taken over for their last
    attempt: each attempt so far ended with its worker gone (a poison row: one that
    kills the worker, or that no lease is long enough for). Each row is failed only
    if its holder is still the one read here, so two claimers never both fail it; the
    model's `after_given_up` hook then runs in the same transaction."""
    model = queryset.model
    now = now or timezone.now()
    worn_out = claimable(queryset, now=now, take_over=take_over).filter(
        _CLAIMED_AND_BEGUN, attempts__gte=model.max_attempts - 1
    )
    # In pk order: two claimers failing several rows lock them in the same order.
    held = list(worn_out.order_by("pk").values_list("pk", "lease_owner")[:100])
    if not held:
        return []
    rows = model._default_manager.all()
    failed: list[int] = []
    with transaction.atomic():
        for pk, holder in held:
            # Still claimable and still its holder's: one that renewed meanwhile keeps it.
            row = claimable(rows.filter(pk=pk, lease_owner=holder), now=now, take_over=take_over)
            if row.filter(_CLAIMED_AND_BEGUN).update(**failed_fields(error=GIVEN_UP, now=now)):
                failed.append(pk)
        if failed:
            model.after_given_up(failed, error=GIVEN_UP)
    if failed:
        logger.warning("%s %s: %s", model._meta.label_lower, failed, GIVEN_UP)
    return failed


def claim_one(queryset: QuerySet[W], **kwargs: Any) -> W | None:
    """Claim a single row and return it, or None when it is done, leased or not due."""
    taken = claim(queryset, limit=1, **kwargs)
    if not taken:
        return None
    return queryset.model._default_manager.get(pk=taken.ids[0])


# --- outcomes ----------------------------------------------------------------------------


def backoff(
    attempts: int,
    *,
    base_seconds: float = 30,
    cap_seconds: float = 3600,
    retry_after: timedelta | None = None,
) -> timedelta:
    """How long to wait before attempt `attempts + 1`: exponential from `base_seconds`,
    jittered by ±20 % so retries of many rows spread out, never longer than
    `cap_seconds`. A server's Retry-After wins when it asks for longer (up to a day)."""
    exponent = min(max(0, attempts - 1), 32)
    delay = min(base_seconds * 2**exponent * random.uniform(0.8, 1.2), cap_seconds)
    if retry_after is not None:
        delay = max(delay, min(retry_after.total_seconds(), MAX_RETRY_AFTER_SECONDS))
    return timedelta(seconds=delay)


def retry_after_delay(value: str | None) -> timedelta | None:
    """A Retry-After header as the delay `record_failure` takes (read by
    `lavka.core.http.retry_after_seconds`, the one parser), or None."""
    seconds = retry_after_seconds(value)
    return None if seconds is None else timedelta(seconds=seconds)


def done_fields(*, now: datetime | None = None) -> dict[str, Any]:
    """The columns of a row whose work succeeded (for bulk UPDATEs)."""
    return {
        "state": WorkState.DONE,
        "lease_owner": "",
        "lease_expires_at": None,
        "not_before": None,
        "state_changed_at": now or timezone.now(),
    }


def retry_fields(
    *, error: str, not_before: datetime, now: datetime | None = None, counted: bool = True
) -> dict[str, Any]:
    """The columns of a row to try again at `not_before`."""
    fields: dict[str, Any] = {
        "state": WorkState.PENDING,
        "lease_owner": "",
        "lease_expires_at": None,
        "not_before": not_before,
        "queued_at": None,
        "last_error": error_text(error),
        "state_changed_at": now or timezone.now(),
    }
    if counted:
        fields["attempts"] = F("attempts") + 1
    return fields


def failed_fields(
    *, error: str, state: str = WorkState.FAILED, now: datetime | None = None
) -> dict[str, Any]:
    """The columns of a row given up on (the dead letter) or waiting for a person."""
    return {
        "state": state,
        "lease_owner": "",
        "lease_expires_at": None,
        "not_before": None,
        "last_error": error_text(error),
        "attempts": F("attempts") + 1,
        "state_changed_at": now or timezone.now(),
    }


def release(queryset: QuerySet[W], *, not_before: datetime | None = None) -> int:
    """Give claimed rows back without counting an attempt (e.g. held back by a rate
    limit); they are queued again by whoever set `not_before`, or by the sweeper."""
    return queryset.update(
        state=WorkState.PENDING,
        lease_owner="",
        lease_expires_at=None,
        not_before=not_before,
        queued_at=None,
        state_changed_at=timezone.now(),
    )


def _own_row(item: WorkItem) -> QuerySet[Any]:
    """The item's row, as long as this caller still holds it: once a lease ran out and
    another worker claimed the row, the first worker's outcome must not overwrite it."""
    row = type(item)._default_manager.filter(pk=item.pk)
    if item.lease_owner:
        row = row.filter(state=WorkState.CLAIMED, lease_owner=item.lease_owner)
    return row


def complete(item: WorkItem) -> bool:
    """Mark the item done; False when its lease was lost to another worker meanwhile."""
    return bool(_own_row(item).update(**done_fields()))


def record_failure(
    item: WorkItem,
    *,
    error: str,
    permanent: bool = False,
    retry_after: timedelta | None = None,
    needs_attention: bool = False,
) -> str:
    """Count a failed attempt: retry with backoff, or give up after the last attempt or
    a permanent error. Returns the row's new state (or, when its lease was lost to
    another worker meanwhile, the state that worker left it in)."""
    model = type(item)
    attempt = item.attempts + 1
    if needs_attention:
        state, fields = WorkState.ATTENTION, failed_fields(error=error, state=WorkState.ATTENTION)
    elif permanent or attempt >= model.max_attempts:
        state, fields = WorkState.FAILED, failed_fields(error=error)
    else:
        delay = backoff(
            attempt,
            base_seconds=model.retry_base_seconds,
            cap_seconds=model.retry_cap_seconds,
            retry_after=retry_after,
        )
        state = WorkState.PENDING
        fields = retry_fields(error=error, not_before=timezone.now() + delay)
    if _own_row(item).update(**fields):
        return state
    return str(
        model._default_manager.filter(pk=item.pk).values_list("state", flat=True).first() or ""
    )


class LeaseLost(Exception):
    """Raised inside `attempt` when the row was taken over by another worker (our lease
    ran out): what the block wrote is undone, and the other worker finishes the row."""


@dataclass
class Attempt:
    """How an `attempt` ended: `failed` once an error was recorded on the row, `lost`
    when another worker took the row over."""

    failed: bool = False
    lost: bool = False

    @property
    def succeeded(self) -> bool:
        return not (self.failed or self.lost)


@contextmanager
def attempt(item: WorkItem, *, what: str) -> Iterator[Attempt]:
    """Run a claimed item's work inside, with the error ladder every worker shares: a
    transient database error (busy, locked, restarting) gives the row back without
    counting an attempt and propagates, for the task's own retry; `LeaseLost` ends it
    quietly; any other error is logged and recorded on the row (retried with backoff
    until its last attempt). Errors a caller treats its own way are caught inside the
    block, before they reach here. `what` names the row in the log."""
    outcome = Attempt()
    try:
        yield outcome
    except TRANSIENT_ERRORS:
        release(type(item)._default_manager.filter(pk=item.pk, lease_owner=item.lease_owner))
        raise
    except LeaseLost:
        outcome.lost = True
    except Exception as error:
        logger.exception("%s %s failed", what, item.pk)
        record_failure(item, error=describe(error))
        outcome.failed = True


@contextmanager
def attempt_to_done(item: WorkItem, *, what: str) -> Iterator[Attempt]:
    """`attempt`, with what the block writes and the row's "done" in one transaction:
    a worker dying half-way leaves both undone, and when the lease was lost to another
    worker meanwhile both are undone (`LeaseLost`) and that worker does the work."""
    with attempt(item, what=what) as outcome, transaction.atomic():
        yield outcome
        if not complete(item):
            raise LeaseLost


def describe(error: BaseException) -> str:
    """An error as a row's `last_error` shows it."""
    return f"{type(error).__name__}: {error}"


def mark_queued(queryset: QuerySet[W], *, now: datetime | None = None) -> int:
    """Stamp rows as handed to the broker now, so the sweeper leaves them alone a while."""
    return queryset.update(queued_at=now or timezone.now())
