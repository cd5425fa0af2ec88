"""Per-owner send rate, counted over every worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from lavka.campaigns.dispatch.limits import rate_slack
from lavka.campaigns.models import Delivery, SendingPolicy

RATE_WINDOW = timedelta(seconds=60)


def reserve_rate_slots(
    *, owner_id: int, delivery_ids: list[int], now: datetime | None = None
) -> tuple[list[int], datetime | None]:
    """Grant as many sends as the owner's per-minute limit allows right now.

    Counted over every worker: the owner's policy row is locked while counting the
    slots taken in the last minute (plus the slack a granted message has to go out),
    so no 60-second window of sends holds more than the limit. Returns the granted ids
    and, when some were held back, when to try again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        SendingPolicy.objects.get_or_create(owner_id=owner_id)
        policy = SendingPolicy.objects.select_for_update().get(owner_id=owner_id)
        window = Delivery.objects.filter(
            owner_id=owner_id, rate_slot_at__gt=now - RATE_WINDOW - rate_slack()
        )
        used = window.count()
        free = max(0, policy.messages_per_minute - used)
        granted = delivery_ids[:free]
        if granted:
            Delivery.objects.filter(pk__in=granted).update(rate_slot_at=now)
        retry_at = None
        if len(granted) < len(delivery_ids):
            oldest = window.order_by("rate_slot_at").values_list("rate_slot_at", flat=True).first()
            retry_at = (oldest or now) + RATE_WINDOW + rate_slack() + timedelta(milliseconds=10)
    return granted, retry_at
