"""Accounts' background work: the welcome email, sent from its work row."""

from __future__ import annotations

from lavka.accounts import services
from lavka.core.background import background_task


@background_task("accounts.send_welcome_email", soft_time_limit=60, time_limit=90)
def send_welcome_email(welcome_email_id: int) -> bool:
    """Send a welcome email row; failures are recorded on the row, whose retries the
    kernel's sweeper (`core.requeue_lost_work`) queues when they fall due."""
    return services.send_welcome_email(
        welcome_email_id=welcome_email_id, take_over=send_welcome_email.redelivered
    )
