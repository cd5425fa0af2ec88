#!/usr/bin/env python
"""Catalogue throughput with 10,000 products, measured side by side in one run.

The production web server (gunicorn, 2 sync workers) serves, in turn:

  baseline     a bare Django view returning a constant JSON body (bench/catalog_wsgi.py
               adds it to the same application, behind the same middleware)
  empty-page   a bare view rendering the site's base template (header, menu, language
               switcher) with no content: the floor of every HTML page, for reference
  shop         /shop/ — the product list page (24 products, category menu, pagination)
  api          /api/v1/catalog/products/ — the catalogue API's first page
  shop-search  /shop/?q=... — a word search in the list page
  api-search   /api/v1/catalog/products/?search=... — a search in both languages

each loaded by wrk (`-t2 -c16`, or a Python generator when wrk is missing) for --duration
seconds, taking turns in --rounds rounds so other work on the machine weighs on all
alike. Prints req/s, p99, the ratio to the baseline and the SQL queries a request of each
makes (counted in this process, through Django's test client, on the same data): the
first after a catalogue change, then the next one ("5 then 0": the list was cached).
Targets: shop and api >= 0.5 x baseline.

    .venv/bin/python bench/catalog.py                      # SQLite, 20 s each
    .venv/bin/python bench/catalog.py --duration 5         # a quick run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lavka .venv/bin/python bench/catalog.py

The database is a fresh one made for the bench and removed after: a temporary SQLite
file, or `<name>_bench_catalog` on the PostgreSQL server of DATABASE_URL (no other
database is touched). The cache is the embedded file cache in a temporary directory
unless CACHE_URL is set.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench._support import (  # noqa: E402
    add_load_arguments,
    choose_load,
    drop_database,
    free_port,
    measure_in_rounds,
    production_environment,
    start_gunicorn,
    stop,
    wait_for_http,
)

SHOP_QUERY = "кружка glazed"
API_QUERY = "glazed mugs"

ADJECTIVES = [
    ("Blue", "Синяя"),
    ("Glazed", "Глазурованная"),
    ("Linen", "Льняная"),
    ("Small", "Маленькая"),
    ("Rustic", "Деревенская"),
    ("Painted", "Расписная"),
    ("Woven", "Плетёная"),
    ("Carved", "Резная"),
]
NOUNS = [
    ("mug", "кружка"),
    ("bowl", "миска"),
    ("towel", "салфетка"),
    ("vase", "ваза"),
    ("plate", "тарелка"),
    ("basket", "корзина"),
    ("candle", "свеча"),
    ("notebook", "тетрадь"),
    ("scarf", "шаль"),
    ("lamp", "лампа"),
]


def seed(product_count: int, creator_count: int) -> None:
    """Categories (4 top, 3 subcategories each), approved creators, and products spread
    over them with bilingual titles and Markdown descriptions, one picture each (all
    rows share one small file: the list shows its URL, it never reads it)."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone
    from PIL import Image

    from lavka.accounts.models import User
    from lavka.marketplace.models import (
        Category,
        CreatorProfile,
        Product,
        ProductImage,
        fold_for_search,
    )

    rng = random.Random(9)
    tops = []
    categories = []
    for number in range(4):
        top = Category.objects.create(
            slug=f"top-{number}", name_en=f"Shelf {number}", name_ru=f"Полка {number}"
        )
        tops.append(top)
        for child in range(3):
            categories.append(
                Category.objects.create(
                    slug=f"shelf-{number}-{child}",
                    name_en=f"Shelf {number}.{child}",
                    name_ru=f"Полка {number}.{child}",
                    parent=top,
                )
            )
    users = User.objects.bulk_create(
        User(email=f"creator{number}@bench.localhost", password="!")
        for number in range(creator_count)
    )
    creators = CreatorProfile.objects.bulk_create(
        CreatorProfile(
            user=user,
            display_name=f"Studio {number}",
            slug=f"studio-{number}",
            status=CreatorProfile.Status.APPROVED,
            decided_at=timezone.now(),
        )
        for number, user in enumerate(users)
    )
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 90, 170)).save(buffer, format="PNG")
    picture = default_storage.save("marketplace/products/bench.png", ContentFile(buffer.getvalue()))

    batch: list[Product] = []
    for number in range(product_count):
        adjective, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
        title_en = f"{adjective[0]} {noun[0]} No. {number}"
        title_ru = f"{adjective[1]} {noun[1]} № {number}"
        description_en = (
            f"A **{adjective[0].lower()} {noun[0]}**, made by hand.\n\n"
            "- one of a kind\n- packed with care\n\nSmall marks of the making stay visible."
        )
        description_ru = (
            f"**{adjective[1]} {noun[1]}**, ручная работа.\n\n"
            "- в единственном экземпляре\n- бережно упакована\n\nСледы работы мастера видны."  # noqa: RUF001
        )
        physical = number % 5 != 0
        batch.append(
            Product(
                creator=creators[number % len(creators)],
                slug=f"item-{number}",
                title_en=title_en,
                title_ru=title_ru if number % 7 else "",  # some English only
                description_en=description_en,
                description_ru=description_ru,
                category=categories[number % len(categories)],
                price=Decimal(rng.randint(100, 20000)) / 100,
                kind=Product.Kind.PHYSICAL if physical else Product.Kind.DIGITAL,
                stock=rng.randint(0, 30) if physical else None,
                is_active=number % 50 != 0,
                search_text=fold_for_search(
                    " ".join([title_en, title_ru, description_en, description_ru])
                ),
            )
        )
        if len(batch) == 1000:
            _insert(batch, picture)
            batch = []
    if batch:
        _insert(batch, picture)
    assert Product.objects.count() == product_count
    assert ProductImage.objects.count() == product_count


