from __future__ import annotations

from django.db.models import Q, QuerySet

from lavka.core.models import OutboxMessage


def outbox_messages(*, search: str = "") -> QuerySet[OutboxMessage]:
    """Captured emails, newest first. Callers are staff-only views."""
    messages = OutboxMessage.objects.order_by("-created_at", "-id")
    if search:
        messages = messages.filter(Q(subject__icontains=search) | Q(to__icontains=search))
    return messages
