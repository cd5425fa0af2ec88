"""A creator with only accounting connected turns online-shop sales on from the
bookkeeping overview, in Debian's Chromium, maps the Online shop trade point, and turns
it off again."""

from __future__ import annotations

import pytest

from lavka.accounts.tests.factories import DEFAULT_PASSWORD
from lavka.integrations import services
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    SyncSchedule,
    TradePointMapping,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_creator_turns_shop_sales_on_maps_the_shop_and_turns_it_off(
    browser_page, creator, moedelo_token
):
    services.connect(
        owner=creator, role=ConnectionRole.ACCOUNTING, system="moedelo", token=moedelo_token
    )
    page = browser_page
    page.goto("/accounts/login/")
    page.fill("input[name=login]", creator.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/")
    page.click("[data-testid=nav-bookkeeping]")

    page.click("[data-testid=shop-sales-on]")
    page.wait_for_url("**/bookkeeping/")
    assert "Online shop" in page.locator("[data-testid=trade-points]").inner_text()
    page.locator("[data-testid^=map-]").first.click()
    page.click("[data-testid=mapping-save]")
    page.wait_for_url("**/bookkeeping/")

    mapping = TradePointMapping.objects.select_related("trade_point__connection").get()
    assert mapping.trade_point.connection.role == ConnectionRole.SHOP
    assert page.locator("[data-schedule]").count() == 2

    page.click("[data-testid=shop-sales-off]")
    page.wait_for_url("**/bookkeeping/")
    assert page.locator("[data-testid=shop-sales-on]").count() == 1
    assert not Connection.objects.filter(role=ConnectionRole.SHOP).exists()
    assert not SyncSchedule.objects.exists()
