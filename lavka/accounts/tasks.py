from __future__ import annotations

import smtplib

from celery import shared_task

from lavka.accounts import services


@shared_task(
    name="accounts.send_welcome_email",
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=60,
    time_limit=90,
)
def send_welcome_email(user_id: int) -> bool:
    return services.send_welcome_email(user_id=user_id)


@shared_task(name="accounts.queue_lost_welcome_emails", acks_late=True)
def queue_lost_welcome_emails() -> int:
    """Beat entry: welcome emails whose task was lost are queued again."""
    return len(services.queue_lost_welcome_emails())
