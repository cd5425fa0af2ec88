from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from lavka.core.models import OutboxMessage, WorkerHeartbeat


def outbox_messages(*, search: str = "") -> QuerySet[OutboxMessage]:
    """Captured emails, newest first. Callers are superuser-only views."""
    messages = OutboxMessage.objects.order_by("-created_at", "-id")
    if search:
        messages = messages.filter(Q(subject__icontains=search) | Q(to__icontains=search))
    return messages


def live_workers_started_since(moment: datetime) -> list[str]:
    """Hostnames of workers that started after `moment` and are still beating."""
    fresh_since = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_GRACE)
    return list(
        WorkerHeartbeat.objects.filter(
            started_at__gte=moment, last_seen_at__gte=fresh_since
        ).values_list("hostname", flat=True)
    )
