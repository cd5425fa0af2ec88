"""Seed 003's donation in Debian's Chromium against a live server: a customer donates to
a product from its page, is told how to pay; a manager marks it paid; the creator then
sees it among the donations received. And a donation by card through the Stripe
simulator's payment page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from lavka.marketplace.models import Donation
from lavka.marketplace.tests.browser_helpers import log_in
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.stripe_helpers import apply_payment_events, stripe_simulator

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


def test_a_user_donates_by_card_on_the_simulators_payment_page(
    browser_page: Any, customer: Any, settings: Any, live_server: Any
) -> None:
    """ "Card (test mode)" through the local Stripe stand-in: its page, back to the
    donation's page, the signed webhook applied, and the donation paid."""
    with stripe_simulator(settings, live_server) as sim:
        page = browser_page
        approved_creator(display_name="Clay Studio", slug="clay")

        log_in(page, customer.email)
        page.goto("/shop/donate/clay/")
        page.get_by_label("Card (test mode)").check()
        page.fill("input[name=amount]", "9.99")
        page.click("[data-testid=donate-submit]")
        page.wait_for_url(sim.url + "/c/pay/*")
        assert "9.99" in page.content()
        page.click("button[value=pay]")
        page.wait_for_url("**/shop/donations/*/?paid=*")
        assert "We will confirm your donation" in page.content()

        apply_payment_events(sim)
        donation = Donation.objects.get()
        page.goto(f"/shop/donations/{donation.pk}/")
        assert page.locator("[data-testid=donation-status]").inner_text() == "paid"
        assert donation.amount == Decimal("9.99") and donation.reference.startswith("cs_")
