"""A creator (or a superuser in the admin) edits a product's stock while checkouts hold
units: the edit is applied as a change from what the form showed, so held units are not
sold twice and returned units are not lost."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from lavka.accounts.tests.factories import UserFactory
from lavka.marketplace.models import Product
from lavka.marketplace.orders import services as order_services
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.orders_helpers import checkout, line

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(client: Client) -> Any:
    profile = approved_creator(slug="seller")
    client.force_login(profile.user)
    return profile


def _shown_form(client: Client, product: Product) -> dict[str, str]:
    """What the edit page's form would post back unchanged."""
    page = client.get(reverse("marketplace:product_edit", args=[product.pk])).content.decode()
    seen = re.search(r'name="stock_seen" value="(\d+)"', page)
    assert seen, "the edit page does not carry the stock it showed"
    return {
        "title_en": product.title_en,
        "title_ru": product.title_ru,
        "slug": product.slug,
        "description_en": product.description_en,
        "description_ru": product.description_ru,
        "category": "",
        "price": str(product.price),
        "kind": product.kind,
        "stock": seen.group(1),
        "stock_seen": seen.group(1),
        "is_active": "on",
        "alt_text": "",
    }


def _save(client: Client, product: Product, form: dict[str, str]) -> Any:
    return client.post(reverse("marketplace:product_edit", args=[product.pk]), form)


def test_saving_the_form_unchanged_keeps_units_held_meanwhile(client: Client, seller: Any) -> None:
    product = ProductFactory(creator=seller, stock=5)
    form = _shown_form(client, product)
    checkout(UserFactory(), [line(product, 2)])

    assert _save(client, product, form).status_code == 302
    product.refresh_from_db()
    assert product.stock == 3  # not 5: the two held units are not on sale twice


def test_units_added_while_others_are_held_are_added_to_what_is_left(
    client: Client, seller: Any
) -> None:
    product = ProductFactory(creator=seller, stock=5)
    form = _shown_form(client, product)
    placed = checkout(UserFactory(), [line(product, 2)])

    assert _save(client, product, {**form, "stock": "9"}).status_code == 302
    product.refresh_from_db()
    assert product.stock == 7  # 3 left + the 4 the creator added

    order_services.cancel_order(order=placed.order, reason="changed my mind")
    product.refresh_from_db()
    assert product.stock == 9  # the held units came back on top


def test_lowering_below_what_orders_left_is_refused_with_the_numbers(
    client: Client, seller: Any
) -> None:
    product = ProductFactory(creator=seller, stock=5)
    form = _shown_form(client, product)
    checkout(UserFactory(), [line(product, 4)])

    response = _save(client, product, {**form, "stock": "0", "title_en": "Renamed"})

    assert response.status_code == 400
    error = " ".join(response.context["form"].errors["stock"])
    assert "from 5 to 1" in error and "Enter 1 or less" in error
    product.refresh_from_db()
    assert (product.stock, product.title_en) == (1, form["title_en"])  # nothing written


def test_a_form_without_the_shown_stock_sets_it_as_given(client: Client, seller: Any) -> None:
    """An older page or a script that posts no `stock_seen` means the number it sends."""
    product = ProductFactory(creator=seller, stock=5)
    form = _shown_form(client, product)
    del form["stock_seen"]
    checkout(UserFactory(), [line(product, 2)])

    assert _save(client, product, {**form, "stock": "6"}).status_code == 302
    product.refresh_from_db()
    assert product.stock == 6


def test_the_admin_keeps_held_units_too(admin_client: Client) -> None:
    product = ProductFactory(stock=5)
    url = reverse("admin:marketplace_product_change", args=[product.pk])
    page = admin_client.get(url).content.decode()
    assert re.search(r'name="stock_seen" value="5"', page)
    checkout(UserFactory(), [line(product, 4)])
    form = {
        "creator": product.creator_id,
        "title_en": product.title_en,
        "title_ru": product.title_ru,
        "slug": product.slug,
        "description_en": product.description_en,
        "description_ru": product.description_ru,
        "category": "",
        "price": str(product.price),
        "kind": product.kind,
        "stock": "0",
        "stock_seen": "5",
        "is_active": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
    }

    refused = admin_client.post(url, form)
    assert refused.status_code == 200 and "Enter 1 or less" in refused.content.decode()
    product.refresh_from_db()
    assert product.stock == 1

    saved = admin_client.post(url, {**form, "stock": "8"})  # +3 on what the form showed
    assert saved.status_code == 302, saved.content.decode()[:3000]
    product.refresh_from_db()
    assert product.stock == 4
