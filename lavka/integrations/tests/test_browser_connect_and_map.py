"""A creator connects both systems and maps a trade point, in Debian's Chromium, against
the two stand-ins: a wrong token is refused with the reason, the right one is kept
masked, the mapping starts the schedules."""

from __future__ import annotations

import pytest

from lavka.accounts.tests.factories import DEFAULT_PASSWORD
from lavka.integrations.models import SyncSchedule, TradePointMapping

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_creator_connects_both_systems_and_maps_a_trade_point(
    browser_page, creator, moedelo_token, mtskassa_token
):
    page = browser_page
    page.goto("/accounts/login/")
    page.fill("input[name=login]", creator.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/")
    page.click("[data-testid=nav-bookkeeping]")

    # the registers' token in the accounting form: refused, and said why
    page.click("[data-testid=connect-point_of_sale]")
    page.fill("input[name=token]", mtskassa_token)
    page.click("[data-testid=connect-save]")
    page.wait_for_url("**/bookkeeping/connections/*/")
    page.goto("/bookkeeping/")
    page.click("[data-testid=connect-accounting]")
    page.fill("input[name=token]", mtskassa_token)
    page.click("[data-testid=connect-save]")
    assert "it is your MTS Kassa token" in page.locator(".errorlist").inner_text()

    page.fill("input[name=token]", moedelo_token)
    page.click("[data-testid=connect-save]")
    page.wait_for_url("**/bookkeeping/connections/*/")
    assert page.locator("[data-testid=masked-token]").inner_text() == "••••" + moedelo_token[-4:]
    assert moedelo_token not in page.content()

    page.goto("/bookkeeping/")
    page.locator("[data-testid^=map-]").first.click()
    page.select_option("select[name=cash_desk]", label="Касса 2")  # noqa: RUF001
    page.click("[data-testid=mapping-save]")
    page.wait_for_url("**/bookkeeping/")

    assert "Касса 2" in page.locator("[data-testid=trade-points]").inner_text()  # noqa: RUF001
    assert page.locator("[data-schedule]").count() == 2
    mapping = TradePointMapping.objects.get()
    assert mapping.cash_desk.name == "Касса 2"  # noqa: RUF001
    assert SyncSchedule.objects.filter(owner=creator).count() == 2
