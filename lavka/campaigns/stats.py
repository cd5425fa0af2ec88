"""The owner's dashboard numbers: their shape, cache key, and dropping them whenever they
may have changed (`selectors.dashboard` reads and fills the cache)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

CACHE_SECONDS = 600


def cache_key(owner_id: int) -> str:
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
    key = cache_key(owner_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))
