"""The bookkeeping sync end to end, in Debian's Chromium, against both stand-ins and a
real worker: a creator connects both systems (a bad token refused with the reason),
maps a trade point, syncs goods and sees them on the register, closes a shift on the
register, presses Sync now and finds the retail report in accounting and the run on the
sync page. Then a shift sold a good the goods sync had not yet taken to Lavka: it waits
on the sync page with its error; once the goods are synced, Retry books it.

Every look at a simulator is over HTTP (its `/_control` and public API), as an operator
would look; the worker reaches the simulators through the site's URL settings."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from lavka.accounts.tests.factories import DEFAULT_PASSWORD
from lavka.core.tests.support import start_worker, wait_until
from lavka.core.work import WorkState
from lavka.integrations.models import ShiftSync, TradePointMapping
from lavka.integrations.tests.sync_support import GOODS, sale
from services.simulators.moedelo import testing as moedelo_testing
from services.simulators.mtskassa import testing as mtskassa_testing

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow]

RUN_TIMEOUT_MS = 90_000


def http_json(url: str, *, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def register_products(mts_url: str, point: int) -> dict[str, Any]:
    rows = mtskassa_testing.control(mts_url, "GET", f"/trade-units/{point}/products")["data"]
    return {row["external_id"]: row for row in rows}


def retail_reports(md_url: str, token: str) -> list[dict[str, Any]]:
    return list(moedelo_testing.control(md_url, f"/accounts/{token}")["retail_reports"])


def log_in(page: Any, user: Any) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/")


def sync_now(page: Any, job: str) -> None:
    """Press Sync now on the sync page and wait on the run page until it is over."""
    page.click("[data-testid=nav-bookkeeping]")
    page.click("[data-testid=sync-page]")
    page.click(f"[data-testid=sync-now-{job}]")
    page.wait_for_url("**/bookkeeping/runs/*/")
    page.wait_for_selector("[data-testid=run-progress][data-finished=true]", timeout=RUN_TIMEOUT_MS)


def test_a_creator_syncs_goods_and_a_shift_and_retries_a_failed_shift_from_the_page(
    browser_page: Any, creator: Any, moedelo: Any, mtskassa: Any, tmp_path: Path
) -> None:
    md_token, _ = moedelo_testing.new_account(moedelo, goods=GOODS, name="Firm One")
    mts_token, (point,) = mtskassa_testing.new_account(mtskassa, "Shop One", trade_points=1)

    from lavka.core.tests.support import purge_queues

    purge_queues()  # messages left by earlier runs must not reach this database
    worker = start_worker(
        tmp_path,
        queues="default,mail,sync",
        extra_env={
            "LAVKA_TEST_MOEDELO_URL": moedelo.url,
            "LAVKA_TEST_MTSKASSA_URL": mtskassa.url,
        },
    )
    try:
        page = browser_page
        log_in(page, creator)
        page.click("[data-testid=nav-bookkeeping]")

        # a bad token: refused, with the reason
        page.click("[data-testid=connect-accounting]")
        page.fill("input[name=token]", "not-a-moedelo-token-0000")
        page.click("[data-testid=connect-save]")
        assert "MoeDelo refused this token" in page.locator(".errorlist").inner_text()
        page.fill("input[name=token]", md_token)
        page.click("[data-testid=connect-save]")
        page.wait_for_url("**/bookkeeping/connections/*/")

        page.click("[data-testid=nav-bookkeeping]")
        page.click("[data-testid=connect-point_of_sale]")
        page.fill("input[name=token]", mts_token)
        page.click("[data-testid=connect-save]")
        page.wait_for_url("**/bookkeeping/connections/*/")

        page.click("[data-testid=nav-bookkeeping]")
        page.locator("[data-testid^=map-]").first.click()
        page.click("[data-testid=mapping-save]")
        page.wait_for_url("**/bookkeeping/")
        assert TradePointMapping.objects.filter(owner=creator).count() == 1

        # goods to the register
        sync_now(page, "goods")
        assert page.locator("[data-testid=count-goods-sent]").inner_text() == str(len(GOODS))
        products = register_products(mtskassa.url, point)
        assert len(products) == len(GOODS)
        assert {row["name"] for row in products.values()} == {good["Name"] for good in GOODS}

        # a shift closed on the register, booked into accounting by Sync now
        coffee = next(key for key, row in products.items() if row["name"] == "Кофе")
        z_report = mtskassa_testing.close_shift(mtskassa.url, point, [sale(coffee, coffee)])
        sync_now(page, "sales")
        assert page.locator("[data-testid=count-shifts-booked]").inner_text() == "1"
        (report,) = retail_reports(moedelo.url, md_token)
        booked = ShiftSync.objects.get()
        assert report["Number"] == booked.report_number
        assert booked.document_id == str(report["Id"])
        assert z_report  # the register's own Z-report of the shift
        page.click("[data-testid=back-to-sync]")
        runs = page.locator("[data-testid=sync-runs] tr[data-run]")
        assert runs.count() == 2
        assert "Sales to accounting" in runs.first.inner_text()
        assert page.locator("[data-testid=shifts-done]").inner_text() == "1"

        # a good added in accounting and sold on the register before the goods sync
        # took it: the shift cannot be booked and waits for the owner
        juice = http_json(
            moedelo.url + "/stock/api/v1/good",
            body={"Name": "Сок", "SalePrice": 90, "Nds": "20"},
            headers={"md-api-key": md_token},
        )
        juice_id = str(juice["Id"])
        http_json(
            f"{mtskassa.url}/api/v1/trade-units/{point}/products/bulk",
            body={
                "products": [
                    {
                        "external_id": juice_id,
                        "name": "Сок",
                        "price": "90.00",
                        "measure": "pcs",
                        "tax": "vat20",
                    }
                ]
            },
            headers={"Authorization": f"Token {mts_token}"},
        )
        mtskassa_testing.close_shift(mtskassa.url, point, [sale(juice_id, coffee)])
        sync_now(page, "sales")
        assert page.locator("[data-testid=count-shifts-waiting]").inner_text() == "1"
        waiting = ShiftSync.objects.get(state=WorkState.ATTENTION)
        page.click("[data-testid=back-to-sync]")
        row = page.locator(f"[data-testid=waiting-shifts] tr[data-shift='{waiting.pk}']")
        assert f"(id {juice_id})" in row.inner_text()
        assert len(retail_reports(moedelo.url, md_token)) == 1

        # the cause cleared (the good synced), Retry books the shift
        sync_now(page, "goods")
        page.click("[data-testid=back-to-sync]")
        page.click(f"[data-testid=retry-{waiting.pk}]")
        page.wait_for_selector(".message-success")
        assert waiting.report_number in page.locator(".message-success").inner_text()
        done = wait_until(
            lambda: ShiftSync.objects.filter(pk=waiting.pk, state=WorkState.DONE).exists(),
            timeout=60,
        )
        assert done, f"the retried shift was not booked; worker log:\n{worker.log_tail()}"
        reports = retail_reports(moedelo.url, md_token)
        assert sorted(r["Number"] for r in reports) == sorted(
            ShiftSync.objects.values_list("report_number", flat=True)
        )
        page.reload()
        assert page.locator("[data-testid=shifts-attention]").inner_text() == "0"
        assert page.locator("[data-testid=shifts-done]").inner_text() == "2"
    finally:
        worker.stop()
