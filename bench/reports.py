#!/usr/bin/env python
"""Sales report pages over 100,000 paid orders, measured side by side in one run.

Fills a fresh database with --orders orders (one to three lines each, of 200 products of
20 creators, paid over the last year, some refunded or archived) and a tenth as many
donations, then times, through Django's test client in this process (median of
--repeat):

  baseline        a plain SQL GROUP BY of the orders' totals per currency over the year
  staff 30 days   /shop/staff/reports/ with its defaults (the last 30 days by day)
  staff year/day  the whole year by day (366 periods, the longest a day grain allows)
  staff year/mon  the whole year by month
  creator year    one creator's report of the year by day (/shop/manage/reports/)
  staff csv       the year's CSV by day

and prints each with its SQL query count and its ratio to the baseline. Target: every
page well under a second.

    .venv/bin/python bench/reports.py
    .venv/bin/python bench/reports.py --orders 20000 --repeat 3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lavka .venv/bin/python bench/reports.py

The database is a fresh one made for the bench (a temporary SQLite file, or
`<name>_bench` on PostgreSQL), see bench/_support.py.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import fresh_environment

BATCH = 5000


def fill(orders: int) -> tuple[Any, Any]:
    """The shop's rows, written in bulk; returns a manager and one creator's user."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from lavka.accounts import services
    from lavka.core.roles import Role
    from lavka.core.work import WorkState
    from lavka.marketplace.models import (
        Category,
        CreatorProfile,
        Donation,
        Order,
        OrderLine,
        OrderRefund,
        Product,
    )

    rng = random.Random(7)
    users = get_user_model().objects
    manager = users.create_user("manager@bench.example", None)
    services.set_role(user=manager, role=Role.MANAGER, enabled=True)
    customer = users.create_user("customer@bench.example", None)
    category = Category.objects.create(name_en="Things", slug="things")
    creators = []
    for number in range(20):
        user = users.create_user(f"creator{number}@bench.example", None)
        services.set_role(user=user, role=Role.CREATOR, enabled=True)
        creators.append(
            CreatorProfile.objects.create(
                user=user,
                display_name=f"Studio {number}",
                slug=f"studio-{number}",
                status="approved",
            )
        )
    # in bulk: the catalogue's own save() keeps search text and caches the bench needs not
    Product.objects.bulk_create(
        [
            Product(
                creator=creators[number % 20],
                title_en=f"Product {number}",
                slug=f"product-{number}",
                category=category,
                price=Decimal(rng.randint(100, 10000)) / 100,
                stock=1000,
            )
            for number in range(200)
        ]
    )
    products = list(Product.objects.order_by("id"))
    now = timezone.now()
    made = 0
    while made < orders:
        count = min(BATCH, orders - made)
        batch, picks = [], []
        for _ in range(count):
            chosen = rng.sample(products, rng.randint(1, 3))
            quantities = [rng.randint(1, 3) for _ in chosen]
            total = sum((p.price * q for p, q in zip(chosen, quantities, strict=True)), Decimal(0))
            roll = rng.random()
            status = "refunded" if roll < 0.05 else "archived" if roll < 0.07 else "paid"
            batch.append(
                Order(
                    customer=customer,
                    email=customer.email,
                    full_name="Buyer",
                    status=status,
                    currency="EUR" if rng.random() < 0.9 else "RUB",
                    subtotal=total,
                    total=total,
                    checkout_token=uuid.uuid4(),
                    paid_at=now - timedelta(minutes=rng.randrange(365 * 24 * 60)),
                )
            )
            picks.append(list(zip(chosen, quantities, strict=True)))
        Order.objects.bulk_create(batch, batch_size=1000)
        saved = list(
            Order.objects.order_by("-id").values_list(
                "id", "status", "paid_at", "total", "currency"
            )[:count]
        )
        saved.reverse()
        lines, refunds = [], []
        for (order_id, status, paid_at, total, currency), chosen in zip(saved, picks, strict=True):
            for product, quantity in chosen:
                lines.append(
                    OrderLine(
                        order_id=order_id,
                        product=product,
                        creator_id=product.creator_id,
                        title=product.title_en,
                        unit_price=product.price,
                        quantity=quantity,
                        line_total=product.price * quantity,
                    )
                )
            if status == "refunded":
                refunds.append(
                    OrderRefund(
                        order_id=order_id,
                        provider="bank_transfer",
                        amount=total,
                        currency=currency,
                        reason="bench",
                        state=WorkState.DONE,
                        refunded_at=paid_at + timedelta(days=1),
                    )
                )
        OrderLine.objects.bulk_create(lines, batch_size=1000)
        OrderRefund.objects.bulk_create(refunds, batch_size=1000)
        made += count
    Donation.objects.bulk_create(
        [
            Donation(
                donor=customer,
                creator=rng.choice(creators),
                amount=Decimal(rng.randint(1, 100)),
                currency="EUR",
                status="paid",
                provider="bank_transfer",
                checkout_token=uuid.uuid4(),
                paid_at=now - timedelta(minutes=rng.randrange(365 * 24 * 60)),
            )
            for _ in range(orders // 10)
        ],
        batch_size=1000,
    )
    return manager, creators[0].user


def _orders_in(manager: Any, case: str, today: Any) -> int:
    """The sold orders a case's range covers in its scope: what REPORT_SYNC_MAX_ORDERS
    is compared with."""
    from lavka.marketplace.reports import selectors

    words = case.split()
    if words[0] == "baseline" or words[0] == "selectors":
        return 0
    days = 366 if "year" in case else next(int(w) for w in words if w.isdigit())
    scope = selectors.staff_scope(manager)
    if words[0] == "creator":
        from lavka.marketplace.models import CreatorProfile

        scope = selectors.Scope(
            creator=CreatorProfile.objects.get(slug="studio-0"), whole_shop=False
        )
    return selectors.orders_in_range(
        scope, date_from=today - timedelta(days=days - 1), date_to=today, time_zone="UTC"
    )


def median_seconds(call: Callable[[], Any], repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm: templates compiled, connection open
    times = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        queries = len(captured.captured_queries)
    return statistics.median(times), queries


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--show-queries", action="store_true", help="each query's time")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="lavka-bench-reports-"))
    fresh_environment(tmp)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # every page computed in the request, however large, to measure where a second goes
    settings.REPORT_SYNC_MAX_ORDERS = 10**9
    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        manager, creator = fill(args.orders)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # as autovacuum would after such a load
        print(f"filled {args.orders} orders in {time.perf_counter() - started:.1f} s", flush=True)
        staff, own = Client(), Client()
        staff.force_login(manager)
        own.force_login(creator)
        today = timezone.localdate()
        year = {
            "date_from": (today - timedelta(days=365)).isoformat(),
            "date_to": today.isoformat(),
        }

        def baseline() -> None:
            since = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(days=366))
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT currency, SUM(total), COUNT(*) FROM marketplace_order "
                    "WHERE status IN ('paid', 'refunded', 'archived') AND paid_at >= %s "
                    "GROUP BY currency",
                    [since],
                )
                cursor.fetchall()

        def page(client: Client, url: str, query: dict[str, str]) -> Callable[[], None]:
            def get() -> None:
                response = client.get(url, query)
                body = (
                    b"".join(response.streaming_content) if response.streaming else response.content
                )
                if response.status_code != 200 or not body:
                    raise RuntimeError(f"{url}: {response.status_code}")

            return get

        from lavka.marketplace.reports import selectors

        def numbers_only() -> None:
            selectors.sales_report(
                selectors.staff_scope(manager),
                date_from=today - timedelta(days=365),
                date_to=today,
                grain="day",
                time_zone="Europe/Moscow",
            )

        cases = {
            "baseline (plain SQL)": baseline,
            "selectors year/day": numbers_only,
            "staff 30 days": page(staff, "/shop/staff/reports/", {}),
            "staff year/day": page(staff, "/shop/staff/reports/", {**year, "grain": "day"}),
            "staff year/month": page(staff, "/shop/staff/reports/", {**year, "grain": "month"}),
            "creator year/day": page(own, "/shop/manage/reports/", {**year, "grain": "day"}),
            "staff csv year/day": page(staff, "/shop/staff/reports/csv/", {**year, "grain": "day"}),
        }
        for days in (30, 90, 180, 270):
            since = {
                "date_from": (today - timedelta(days=days - 1)).isoformat(),
                "date_to": today.isoformat(),
                "grain": "day",
            }
            cases[f"staff {days} days/day"] = page(staff, "/shop/staff/reports/", since)
            cases[f"staff csv {days} days"] = page(staff, "/shop/staff/reports/csv/", since)
        orders_in_range = {name: _orders_in(manager, name, today) for name in cases}
        base = None
        print(
            f"{'case':<22}{'median ms':>12}{'queries':>9}{'x baseline':>12}"
            f"{'orders':>9}{'ms/1000 orders':>16}"
        )
        for name, call in cases.items():
            seconds, queries = median_seconds(call, args.repeat)
            base = base or seconds
            in_range = orders_in_range.get(name, 0)
            per_thousand = f"{seconds * 1e6 / in_range:.1f}" if in_range else ""
            print(
                f"{name:<22}{seconds * 1000:>12.1f}{queries:>9}{seconds / base:>12.1f}"
                f"{in_range or '':>9}{per_thousand:>16}",
                flush=True,
            )
            if args.show_queries:
                with CaptureQueriesContext(connection) as captured:
                    call()
                for query in captured.captured_queries:
                    print(f"    {query['time']} s  {query['sql'][:2000]}")
    finally:
        connection.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
