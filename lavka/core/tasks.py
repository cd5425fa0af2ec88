"""Core's tasks: pruning captured email, sweeping lost background work and expired
prepared files, and preparing a file a user asked for."""

from __future__ import annotations

import logging

from django.conf import settings

from lavka.core import prepared_files, services, sweeping
from lavka.core.background import background_task

logger = logging.getLogger(__name__)


@background_task("core.prune_outbox")
def prune_outbox() -> int:
    """Drop captured emails past their retention; running it twice deletes nothing more."""
    return services.prune_outbox(older_than_days=settings.OUTBOX_RETENTION_DAYS)


@background_task("core.requeue_lost_work", soft_time_limit=50, time_limit=60)
def requeue_lost_work() -> int:
    """Queue tasks again for work rows whose message was lost or whose worker died (a
    beat entry); safe to run twice: a duplicate message only finds the rows claimed."""
    try:
        sweeping.delete_expired_files()
    except OSError:
        # a folder it cannot read must not stop every app's lost work being re-queued
        logger.exception("could not sweep expired prepared files")
    return sweeping.requeue_lost_work()


@background_task("core.prepare_file", soft_time_limit=3600, time_limit=3660)
def prepare_file(prepared_file_id: int) -> str:
    """Write a prepared file (a large export); a redelivered message takes over the
    lease of the worker that died, a duplicate finds the row claimed or done."""
    return prepared_files.prepare(prepared_file_id, take_over=prepare_file.redelivered)
