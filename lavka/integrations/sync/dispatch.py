"""Firing sync schedules: one fixed beat entry calls `dispatch_due_schedules`, which
gives each due `SyncSchedule` one `SyncRun` per slot (as campaigns fire mailings).

Safe under several dispatchers at once: each schedule row is claimed with SELECT … FOR
UPDATE SKIP LOCKED (SQLite serialises writers instead) and re-checked as due under the
lock, and a run is unique per (schedule, slot), so a slot fires once whatever happens.
Slots missed while Lavka was down are not fired one by one: a sync run catches up on
everything since the last (goods are compared whole, shifts are listed from a cursor),
so the next slot after now is set and one run fires.

A run whose worker died (killed, lost with its host) would stay `running` for ever and
block "sync now"; each dispatch first marks runs running longer than `run_sync`'s hard
time limit (plus a margin) as failed: no live worker can still be on them. A run's
`started_at` is its dispatch until a worker starts it, then that start (runs.execute_run
stamps it), so the limit counts from the real start; a run still waiting in the queue
that long (35 minutes: the queue is stuck, or its message was lost) is failed too, and
its message, if it ever comes, is skipped: the next slot does the work.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from lavka.core import background
from lavka.integrations.models import SyncRun, SyncRunStatus, SyncSchedule, SyncTrigger

logger = logging.getLogger(__name__)

# `integrations.run_sync`'s hard time limit (tasks.py uses it): past it, plus a margin
# for a busy queue's clock, a run still `running` has no worker left.
RUN_TIME_LIMIT_SECONDS = 1800
STALE_MARGIN_SECONDS = 300
STALE_RUN_ERROR = "the worker stopped before the run finished"


def stale_cutoff(now: datetime | None = None) -> datetime:
    """Runs started (or, not started yet, dispatched) before this and still running
    are stale."""
    limit = RUN_TIME_LIMIT_SECONDS + STALE_MARGIN_SECONDS
    return (now or timezone.now()) - timedelta(seconds=limit)


def fail_stale_runs(*, now: datetime | None = None, schedule: SyncSchedule | None = None) -> int:
    """Mark runs (of every schedule, or of `schedule`) whose worker stopped before they
    finished as failed; returns how many."""
    now = now or timezone.now()
    stale = SyncRun.objects.filter(
        status=SyncRunStatus.RUNNING, finished_at__isnull=True, started_at__lt=stale_cutoff(now)
    )
    if schedule is not None:
        stale = stale.filter(schedule=schedule)
    failed = stale.update(
        status=SyncRunStatus.FAILED,
        finished_at=now,
        errors=F("errors") + 1,
        last_error=STALE_RUN_ERROR,
    )
    if failed:
        logger.warning("%s sync runs were still running past the time limit: failed", failed)
    return failed


def run_under_way(schedule: SyncSchedule, *, now: datetime | None = None) -> SyncRun | None:
    """The schedule's run that is still going (not stale), if any."""
    return (
        SyncRun.objects.filter(
            schedule=schedule,
            status=SyncRunStatus.RUNNING,
            finished_at__isnull=True,
            started_at__gte=stale_cutoff(now),
        )
        .order_by("-started_at", "-pk")
        .first()
    )


def dispatch_due_schedules(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Fire every due, unpaused schedule; returns the new runs' ids."""
    now = now or timezone.now()
    fail_stale_runs(now=now)
    due = list(
        SyncSchedule.objects.filter(paused_at__isnull=True, next_run_at__lte=now)
        .order_by("next_run_at")
        .values_list("pk", flat=True)[:limit]
    )
    fired = []
    for schedule_id in due:
        run_id = fire_due_slot(schedule_id=schedule_id, now=now)
        if run_id is not None:
            fired.append(run_id)
    return fired


def fire_due_slot(*, schedule_id: int, now: datetime) -> int | None:
    with transaction.atomic():
        schedule = (
            SyncSchedule.objects.select_for_update(skip_locked=True)
            .filter(pk=schedule_id, paused_at__isnull=True, next_run_at__lte=now)
            .first()
        )
        if schedule is None:
            return None  # another dispatcher has it, or fired it already
        slot = schedule.next_run_at
        run = _create_run(schedule, slot, SyncTrigger.SCHEDULED)
        schedule.next_run_at = next_slot(schedule, after=now)
        schedule.save(update_fields=["next_run_at"])
        if run is None:
            return None
        background.start("integrations.run_sync", run.pk)
        return run.pk


def next_slot(schedule: SyncSchedule, *, after: datetime) -> datetime:
    """The first slot of the schedule's grid (its current next run plus whole
    intervals) later than `after`."""
    step = timedelta(minutes=max(1, schedule.interval_minutes))
    slot = schedule.next_run_at
    if slot > after:
        return slot
    return slot + step * ((after - slot) // step + 1)


def start_manual_run(*, schedule: SyncSchedule) -> SyncRun | None:
    """ "Sync now": a run of the schedule's job at once, beside the scheduled ones;
    None when a run of the job is already under way. The schedule row is locked while
    that is checked, so two presses at once start one run. A stale run of the job is
    failed first, as the next dispatch would."""
    with transaction.atomic():
        locked = SyncSchedule.objects.select_for_update().filter(pk=schedule.pk).first()
        if locked is None or run_under_way(locked) is not None:
            return None
        fail_stale_runs(schedule=locked)
        run = _create_run(locked, timezone.now(), SyncTrigger.MANUAL)
        if run is not None:
            background.start("integrations.run_sync", run.pk)
    return run


def _create_run(schedule: SyncSchedule, slot: datetime, trigger: str) -> SyncRun | None:
    try:
        with transaction.atomic():
            return SyncRun.objects.create(schedule=schedule, trigger=trigger, slot=slot)
    except IntegrityError:
        logger.warning("sync schedule %s slot %s fired twice; ran once", schedule.pk, slot)
        return None
