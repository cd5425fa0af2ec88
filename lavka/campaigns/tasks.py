"""Thin Celery tasks: take ids, call dispatch. Every one is safe to run twice."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.db import OperationalError

from lavka.campaigns import dispatch

COMMON = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 10,
}


@shared_task(name="campaigns.dispatch_due_mailings", soft_time_limit=50, time_limit=60, **COMMON)
def dispatch_due_mailings() -> int:
    return len(dispatch.dispatch_due_mailings())


@shared_task(name="campaigns.start_run", soft_time_limit=240, time_limit=300, **COMMON)
def start_run(run_id: int) -> None:
    dispatch.start_run(run_id=run_id)


@shared_task(name="campaigns.send_chunk", soft_time_limit=240, time_limit=300, **COMMON)
def send_chunk(run_id: int, first_id: int, last_id: int) -> None:
    dispatch.send_chunk(run_id=run_id, first_id=first_id, last_id=last_id)


@shared_task(name="campaigns.recover_stalled", soft_time_limit=50, time_limit=60, **COMMON)
def recover_stalled() -> int:
    return dispatch.recover_stalled()


@shared_task(
    name="campaigns.send_test_message",
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=10,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def send_test_message(message_id: int, user_id: int) -> None:
    from lavka.campaigns.services import deliver_test_copy

    deliver_test_copy(message_id=message_id, user_id=user_id)
