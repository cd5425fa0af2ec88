"""Thin tasks: take ids, call dispatch. Every one is safe to run twice.

Queues come from CELERY_TASK_ROUTES: `campaigns.send_*` on the mail queue, the rest on
the default queue.
"""

from __future__ import annotations

import smtplib

from lavka.campaigns import dispatch, import_batches
from lavka.campaigns.dispatch.test_sends import deliver_test_copy
from lavka.core.background import background_task


@background_task("campaigns.dispatch_due_mailings", soft_time_limit=50, time_limit=60)
def dispatch_due_mailings() -> int:
    return len(dispatch.dispatch_due_mailings())


@background_task("campaigns.start_run")
def start_run(run_id: int) -> None:
    dispatch.start_run(run_id=run_id)


@background_task("campaigns.resume_run")
def resume_run(run_id: int) -> None:
    dispatch.resume_run(run_id=run_id)


@background_task("campaigns.send_chunk")
def send_chunk(run_id: int, first_id: int, last_id: int) -> None:
    dispatch.send_chunk(run_id=run_id, first_id=first_id, last_id=last_id)


@background_task("campaigns.recover_stalled", soft_time_limit=50, time_limit=60)
def recover_stalled() -> int:
    return dispatch.recover_stalled()


@background_task(
    "campaigns.send_test_message",
    retry_for=(smtplib.SMTPException, OSError),
    retry_backoff=10,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def send_test_message(message_id: int, user_id: int) -> None:
    deliver_test_copy(message_id=message_id, user_id=user_id)


@background_task("campaigns.import_recipients", soft_time_limit=1800, time_limit=1860)
def import_recipients(import_id: int) -> None:
    """Run or resume a confirmed CSV import; safe to run twice (it claims the job)."""
    import_batches.run_import(job_id=import_id, take_over=import_recipients.redelivered)
