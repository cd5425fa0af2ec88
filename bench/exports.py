#!/usr/bin/env python
"""Exporting 100,000 orders as CSV, against a plain csv.writer over values_list.

Orders are made with bulk_create (each with two lines and its payment details), then
exported three ways in the same run:

  baseline   csv.writer over Order.objects.values_list(...).iterator(), the same
             order columns, written to a sink
  streamed   GET /shop/staff/orders/export/ as a manager, through Django's middleware
             and the real view (StreamingHttpResponse), reading every chunk
  prepared   the worker's path (lavka.core.prepared_files.prepare) writing the file

Prints rows/s of each and the ratio to the baseline (target >= 0.5x), then the memory
of the streamed export at 10,000 and at 100,000 orders: tracemalloc's peak (Python
allocations during the export) and the growth of the process's peak RSS. Flat memory
means the 100,000-row peak is about the 10,000-row one.

    .venv/bin/python bench/exports.py                       # embedded default (SQLite)
    .venv/bin/python bench/exports.py --orders 20000        # quicker
    DATABASE_URL=postgres://… .venv/bin/python bench/exports.py

The database is a fresh one made for the bench (a temporary SQLite file, or
`<name>_bench` on PostgreSQL).
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench._support import fresh_environment  # noqa: E402

FIELDS = (
    "pk",
    "created_at",
    "paid_at",
    "status",
    "email",
    "full_name",
    "currency",
    "subtotal",
    "discount",
    "total",
    "coupon_code",
    "payment__provider",
    "payment__reference",
)


class Sink:
    def write(self, text: str) -> int:
        return len(text)


def baseline() -> int:
    from lavka.marketplace.models import Order

    writer = csv.writer(Sink())
    rows = 0
    for row in Order.objects.order_by("-created_at", "-id").values_list(*FIELDS).iterator(2000):
        writer.writerow(row)
        rows += 1
    return rows


def streamed(client: Any) -> int:
    response = client.get("/shop/staff/orders/export/")
    assert response.status_code == 200, response.status_code
    text = "".join(chunk.decode("utf-8") for chunk in response.streaming_content)
    return text.count("\n") - 1


def prepared(user: Any) -> int:
    from lavka.core import prepared_files

    asked = prepared_files.request_file(
        user=user, kind="marketplace.staff_orders", params={}, filename="bench.csv"
    )
    prepared_files.prepare(asked.pk)
    asked.refresh_from_db()
    return int(asked.rows_done)


def timed(label: str, run: Any, repeat: int) -> float:
    best = float("inf")
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = run()
        best = min(best, time.perf_counter() - started)
    rate = rows / best
    print(f"  {label:<10} {rows:>8,} rows in {best:6.2f} s  {rate:>10,.0f} rows/s")
    return rate


def memory(client: Any) -> tuple[float, float]:
    """tracemalloc's peak and the growth of peak RSS during one streamed export (MB)."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    streamed_without_keeping(client)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20, (rss_after - rss_before) / 1024


def streamed_without_keeping(client: Any) -> int:
    """The streamed export, each chunk dropped once read (as a socket would)."""
    response = client.get("/shop/staff/orders/export/")
    size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lavka-bench-exports-"))
    try:
        fresh_environment(tmp)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import setup_test_environment

        call_command("migrate", verbosity=0)
        setup_test_environment()
        configured_max = settings.EXPORT_STREAM_MAX_ROWS
        settings.EXPORT_STREAM_MAX_ROWS = 10**9  # stream every size here
        from lavka.accounts import services as accounts
        from lavka.accounts.models import User
        from lavka.core.roles import Role
        from lavka.marketplace.models import CreatorProfile, Product
        from lavka.marketplace.tests.export_helpers import bulk_orders

        manager = User.objects.create_user("bench-manager@example.com", "x" * 12)
        accounts.set_role(user=manager, role=Role.MANAGER, enabled=True)
        buyer = User.objects.create_user("bench-buyer@example.com", "x" * 12)
        maker = User.objects.create_user("bench-maker@example.com", "x" * 12)
        profile = CreatorProfile.objects.create(
            user=maker, display_name="Мастерская", slug="bench", status="approved"
        )
        products = [
            Product.objects.create(
                creator=profile,
                title_en=title,
                title_ru=title,
                slug=title.lower(),
                price=Decimal(price),
                kind=Product.Kind.DIGITAL,
            )
            for title, price in (("Mug", "12.50"), ("Book", "7.99"))
        ]
        client = Client()
        client.force_login(manager)

        small = min(10_000, args.orders)
        started = time.perf_counter()
        bulk_orders(small, customer=buyer, products=products)
        streamed_without_keeping(client)  # imports and caches, once, before measuring
        small_peak, small_rss = memory(client)
        bulk_orders(args.orders - small, customer=buyer, products=products)
        made = time.perf_counter() - started
        print(f"{args.orders:,} orders made with bulk_create in {made:.1f} s")
        large_peak, large_rss = memory(client)

        print(f"exporting {args.orders:,} orders ({settings.DATABASES['default']['ENGINE']}):")
        base = timed("baseline", baseline, args.repeat)
        stream = timed("streamed", lambda: streamed(client), args.repeat)
        worker = timed("prepared", lambda: prepared(manager), 1)
        print(f"  ratio streamed / baseline: {stream / base:.2f}x (target >= 0.5x)")
        print(f"  ratio prepared / baseline: {worker / base:.2f}x")
        print("memory of the streamed export (tracemalloc peak, peak RSS growth):")
        print(f"  {small:>8,} orders  {small_peak:6.1f} MB  {small_rss:6.1f} MB")
        print(f"  {args.orders:>8,} orders  {large_peak:6.1f} MB  {large_rss:6.1f} MB")
        print(
            f"  EXPORT_STREAM_MAX_ROWS for about a second of streaming: ~{int(stream):,} rows"
            f" (EXPORT_STREAM_MAX_ROWS is {configured_max:,})"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
