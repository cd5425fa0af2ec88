"""The cart's count and total in every page's header, and what they cost in queries."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from lavka.accounts.tests.factories import UserFactory
from lavka.marketplace import cart
from lavka.marketplace.context_processors import cart as cart_context
from lavka.marketplace.models import Cart, CartItem
from lavka.marketplace.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _request(user=None, lines=None):
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    if lines is not None:
        request.session[cart.SESSION_KEY] = lines
    return request


def test_an_anonymous_visitor_with_no_cart_costs_no_query(django_assert_num_queries):
    request = _request()

    with django_assert_num_queries(0):
        summary = cart_context(request)["cart_summary"]
        assert (summary.count, summary.total) == (0, Decimal("0.00"))


def test_an_anonymous_visitors_session_cart_is_summed_without_a_query(
    django_assert_num_queries,
):
    lines = [
        {"product": 1, "quantity": 2, "price": "12.50", "added": "2030-01-01T10:00:00+00:00"},
        {"product": 2, "quantity": 1, "price": "0.10", "added": "2030-01-01T10:01:00+00:00"},
    ]
    request = _request(lines=lines)

    with django_assert_num_queries(0):
        summary = cart_context(request)["cart_summary"]
        assert (summary.count, summary.total) == (3, Decimal("25.10"))


def test_a_signed_in_users_cart_costs_one_query(django_assert_num_queries):
    user = UserFactory()
    saved = Cart.objects.create(user=user)
    for price in ["0.10", "0.20", "19.99"]:
        product = ProductFactory()
        CartItem.objects.create(cart=saved, product=product, quantity=3, unit_price=price)
    request = _request(user=user)

    with django_assert_num_queries(1):
        summary = cart_context(request)["cart_summary"]
        assert (summary.count, summary.total) == (9, Decimal("60.87"))


def test_a_page_that_shows_no_header_reads_no_cart(django_assert_num_queries):
    user = UserFactory()
    request = _request(user=user)

    with django_assert_num_queries(0):
        cart_context(request)


def _cart_queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return response, [q["sql"] for q in captured.captured_queries if "marketplace_cart" in q["sql"]]


def test_every_page_shows_a_signed_in_users_count_and_total_in_one_query(client):
    user = UserFactory()
    saved = Cart.objects.create(user=user)
    CartItem.objects.create(
        cart=saved, product=ProductFactory(), quantity=2, unit_price=Decimal("12.50")
    )
    client.force_login(user)

    for path in ["/", "/shop/", "/accounts/profile/"]:
        response, queries = _cart_queries(client, path)
        assert len(queries) == 1, (path, queries)
        assert re.search(r'data-testid="cart-count">2<', response.text)
        assert "25.00\xa0EUR" in response.text


def test_an_anonymous_visitor_with_an_empty_cart_reads_no_cart_table(client):
    response, queries = _cart_queries(client, "/")

    assert queries == []
    assert 'data-testid="nav-cart"' in response.text
    assert 'data-testid="cart-count"' not in response.text
