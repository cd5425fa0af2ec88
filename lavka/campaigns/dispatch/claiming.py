"""Taking a batch of deliveries to send: the kernel's claim, under a short lease."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from lavka.campaigns.dispatch.limits import claim_lease
from lavka.campaigns.models import Delivery, DeliveryStatus
from lavka.core import work


class ClaimedDelivery(TypedDict):
    pk: int
    email: str
    recipient_id: int
    recipient__full_name: str
    attempts: int
    lease_owner: str


def claim_batch(ids: list[int]) -> list[ClaimedDelivery]:
    """The due, unleased pending deliveries among `ids`, now leased to this caller; each
    is begun (`work.begin`) as it is sent, so a worker dying on one costs the rest of
    the batch no attempt."""
    taken = work.claim(
        Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING),
        lease=claim_lease(),
        started=False,
    )
    if not taken:
        return []
    return list(
        Delivery.objects.filter(pk__in=taken.ids)
        .order_by("pk")
        .values("pk", "email", "recipient_id", "recipient__full_name", "attempts", "lease_owner")
    )


def release(ids: list[int], *, lease_owner: str, not_before: datetime | None) -> None:
    """Give claimed deliveries back unsent, without counting an attempt (only those
    still under this caller's lease)."""
    work.release(
        Delivery.objects.filter(pk__in=ids, lease_owner=lease_owner), not_before=not_before
    )
