"""Firing sync schedules: one fixed beat entry calls `dispatch_due_schedules`, which
gives each due `SyncSchedule` one `SyncRun` per slot (as campaigns fire mailings).

Safe under several dispatchers at once: each schedule row is claimed with SELECT … FOR
UPDATE SKIP LOCKED (SQLite serialises writers instead) and re-checked as due under the
lock, and a run is unique per (schedule, slot), so a slot fires once whatever happens.
Slots missed while Lavka was down are not fired one by one: a sync run catches up on
everything since the last (goods are compared whole, shifts are listed from a cursor),
so the next slot after now is set and one run fires.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from lavka.core import background
from lavka.integrations.models import SyncRun, SyncSchedule, SyncTrigger

logger = logging.getLogger(__name__)


def dispatch_due_schedules(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Fire every due, unpaused schedule; returns the new runs' ids."""
    now = now or timezone.now()
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
    """ "Sync now": a run of the schedule's job at once, beside the scheduled ones."""
    run = _create_run(schedule, timezone.now(), SyncTrigger.MANUAL)
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
