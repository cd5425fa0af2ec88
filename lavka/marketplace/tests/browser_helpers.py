"""Steps the shop's browser tests share: logging in, filling the cart and the checkout
form, and saving what a click downloads (an invoice PDF, a CSV export)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from lavka.accounts.tests.factories import DEFAULT_PASSWORD
from lavka.core.csv_export import BOM
from lavka.marketplace.models import Product


def log_in(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/profile/")


def add_to_cart(page: Any, product: Product, quantity: int = 1) -> None:
    page.goto(f"/shop/creators/{product.creator.slug}/{product.slug}/")
    page.fill("[data-testid=add-quantity]", str(quantity))
    page.click("[data-testid=add-to-cart-button]")
    page.wait_for_url("**/shop/cart/")


def fill_checkout(page: Any, method: str) -> None:
    page.goto("/shop/checkout/")
    page.fill("input[name=full_name]", "Anna Buyer")
    page.fill("textarea[name=address]", "1 Harbour Street\nPortsmouth PO1 1AA")
    page.check(f"input[name=payment_method][value={method}]")


def download_from(
    page: Any, tmp_path: Path, name: str, selector: str = "[data-testid=invoice-link]"
) -> tuple[str, bytes]:
    """Click `selector`; the download's suggested file name and its bytes."""
    with page.expect_download() as download_info:
        page.click(selector)
    download = download_info.value
    saved = tmp_path / name
    download.save_as(saved)
    return download.suggested_filename, saved.read_bytes()


def downloaded_csv(download: Any) -> list[list[str]]:
    """The rows of a downloaded CSV export, checking it starts with the BOM."""
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))
