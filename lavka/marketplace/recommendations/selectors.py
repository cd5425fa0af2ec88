"""Reads of the recommendations: what the product page and the cart page show.

A store gives ranked ids; only products on sale are shown (the catalogue's own rule,
`Product.objects.on_sale()`), loaded as the shop's lists load them, in a fixed number
of queries. A store ranks more candidates than are shown, so a few products off sale
among the best still leave a full list. Unknown ids, ids off sale or out of range give
an empty list, never an error (a product off sale has no recommendations, and a cart's
products off sale suggest nothing); a Redis that does not answer gives an empty list too
(logged), so a page never fails for its recommendations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from redis.exceptions import RedisError

from lavka.marketplace import selectors as catalogue
from lavka.marketplace.models import Product
from lavka.marketplace.recommendations.stores import BoughtTogetherStore, configured_store

logger = logging.getLogger(__name__)

# Candidates read from the store for each product shown.
CANDIDATES_PER_SHOWN = 3
# A cart is read for at most this many of its products (a cart holds at most 100 lines).
MAX_CART_PRODUCTS = 100


def _on_sale_ids(product_ids: Iterable[object]) -> list[int]:
    """The ids of products on sale among these; anything else (not an id, out of range,
    unknown, archived, inactive, of a creator not approved) is left out."""
    valid = set()
    for value in product_ids:
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if 0 < value <= catalogue.MAX_ID:
            valid.add(value)
    if not valid:
        return []
    wanted = sorted(valid)[:MAX_CART_PRODUCTS]
    return sorted(Product.objects.on_sale().filter(pk__in=wanted).values_list("pk", flat=True))


def _shown(ranked: Callable[[int], list[int]], limit: int | None) -> list[Product]:
    count = settings.LAVKA_RECOMMENDATIONS_COUNT if limit is None else limit
    if count <= 0:
        return []
    try:
        candidates = ranked(count * CANDIDATES_PER_SHOWN)
    except RedisError as error:  # the store is down: the page goes on without
        logger.warning("recommendations unavailable: %s", error)
        return []
    if not candidates:
        return []
    on_sale = {
        product.pk: product
        for product in catalogue.shop_products().filter(pk__in=candidates).order_by()
    }
    return [on_sale[pk] for pk in candidates if pk in on_sale][:count]


def bought_together(
    product_id: object, *, limit: int | None = None, store: BoughtTogetherStore | None = None
) -> list[Product]:
    """Products on sale most often bought with this one, best first (never itself)."""
    ids = _on_sale_ids([product_id])
    if not ids:
        return []
    chosen = store or configured_store()
    return [
        product
        for product in _shown(lambda n: chosen.top(ids[0], n), limit)
        if product.pk != ids[0]
    ]


def suggestions_for_cart(
    product_ids: Iterable[object],
    *,
    limit: int | None = None,
    store: BoughtTogetherStore | None = None,
) -> list[Product]:
    """Products on sale most often bought with the cart's products, none of them."""
    ids = _on_sale_ids(product_ids)
    if not ids:
        return []
    chosen = store or configured_store()
    in_cart = set(ids)
    return [
        product
        for product in _shown(lambda n: chosen.suggest(ids, n), limit)
        if product.pk not in in_cart
    ]
