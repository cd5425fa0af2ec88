"""Writes of the recommendations: an order recorded once paid, the catch-up of paid
orders whose task was lost, and the rebuild from every paid order.

An order counts once it was paid (`paid_at` set), whatever became of it after (a
refund, the archive): customers did buy those products together, and it keeps a
rebuild equal to what the tasks recorded one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from lavka.core import background
from lavka.marketplace.models import Order, OrderLine
from lavka.marketplace.recommendations.stores import (
    BoughtTogetherStore,
    RecordedOrderRow,
    configured_store,
)

logger = logging.getLogger(__name__)

BATCH = 500


def record_after_commit(order: Order) -> None:
    """Queue the recording of a paid order's products (called where an order is paid)."""
    background.start("marketplace.record_bought_together", order.pk)


def remember_hours() -> int:
    """How long a store remembers that an order was recorded: the catch-up's window and
    a day more, so that an order the catch-up may still record is always remembered."""
    return settings.LAVKA_RECOMMENDATIONS_CATCH_UP_HOURS + 24


def products_of(order_ids: Iterable[int]) -> dict[int, tuple[datetime, list[int]]]:
    """When each of these orders was paid and its products; an order that was not paid
    is left out."""
    wanted = list(order_ids)
    found: dict[int, tuple[datetime, list[int]]] = {
        pk: (paid_at, [])
        for pk, paid_at in Order.objects.filter(pk__in=wanted, paid_at__isnull=False).values_list(
            "pk", "paid_at"
        )
        if paid_at is not None
    }
    lines = OrderLine.objects.filter(order_id__in=list(found), product_id__isnull=False)
    for order_id, product_id in lines.values_list("order_id", "product_id").order_by("id"):
        found[order_id][1].append(product_id)
    return found


def record_order(*, order_id: int, store: BoughtTogetherStore | None = None) -> bool:
    """Record one paid order; False for an order unpaid, unknown or recorded before.

    On a store that forgets recorded orders (Redis), an order paid before its memory
    (`remember_hours`) is refused: the store may have forgotten recording it, and the
    last rebuild counted it (a task redelivered days late must not count it again). The
    database remembers every one, so a late task there still counts its order once."""
    found = products_of([order_id]).get(order_id)
    if found is None:
        return False
    paid_at, products = found
    store = store or configured_store()
    forgotten = timezone.now() - timedelta(hours=remember_hours() - 1)
    if store.forgets_recorded_orders and paid_at < forgotten:
        logger.warning("recommendations: order %s was paid too long ago to record", order_id)
        return False
    return store.record(order_id, products, paid_at)


def _rows(order_ids: list[int]) -> list[RecordedOrderRow]:
    found = products_of(order_ids)
    return [(pk, found[pk][1], found[pk][0]) for pk in order_ids if pk in found]


def catch_up(
    *,
    store: BoughtTogetherStore | None = None,
    now: datetime | None = None,
    hours: int | None = None,
) -> int:
    """Record the orders paid in the last `hours` that are not recorded yet (their task
    was lost); the number recorded. Reads ids only, in batches: cheap enough for beat.

    A store that lost its data (a Redis restarted without persistence, or evicting) is
    rebuilt in full instead, once: the worker that takes the lock rebuilds, the others
    skip this run. It also forgets the recorded orders older than the store needs."""
    store = store or configured_store()
    now = now or timezone.now()
    if not store.is_built():
        with store.rebuild_lock() as held:
            if not held or store.is_built():
                return 0
            logger.warning("recommendations: the store lost its data; rebuilding it")
            return _rebuild_locked(store)
    store.forget_before(now - timedelta(hours=remember_hours()))
    since = now - timedelta(
        hours=settings.LAVKA_RECOMMENDATIONS_CATCH_UP_HOURS if hours is None else hours
    )
    paid = Order.objects.filter(paid_at__gte=since).order_by("pk").values_list("pk", flat=True)
    recorded, last = 0, 0
    while True:
        batch = list(paid.filter(pk__gt=last)[:BATCH])
        if not batch:
            break
        last = batch[-1]
        known = store.recorded(batch)
        missing = [pk for pk in batch if pk not in known]
        if missing:
            recorded += store.record_many(_rows(missing))
    if recorded:
        logger.info("recommendations: caught up %s paid orders", recorded)
    return recorded


class RebuildRunning(RuntimeError):
    """Another rebuild of the same store holds its lock."""


def _paid_batches() -> Iterator[list[RecordedOrderRow]]:
    paid = Order.objects.filter(paid_at__isnull=False).order_by("pk").values_list("pk", flat=True)
    last = 0
    while True:
        batch = list(paid.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        last = batch[-1]
        yield _rows(batch)


def _rebuild_locked(store: BoughtTogetherStore) -> int:
    counted = store.rebuild(_paid_batches())
    store.forget_before(timezone.now() - timedelta(hours=remember_hours()))
    return counted


def rebuild(*, store: BoughtTogetherStore | None = None) -> int:
    """Count every paid order again, from scratch; the number recorded.

    Pages keep showing the old counts until the new ones replace them at once, and an
    order its task records meanwhile counts once (see the stores). Raises
    `RebuildRunning` while another rebuild of the store runs."""
    store = store or configured_store()
    with store.rebuild_lock() as held:
        if not held:
            raise RebuildRunning("another rebuild of the recommendations is running")
        return _rebuild_locked(store)
