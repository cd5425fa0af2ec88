"""Core's periodic tasks: pruning captured email and sweeping lost background work."""

from __future__ import annotations

from django.conf import settings

from lavka.core import services, sweeping
from lavka.core.background import background_task


@background_task("core.prune_outbox")
def prune_outbox() -> int:
    """Drop captured emails past their retention; running it twice deletes nothing more."""
    return services.prune_outbox(older_than_days=settings.OUTBOX_RETENTION_DAYS)


@background_task("core.requeue_lost_work", soft_time_limit=50, time_limit=60)
def requeue_lost_work() -> int:
    """Queue tasks again for work rows whose message was lost or whose worker died (a
    beat entry); safe to run twice: a duplicate message only finds the rows claimed."""
    return sweeping.requeue_lost_work()
