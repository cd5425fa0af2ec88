"""A large sales report in Debian's Chromium against a live server: the page waits with a
progress bar while the report is counted in the background and shows it by itself when
it is ready; its CSV becomes a prepared file with a download link."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lavka.core import prepared_files
from lavka.core.csv_export import BOM
from lavka.core.models import PreparedFile
from lavka.marketplace.reports import actions
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.reports_helpers import sold_order
from lavka.marketplace.tests.test_browser_creator_flow import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_large_report_is_shown_when_the_background_has_counted_it(
    browser_page: Any, customer: Any, manager: Any, settings: Any, tmp_path: Path
) -> None:
    # given a shop whose week holds more orders than are counted in a request
    settings.PREPARED_FILES_ROOT = tmp_path / "files"
    settings.REPORT_SYNC_MAX_ORDERS = 1
    mug = ProductFactory(title_en="Mug")
    for day in (1, 2, 3):
        sold_order(
            customer,
            [(mug, day, Decimal("4.00"), Decimal("0"))],
            paid_at=datetime(2026, 3, day, 10, tzinfo=UTC),
        )
    page = browser_page
    log_in(page, manager.email)

    # given a small range first: its page and CSV come at once (the link is a plain link:
    # a `download` attribute would save a prepared file's progress page as the CSV)
    page.goto("/shop/staff/reports/?date_from=2026-03-01&date_to=2026-03-01&grain=day")
    assert page.locator("[data-testid=total-orders]").inner_text() == "1"
    with page.expect_download() as streamed:
        page.click("[data-testid=report-csv]")
    assert streamed.value.suggested_filename == "sales-report-2026-03-01-2026-03-01-day.csv"
    assert not PreparedFile.objects.exists()

    # when the manager asks for that week
    page.goto("/shop/staff/reports/?date_from=2026-03-01&date_to=2026-03-07&grain=day")

    # then they wait on a progress bar, and the page shows the report once it is counted
    page.wait_for_url("**/shop/staff/reports/?prepared=*")
    page.locator("[data-testid=report-progress]").wait_for(state="visible")
    assert page.locator("[data-testid=report-currency]").count() == 0
    prepared_files.prepare(PreparedFile.objects.get(kind=actions.REPORT_PAGE).pk)
    page.locator("[data-testid=report-currency]").wait_for(state="visible", timeout=60_000)
    assert page.locator("[data-testid=total-orders]").inner_text() == "3"
    assert page.locator("[data-testid=report-period]").count() == 7

    # and its CSV is prepared too, then downloaded from the file's page
    page.click("[data-testid=report-csv]")
    page.wait_for_url("**/files/*/")
    prepared_files.prepare(PreparedFile.objects.get(kind=actions.REPORT_CSV).pk)
    page.locator("[data-testid=file-download]").wait_for(state="visible", timeout=60_000)
    with page.expect_download() as download:
        page.click("[data-testid=file-download]")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith(BOM)
    header, *rows = csv.reader(io.StringIO(text[len(BOM) :]))
    assert header[:2] == ["Currency", "Period"]
    assert [row[3] for row in rows] == ["1", "1", "1", "0", "0", "0", "0"]
