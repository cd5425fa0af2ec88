"""Writes owned by core: worker heartbeats and the outbox retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import close_old_connections
from django.utils import timezone

from lavka.core.models import OutboxMessage, WorkerHeartbeat


def record_worker_heartbeat(*, hostname: str, queues: list[str], started_at: datetime) -> None:
    close_old_connections()
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={"queues": queues, "started_at": started_at, "last_seen_at": timezone.now()},
    )


def forget_worker(*, hostname: str) -> None:
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def prune_outbox(*, older_than_days: int) -> int:
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = OutboxMessage.objects.filter(created_at__lt=cutoff).delete()
    return deleted
