"""The cart in Debian's Chromium: a visitor fills it, logs in, and it is still there."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lavka.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from lavka.marketplace.models import CartItem
from lavka.marketplace.tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_visitors_cart_survives_logging_in(browser_page):
    page = browser_page
    mug = ProductFactory(title_en="Blue mug", price=Decimal("12.50"), stock=5)
    print_ = ProductFactory(title_en="Forest print", price=Decimal("30.00"), stock=3)
    user = UserFactory()

    page.goto(f"/shop/creators/{mug.creator.slug}/{mug.slug}/")
    page.fill("[data-testid=add-quantity]", "2")
    page.click("[data-testid=add-to-cart-button]")
    page.wait_for_url("**/shop/cart/")
    page.goto(f"/shop/creators/{print_.creator.slug}/{print_.slug}/")
    page.click("[data-testid=add-to-cart-button]")
    page.wait_for_url("**/shop/cart/")
    assert page.locator("[data-testid=cart-count]").inner_text() == "3"
    assert page.locator("[data-testid=cart-total]").inner_text() == "55.00\xa0EUR"

    page.click("[data-testid=nav-login]")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/profile/")

    assert page.locator("[data-testid=cart-count]").inner_text() == "3"
    page.click("[data-testid=nav-cart]")
    page.wait_for_url("**/shop/cart/")
    assert page.locator("[data-testid=cart-line]").count() == 2
    assert page.get_by_role("link", name="Blue mug").is_visible()
    assert page.get_by_role("link", name="Forest print").is_visible()
    assert sorted(CartItem.objects.filter(cart__user=user).values_list("quantity", flat=True)) == [
        1,
        2,
    ]