def _insert(batch: list, picture: str) -> None:
    from lavka.marketplace.models import Product, ProductImage

    made = Product.objects.bulk_create(batch)
    ProductImage.objects.bulk_create(
        ProductImage(product=product, image=picture, alt_text=product.title_en, position=0)
        for product in made
    )


def count_queries(path: str) -> tuple[int, int, int]:
    """(queries of the first request, queries of the next one, status), as gunicorn
    serves them: each from a fresh client, no session. The first comes after a catalogue
    change, so it builds its lists; the next may find them cached."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    try:  # the catalogue cache, where it exists (not before it was written)
        from lavka.marketplace.cache import catalog_changed
    except ImportError:

        def catalog_changed() -> None:
            pass

    Client().get("/bench/baseline/")  # imports, connections
    catalog_changed()
    with CaptureQueriesContext(connection) as first:
        Client().get(path)
    with CaptureQueriesContext(connection) as again:
        response = Client().get(path)
    return len(first), len(again), response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--creators", type=int, default=50)
    parser.add_argument("--python-load", action="store_true", help="do not use wrk")
    args = parser.parse_args()

    from urllib.parse import quote

    load, use_wrk = choose_load(args.python_load)
    tmp = Path(tempfile.mkdtemp(prefix="lavka-bench-catalog-"))
    env, made_database = production_environment(
        tmp, database_suffix="_bench_catalog", allowed_hosts="127.0.0.1,localhost,testserver"
    )
    gunicorn = None
    log_tail = ""
    targets = {
        "baseline": "/bench/baseline/",
        "empty-page": "/bench/page/",
        "shop": "/shop/",
        "api": "/api/v1/catalog/products/",
        "shop-search": f"/shop/?q={quote(SHOP_QUERY)}",
        "api-search": f"/api/v1/catalog/products/?search={quote(API_QUERY)}",
    }
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.monotonic()
        seed(args.products, args.creators)
        seeded = time.monotonic() - started
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(
            f"database {database}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
            f"{args.products} products of {args.creators} creators (seeded in {seeded:.0f} s), "
            f"load {'wrk' if use_wrk else 'python'} -t{args.threads} -c{args.connections} "
            f"{args.duration:g}s each",
            flush=True,
        )
        settings.ROOT_URLCONF = "bench.catalog_urls"
        queries = {name: count_queries(path) for name, path in targets.items()}
        for name, (_first, _again, status) in queries.items():
            assert status == 200, f"{name} answered {status}"

        port = free_port()
        gunicorn = start_gunicorn(env, port, tmp, "bench.catalog_wsgi:application")
        wait_for_http(port, "/bench/baseline/")
        root = f"http://127.0.0.1:{port}"
        results = measure_in_rounds(load, root, targets, args)
    finally:
        if gunicorn is not None:
            stop(gunicorn)
            log_tail = (tmp / "gunicorn.log").read_text(errors="replace")[-3000:]
        from django.db import connections

        connections.close_all()
        drop_database(made_database)
        shutil.rmtree(tmp, ignore_errors=True)

    base = results["baseline"]
    if not base.requests_per_second:
        sys.exit(f"gunicorn answered nothing; the end of its log:\n{log_tail}")
    print()
    print(f"{'endpoint':<13}{'req/s':>9}{'p99 ms':>9}{'x baseline':>12}{'queries':>14}{'bad':>6}")
    for name, row in results.items():
        ratio = row.requests_per_second / base.requests_per_second
        print(
            f"{name:<13}{row.requests_per_second:>9.0f}{row.p99_ms:>9.1f}{ratio:>12.2f}"
            f"{f'{queries[name][0]} then {queries[name][1]}':>14}{row.bad:>6}"
        )
    for name in ("shop", "api"):
        ratio = results[name].requests_per_second / base.requests_per_second
        print(f"target {name} >= 0.5 x baseline: {'met' if ratio >= 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
