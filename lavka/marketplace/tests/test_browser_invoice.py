"""The invoice in Debian's Chromium against a live server: a manager marks a bank transfer
paid and downloads the invoice from the staff order page; the customer downloads the
same invoice from their order page."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lavka.marketplace.models import Invoice
from lavka.marketplace.tests.browser_helpers import download_from, log_in
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line
from lavka.marketplace.tests.test_invoices import pdf_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_staff_mark_paid_then_staff_and_customer_download_the_invoice(
    browser_page: Any, customer: Any, manager: Any, tmp_path: Path
) -> None:
    page = browser_page
    mug = ProductFactory(title_en="Blue mug", price=Decimal("12.50"))
    order = checkout(customer, [line(mug)]).order

    log_in(page, manager.email)
    page.goto(f"/shop/staff/orders/{order.pk}/")
    assert page.locator("[data-testid=invoice-link]").count() == 0
    page.click("[data-testid=mark-paid]")
    page.wait_for_selector("[data-testid=invoice-link]")
    number = Invoice.objects.get(order=order).number
    staff_name, staff_pdf = download_from(page, tmp_path, "staff.pdf")

    page.context.clear_cookies()
    log_in(page, customer.email)
    page.goto(f"/shop/orders/{order.pk}/")
    customer_name, customer_pdf = download_from(page, tmp_path, "customer.pdf")

    assert staff_name == customer_name == f"invoice-{number}.pdf"
    for content in (staff_pdf, customer_pdf):
        text = pdf_text(content)
        assert f"Invoice {number}" in text and "Blue mug" in text and "12.50" in text
