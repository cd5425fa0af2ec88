"""The owner's dashboard numbers, cached and dropped whenever they may have changed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.core.cache import cache
from django.db import transaction

CACHE_SECONDS = 600


def _key(owner_id: int) -> str:
    return f"campaigns:dashboard:{owner_id}"


@dataclass(frozen=True)
class Dashboard:
    mailings_total: int
    mailings_active: int
    recipients_distinct: int
    recipients_reachable: int
    sent_total: int
    failed_total: int


def invalidate(*, owner_id: int) -> None:
    """Drop the numbers now and again after the commit: a dashboard read inside the
    writer's transaction window must not keep the old numbers cached."""
    key = _key(owner_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def dashboard(*, owner_id: int) -> Dashboard:
    cached = cache.get(_key(owner_id))
    if cached is not None:
        return Dashboard(**cached)
    from lavka.campaigns.selectors import compute_dashboard

    fresh = compute_dashboard(owner_id=owner_id)
    cache.set(_key(owner_id), asdict(fresh), CACHE_SECONDS)
    return fresh
