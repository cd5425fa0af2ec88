"""The catalogue's cache (cache.py): a list served before reads no table, every change
of the catalogue shows on the next request, nothing of one visitor reaches another, and
on PostgreSQL a search reads the GIN index."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lavka.marketplace import selectors
from lavka.marketplace import services as marketplace
from lavka.marketplace.cache import catalog_changed
from lavka.marketplace.models import Product
from lavka.marketplace.tests.factories import ProductFactory, ProductImageFactory

pytestmark = pytest.mark.django_db

SHOP = reverse("marketplace:shop")
API = reverse("api:catalog-product-list")


def _get(client: Client, url: str, **extra: Any) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    return response, len(captured)


@pytest.mark.parametrize("url", [SHOP, SHOP + "?q=mug&sort=price", API, API + "?search=mug"])
def test_a_list_served_before_reads_no_table(client: Client, url: str) -> None:
    ProductImageFactory(product=ProductFactory(title_en="Mug"))

    first, first_queries = _get(client, url)
    again, again_queries = _get(client, url)

    assert first.status_code == again.status_code == 200
    assert first_queries > 0
    assert again_queries == 0
    assert again.content.count(b"Mug") == first.content.count(b"Mug") > 0


def test_each_change_of_the_catalogue_shows_on_the_next_request(client: Client) -> None:
    product = ProductFactory(title_en="Mug", price=Decimal("5.00"), stock=9)
    client.get(SHOP), client.get(API)

    product.price = Decimal("7.25")
    marketplace.save_product(product=product)  # through the service, as creators do
    assert "7.25" in client.get(SHOP).content.decode()
    assert client.get(API).json()["results"][0]["price"] == "7.25"

    # A write that skips save() announces itself, as stock reservations must.
    Product.objects.filter(pk=product.pk).update(stock=F("stock") - 9)
    catalog_changed()
    assert "Sold out" in client.get(SHOP).content.decode()
    assert client.get(API).json()["results"][0]["stock_state"] == "sold_out"

    marketplace.archive_product(product=product)
    assert "Mug" not in client.get(SHOP).content.decode()
    assert client.get(API).json()["count"] == 0


def test_a_new_product_shows_at_once(client: Client) -> None:
    ProductFactory(title_en="First")
    client.get(SHOP)
    ProductFactory(title_en="Second")

    page = client.get(SHOP).content.decode()

    assert "First" in page and "Second" in page


def test_nothing_of_one_visitor_reaches_another(client: Client, customer: Any) -> None:
    ProductFactory(title_en="Mug")
    signed_in = Client()
    signed_in.force_login(customer)

    theirs = signed_in.get(SHOP).content.decode()
    anonymous = client.get(SHOP).content.decode()

    assert customer.get_short_name() in theirs
    assert customer.get_short_name() not in anonymous
    assert 'data-testid="nav-login"' in anonymous
    # The signed-in page has its own CSRF token (the language switcher's); a visitor's
    # page has none (its language links need none), so it may be kept for anyone.
    assert 'name="csrfmiddlewaretoken"' in theirs
    assert 'name="csrfmiddlewaretoken"' not in anonymous


def test_languages_and_hosts_are_kept_apart(client: Client, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["testserver", "shop.example.com"]
    ProductFactory(title_en="Mug", title_ru="Кружка")

    english = client.get(SHOP, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    russian = client.get(SHOP, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    here = client.get(API).json()["results"][0]["url"]
    there = client.get(API, HTTP_HOST="shop.example.com").json()["results"][0]["url"]

    assert "Mug" in english and "Кружка" not in english
    assert "Кружка" in russian
    assert here.startswith("http://testserver/") and there.startswith("http://shop.example.com/")


def test_a_refused_filter_is_kept_with_its_error_and_status(client: Client) -> None:
    ProductFactory(title_en="Mug")

    first = client.get(SHOP, {"price_min": "cheap"})
    again = client.get(SHOP, {"price_min": "cheap"})

    assert first.status_code == again.status_code == 400
    assert 'data-testid="filter-errors"' in again.content.decode()


def test_an_oversized_query_is_answered_but_not_kept(client: Client) -> None:
    ProductFactory(title_en="Mug")

    response, _ = _get(client, SHOP + "?q=" + "x" * 5000)
    again, queries = _get(client, SHOP + "?q=" + "x" * 5000)

    assert response.status_code == again.status_code == 400
    assert queries > 0


def test_postgresql_search_reads_the_gin_index() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the search index exists on PostgreSQL only")
    wanted = ProductFactory.create_batch(3, title_en="Blue mug", description_ru="Синяя кружка")
    creator, category = wanted[0].creator, wanted[0].category
    Product.objects.bulk_create(
        Product(
            creator=creator,
            category=category,
            slug=f"plate-{number}",
            title_en=f"Plate {number}",
            description_en="A plate for every day.",
            price=Decimal("3.00"),
            stock=1,
        )
        for number in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplace_product")

    products = selectors.shop_products(selectors.ShopFilter(query="кружки"))

    assert "marketplace_product_search_gin" in products.explain()
    assert sorted(p.pk for p in products) == sorted(p.pk for p in wanted)  # Russian stem


def test_stock_held_by_a_checkout_and_given_back_shows_in_the_lists(
    client: Client, customer: Any
) -> None:
    from lavka.marketplace.orders import services as orders
    from lavka.marketplace.tests.orders_helpers import checkout, line

    product = ProductFactory(title_en="Mug", stock=2)
    assert "Sold out" not in client.get(SHOP).content.decode()

    placed = checkout(customer, [line(product, 2)])
    assert "Sold out" in client.get(SHOP).content.decode()

    orders.cancel_order(order=placed.order, reason="Changed my mind")
    assert "Sold out" not in client.get(SHOP).content.decode()
