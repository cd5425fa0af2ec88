#!/usr/bin/env python
"""The "bought together" recommendations on their two stores, side by side in one run.

The same synthetic paid orders (each of 2 to 5 distinct products out of 2,000, chosen
with a skew: a few products are in many orders, most in few) are recorded one order at
a time, as the task records them, in each store; then the same products are asked for:

  record        orders recorded per second (`store.record`, what a task does per order)
  top N         "bought together" top N per second from the store alone (`store.top`)
  page          the product page's read per second: the product checked on sale, the
                store's candidates, the products on sale loaded as the shop lists them
                (`selectors.bought_together`)
  cart          the cart page's read per second for a cart of 3 products
                (`selectors.suggestions_for_cart`)

Prints each store's rates and the ratio Redis / database, and checks that both stores
rank a sample of products the same.

    .venv/bin/python bench/recommendations.py                           # embedded default
    .venv/bin/python bench/recommendations.py --redis-url redis://127.0.0.1:6379/3
    .venv/bin/python bench/recommendations.py --orders 5000 --queries 1000   # quicker
    DATABASE_URL=postgres://… .venv/bin/python bench/recommendations.py

The database is a fresh one made for the bench (a temporary SQLite file, or
`<name>_bench` on PostgreSQL); Redis keys live under a prefix of the run's own, deleted
at the end. Without a Redis answering at the URL, the Redis column is left out.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import fresh_environment

SHOWN = 4  # what a product page shows by default (LAVKA_RECOMMENDATIONS_COUNT)


def make_products(count: int) -> list[int]:
    from decimal import Decimal

    from lavka.accounts.models import User
    from lavka.marketplace.models import CreatorProfile, Product

    user = User.objects.create_user("bench-creator@example.com", "bench-password")
    creator = CreatorProfile.objects.create(
        user=user,
        display_name="Bench",
        slug="bench",
        status=CreatorProfile.Status.APPROVED,
    )
    Product.objects.bulk_create(
        [
            Product(
                creator=creator,
                title_en=f"Product {number}",
                slug=f"product-{number}",
                price=Decimal("10.00"),
                kind=Product.Kind.DIGITAL,
                stock=None,
            )
            for number in range(count)
        ],
        batch_size=500,
    )
    return list(Product.objects.order_by("pk").values_list("pk", flat=True))


def skewed_picker(product_ids: list[int], seed: int) -> Callable[[int], list[int]]:
    """`pick(k)`: k distinct products, product i drawn with weight 1 / (i + 1) ** 0.9."""
    rng = random.Random(seed)
    shuffled = product_ids[:]
    rng.shuffle(shuffled)
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(shuffled))]
    cumulative = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)

    def pick(k: int) -> list[int]:
        chosen: set[int] = set()
        while len(chosen) < k:
            chosen.update(rng.choices(shuffled, cum_weights=cumulative, k=k - len(chosen)))
        return sorted(chosen)

    return pick


def synthetic_orders(product_ids: list[int], count: int, seed: int) -> list[list[int]]:
    pick = skewed_picker(product_ids, seed)
    sizes = random.Random(seed + 1)
    return [pick(sizes.randint(2, 5)) for _ in range(count)]


def rate(count: int, run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def measure(store: Any, orders: list[list[int]], asked: list[int], carts: list[list[int]]) -> dict:
    from lavka.marketplace.recommendations import selectors

    def record() -> None:
        for number, products in enumerate(orders, start=1):
            store.record(number, products)

    def top() -> None:
        for product in asked:
            store.top(product, SHOWN * selectors.CANDIDATES_PER_SHOWN)

    def page() -> None:
        for product in asked:
            selectors.bought_together(product, limit=SHOWN, store=store)

    def cart() -> None:
        for products in carts:
            selectors.suggestions_for_cart(products, limit=SHOWN, store=store)

    results = {"record": rate(len(orders), record)}
    print(f"  {store.name}: recorded {len(orders)} orders", flush=True)
    results["top N"] = rate(len(asked), top)
    results["page"] = rate(len(asked), page)
    results["cart"] = rate(len(carts), cart)
    return results


def redis_store(url: str) -> Any:
    from redis.exceptions import RedisError

    from lavka.marketplace.recommendations import stores

    client = stores.redis_client(url)
    try:
        client.ping()
    except RedisError as error:
        print(f"Redis at {url} does not answer ({error}): the Redis column is left out.")
        return None
    return stores.RedisStore(client, f"bench-recs-{uuid.uuid4().hex}:")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("RECOMMENDATIONS_REDIS_URL") or "redis://127.0.0.1:6379/0",
        help="the Redis for the Redis store (default: RECOMMENDATIONS_REDIS_URL, else "
        "redis://127.0.0.1:6379/0)",
    )
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="lavka-bench-recs-"))
    fresh_environment(tmp, drop=("CACHE_URL", "RECOMMENDATIONS_REDIS_URL"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from lavka.marketplace.recommendations import stores

    call_command("migrate", verbosity=0)
    try:
        product_ids = make_products(args.products)
        orders = synthetic_orders(product_ids, args.orders, args.seed)
        ask = skewed_picker(product_ids, args.seed + 2)
        asked = [ask(1)[0] for _ in range(args.queries)]
        carts = [ask(3) for _ in range(args.queries)]
        print(
            f"{args.orders} orders of 2-5 of {args.products} products, {args.queries} "
            f"queries each, on {connection.vendor}",
            flush=True,
        )
        chosen: list[Any] = [stores.DatabaseStore()]
        redis = redis_store(args.redis_url)
        if redis is not None:
            chosen.append(redis)
        results = {}
        try:
            for store in chosen:
                results[store.name] = measure(store, orders, asked, carts)
            if redis is not None:
                sample = asked[:200]
                same = sum(chosen[0].top(p, 12) == redis.top(p, 12) for p in sample)
                print(f"rankings agree on {same} of {len(sample)} sampled products")
        finally:
            if redis is not None:
                redis.clear()
        print()
        header = f"{'per second':<32}{'database':>12}"
        if redis is not None:
            header += f"{'redis':>12}{'redis / db':>12}"
        print(header)
        labels = {
            "record": "orders recorded",
            "top N": f"top {SHOWN * 3} from the store",
            "page": "product page's read",
            "cart": "cart page's read (3 products)",
        }
        for key, label in labels.items():
            row = f"{label:<32}{results['database'][key]:>12.0f}"
            if redis is not None:
                ratio = results["redis"][key] / results["database"][key]
                row += f"{results['redis'][key]:>12.0f}{ratio:>11.1f}x"
            print(row)
    finally:
        connection.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
