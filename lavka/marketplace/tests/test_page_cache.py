"""Whole catalogue pages kept for visitors without cookies (lavka/marketplace/page_cache.py):
nothing of one visitor is ever served to another, and a catalogue change shows at once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lavka.marketplace.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_a_visitor_without_cookies_gets_the_kept_page_with_no_query() -> None:
    ProductFactory(title_en="Blue mug")
    first = Client().get("/shop/?sort=price")

    with CaptureQueriesContext(connection) as queries:
        again = Client().get("/shop/?sort=price")

    assert first.status_code == again.status_code == 200
    assert again.content == first.content and "Blue mug" in again.content.decode()
    assert len(queries) == 0
    assert "Content-Security-Policy" in again and not again.cookies
    assert "Cookie" in again["Vary"] and "Cookie" in first["Vary"]


def test_a_catalogue_change_shows_on_the_next_request() -> None:
    product = ProductFactory(title_en="Blue mug", price=Decimal("5.00"))
    Client().get("/shop/")

    product.title_en = "Green mug"
    product.save()

    assert "Green mug" in Client().get("/shop/").content.decode()


def test_a_page_is_kept_per_language() -> None:
    ProductFactory(title_en="Blue mug", title_ru="Синяя кружка")
    english = Client().get("/shop/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    russian = Client().get("/shop/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    by_cookie = Client()
    by_cookie.cookies["django_language"] = "ru"

    assert "Blue mug" in english and "Синяя кружка" in russian
    assert "Синяя кружка" in by_cookie.get("/shop/").content.decode()


def test_a_visitor_with_a_cart_gets_their_own_page_and_it_is_never_kept(client: Client) -> None:
    product = ProductFactory(title_en="Blue mug", stock=5)
    client.get(f"/shop/creators/{product.creator.slug}/{product.slug}/")  # CSRF cookie
    client.post("/shop/cart/add/", {"product": product.pk, "quantity": 2})

    with_cart = client.get("/shop/").content.decode()
    anyone = Client().get("/shop/").content.decode()

    assert 'data-testid="cart-count">2<' in with_cart
    assert 'data-testid="cart-count"' not in anyone


def test_a_signed_in_users_page_is_never_kept_nor_served_to_others(
    client: Client, customer: Any
) -> None:
    ProductFactory()
    client.force_login(customer)
    mine = client.get("/shop/").content.decode()
    anyone = Client().get("/shop/").content.decode()

    assert 'data-testid="nav-profile"' in mine and "csrfmiddlewaretoken" in mine
    assert 'data-testid="nav-profile"' not in anyone and "csrfmiddlewaretoken" not in anyone
    assert 'data-testid="nav-profile"' in client.get("/shop/").content.decode()
