"""Exports in Debian's Chromium against a live server: a manager filters the staff order
list and exports it (a streamed download); a larger export becomes a prepared file whose
page shows the progress and then the download link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lavka.core import prepared_files
from lavka.core.models import PreparedFile
from lavka.marketplace.orders import services as orders
from lavka.marketplace.tests.browser_helpers import downloaded_csv, log_in
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_manager_exports_the_filtered_orders_streamed_and_prepared(
    browser_page: Any, customer: Any, manager: Any, settings: Any, tmp_path: Path
) -> None:
    settings.PREPARED_FILES_ROOT = tmp_path / "files"
    mug = ProductFactory(title_en="Mug")
    paid = checkout(customer, [line(mug)]).order
    orders.mark_paid(order=paid)
    checkout(customer, [line(mug)])  # awaiting payment: filtered out
    page = browser_page

    log_in(page, manager.email)
    page.goto("/shop/staff/orders/")
    page.select_option("select[name=status]", "paid")
    page.click("[data-testid=order-filters] button[type=submit]")
    page.wait_for_url("**/shop/staff/orders/?*status=paid*")
    with page.expect_download() as streamed:
        page.click("[data-testid=export-csv]")
    header, *rows = downloaded_csv(streamed.value)
    assert streamed.value.suggested_filename.startswith("orders-")
    assert [row[header.index("number")] for row in rows] == [paid.number]

    settings.EXPORT_STREAM_MAX_ROWS = 0
    page.click("[data-testid=export-csv]")
    page.wait_for_url("**/files/*/")
    prepared = PreparedFile.objects.get()
    assert page.locator("[data-testid=file-download]").is_hidden()
    prepared_files.prepare(prepared.pk)  # what the worker's task does
    page.locator("[data-testid=file-download]").wait_for(state="visible", timeout=60_000)
    with page.expect_download() as prepared_download:
        page.click("[data-testid=file-download]")
    header, *rows = downloaded_csv(prepared_download.value)
    assert [row[header.index("number")] for row in rows] == [paid.number]
