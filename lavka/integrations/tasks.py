"""Bookkeeping sync tasks, on the `sync` queue (CELERY_TASK_ROUTES). Each takes primary
keys and is safe to run twice: the work rows and unique constraints decide."""

from __future__ import annotations

from lavka.core.background import background_task
from lavka.integrations.sync import dispatch, runs, shifts


@background_task("integrations.dispatch_due_syncs", soft_time_limit=50, time_limit=60)
def dispatch_due_syncs() -> int:
    """Fire due sync schedules (a fixed beat entry; schedules themselves are rows)."""
    return len(dispatch.dispatch_due_schedules())


@background_task("integrations.run_sync", soft_time_limit=1500, time_limit=1800)
def run_sync(run_id: int) -> str:
    """A run's job: goods to the registers, or the closed shifts recorded and queued."""
    return runs.execute_run(run_id=run_id)


@background_task("integrations.sync_shift", soft_time_limit=240, time_limit=300)
def sync_shift(shift_sync_id: int) -> str:
    """Book one closed shift into accounting, once (see sync/shifts.py)."""
    return shifts.sync_shift(shift_sync_id=shift_sync_id, take_over=sync_shift.redelivered)
