"""Seed 003's donation in Debian's Chromium against a live server: a customer donates to
a product from its page, is told how to pay; a manager marks it paid; the creator then
sees it among the donations received."""

from __future__ import annotations

from typing import Any

import pytest

from lavka.marketplace.models import Donation
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.test_browser_creator_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_user_donates_staff_mark_it_paid_and_the_creator_sees_it(
    browser_page: Any, customer: Any, manager: Any
) -> None:
    page = browser_page
    studio = approved_creator(display_name="Clay Studio", slug="clay")
    vase = ProductFactory(creator=studio, title_en="Tall vase", slug="tall-vase")

    log_in(page, customer.email)
    page.goto("/shop/creators/clay/tall-vase/")
    page.click("[data-testid=donate-button]")
    page.wait_for_url("**/shop/donate/clay/?product=*")
    assert page.locator("select[name=product]").input_value() == str(vase.pk)
    page.fill("input[name=amount]", "0.50")
    page.click("[data-testid=donate-submit]")
    assert "must be more than" in page.locator("[data-testid=error-amount]").inner_text()
    page.fill("input[name=amount]", "15")
    page.fill("textarea[name=message]", "For the kiln.\nThank you!")
    page.click("[data-testid=donate-submit]")
    page.wait_for_url("**/shop/donations/*/")
    donation = Donation.objects.get()
    assert donation.product == vase and donation.amount == 15
    instructions = page.locator("[data-testid=payment-instructions]").inner_text()
    assert f"quoting the reference {donation.number}" in instructions

    page.context.clear_cookies()
    log_in(page, manager.email)
    page.goto(f"/shop/staff/donations/{donation.pk}/")
    page.click("[data-testid=mark-paid]")
    page.wait_for_url(f"**/shop/staff/donations/{donation.pk}/")
    assert page.locator("[data-testid=donation-status]").inner_text() == "paid"

    page.context.clear_cookies()
    log_in(page, studio.user.email)
    page.goto("/shop/manage/donations/")
    row = page.locator("[data-testid=received-donation]")
    assert "For the kiln." in row.inner_text() and "15.00" in row.inner_text()
