"""Recommendations in Debian's Chromium: after paid orders, a visitor follows "Bought
together" from one product to another, and the cart suggests the first one back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lavka.marketplace.orders import services as orders
from lavka.marketplace.recommendations import services
from lavka.marketplace.tests.factories import CreatorProfileFactory, ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_visitor_follows_bought_together_and_the_cart_suggests_back(
    browser_page, customer, cleared_store
):
    page = browser_page
    creator = CreatorProfileFactory()
    mug = ProductFactory(creator=creator, title_en="Blue mug", price=Decimal("12.50"), stock=50)
    tea = ProductFactory(creator=creator, title_en="Green tea", price=Decimal("6.00"), stock=50)
    ProductFactory(creator=creator, title_en="Forest print", stock=50)
    for _ in range(2):
        order = checkout(customer, [line(mug), line(tea)]).order
        orders.mark_paid(order=order)
        services.record_order(order_id=order.pk)

    page.goto(f"/shop/creators/{creator.slug}/{mug.slug}/")
    section = page.locator("[data-testid=bought-together]")
    assert section.locator("[data-testid=product-card]").count() == 1
    section.get_by_role("link", name="Green tea").click()
    page.wait_for_url(f"**/{tea.slug}/")
    page.click("[data-testid=add-to-cart-button]")
    page.wait_for_url("**/shop/cart/")

    suggestions = page.locator("[data-testid=cart-suggestions]")
    assert suggestions.get_by_role("link", name="Blue mug").is_visible()
    assert suggestions.get_by_text("Forest print").count() == 0
