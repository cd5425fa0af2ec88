"""Issue 12's "done when", whole, in Debian's Chromium against a live server and a real
worker: a customer orders by bank transfer, a manager marks it paid, and the customer
downloads the invoice PDF from their order page; the manager filters the staff order
list and exports exactly the filtered orders; the worker records the paid order, and
the product page shows what was bought with it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lavka.core.tests.support import wait_until
from lavka.marketplace.models import Invoice, Order
from lavka.marketplace.tests.browser_helpers import (
    add_to_cart,
    download_from,
    downloaded_csv,
    fill_checkout,
    log_in,
)
from lavka.marketplace.tests.factories import CreatorProfileFactory, ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line
from lavka.marketplace.tests.test_invoices import pdf_text

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.worker]


def test_a_paid_order_gives_an_invoice_an_exported_row_and_a_recommendation(
    browser_page: Any,
    customer: Any,
    manager: Any,
    user_factory: Any,
    celery_worker_process: Any,
    cleared_store: None,
    tmp_path: Path,
) -> None:
    page = browser_page
    creator = CreatorProfileFactory()
    mug = ProductFactory(creator=creator, title_en="Blue mug", price=Decimal("12.50"), stock=5)
    tea = ProductFactory(creator=creator, title_en="Green tea", price=Decimal("6.00"), stock=5)
    unpaid = checkout(user_factory(), [line(mug)]).order  # awaiting payment: filtered out

    # The customer orders the mug and the tea by bank transfer.
    log_in(page, customer.email)
    add_to_cart(page, mug)
    add_to_cart(page, tea)
    fill_checkout(page, "bank_transfer")
    page.click("[data-testid=place-order]")
    page.wait_for_url("**/shop/orders/*/")
    order = Order.objects.get(customer=customer)
    assert page.locator("[data-testid=invoice-link]").count() == 0  # not paid yet

    # A manager marks it paid.
    page.context.clear_cookies()
    log_in(page, manager.email)
    page.goto(f"/shop/staff/orders/{order.pk}/")
    page.click("[data-testid=mark-paid]")
    page.wait_for_url(f"**/shop/staff/orders/{order.pk}/")
    assert page.locator("[data-testid=order-status]").inner_text() == "paid"

    # The manager filters the order list to the paid ones and exports it.
    page.goto("/shop/staff/orders/")
    page.select_option("select[name=status]", "paid")
    page.click("[data-testid=order-filters] button[type=submit]")
    page.wait_for_url("**/shop/staff/orders/?*status=paid*")
    with page.expect_download() as export:
        page.click("[data-testid=export-csv]")
    header, *rows = downloaded_csv(export.value)
    assert [row[header.index("number")] for row in rows] == [order.number]
    assert unpaid.number not in {row[header.index("number")] for row in rows}

    # The customer downloads the invoice from their order page.
    page.context.clear_cookies()
    log_in(page, customer.email)
    page.goto(f"/shop/orders/{order.pk}/")
    name, content = download_from(page, tmp_path, "invoice.pdf")
    invoice = Invoice.objects.get(order=order)
    text = pdf_text(content)
    assert content.startswith(b"%PDF-") and name == f"invoice-{invoice.number}.pdf"
    assert f"Invoice {invoice.number}" in text and order.number in text
    assert "Blue mug" in text and "Green tea" in text and "18.50" in text

    # The worker recorded the paid order: the mug's page shows the tea.
    def tea_recommended() -> bool:
        page.goto(f"/shop/creators/{creator.slug}/{mug.slug}/")
        section = page.locator("[data-testid=bought-together]")
        return section.get_by_role("link", name="Green tea").count() == 1

    assert wait_until(tea_recommended, timeout=60, interval=1), celery_worker_process.log_tail()
