"""The integrations app's background work: thin tasks that take ids and call services.
Routed by name in CELERY_TASK_ROUTES (the sync tasks on the `sync` queue, emails on
`mail`); each is safe to run twice: the work rows and unique constraints decide."""

from __future__ import annotations

from lavka.core.background import background_task
from lavka.integrations import services
from lavka.integrations.sync import dispatch, runs, shifts


@background_task("integrations.refresh_reference_data", soft_time_limit=120, time_limit=150)
def refresh_reference_data(connection_id: int) -> bool:
    """Refresh one connection's cash desks, warehouses or trade points; a failure is
    recorded on the connection (its status), which the page shows."""
    return bool(services.refresh_reference_data_of(connection_id=connection_id))


@background_task("integrations.refresh_due_reference_data", soft_time_limit=60, time_limit=90)
def refresh_due_reference_data() -> int:
    """Beat, hourly: queue a refresh of every connection not refreshed for a day."""
    return services.refresh_due_reference_data()


@background_task("integrations.send_revoked_token_email", soft_time_limit=60, time_limit=90)
def send_revoked_token_email(email_id: int) -> bool:
    """Tell an owner their token was refused; failures are recorded on the row."""
    return services.send_revoked_token_email(
        email_id=email_id, take_over=send_revoked_token_email.redelivered
    )


@background_task("integrations.dispatch_due_syncs", soft_time_limit=50, time_limit=60)
def dispatch_due_syncs() -> int:
    """Fire due sync schedules (a fixed beat entry; schedules themselves are rows),
    after failing runs whose worker died."""
    return len(dispatch.dispatch_due_schedules())


@background_task(
    "integrations.run_sync",
    soft_time_limit=dispatch.RUN_TIME_LIMIT_SECONDS - 300,
    time_limit=dispatch.RUN_TIME_LIMIT_SECONDS,
)
def run_sync(run_id: int) -> str:
    """A run's job: goods to the registers, or the closed shifts recorded and queued."""
    return runs.execute_run(run_id=run_id)


@background_task("integrations.sync_shift", soft_time_limit=240, time_limit=300)
def sync_shift(shift_sync_id: int) -> str:
    """Book one closed shift into accounting, once (see sync/shifts.py)."""
    return shifts.sync_shift(shift_sync_id=shift_sync_id, take_over=sync_shift.redelivered)
