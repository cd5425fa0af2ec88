#!/usr/bin/env python
"""The README's picture of an invoice, made again from the demo data.

Migrates a fresh SQLite database in a temporary directory, loads `make run`'s demo data
(the demo customer buys two of the demo creator's products with a coupon and pays by
bank transfer), renders the invoice PDF as the "paid" email carries it, and turns its
first page into docs/images/invoice.png with `pdftoppm -png -r 60 -singlefile`
(poppler-utils). The seller is a made-up company; no real person's data is in it.

    .venv/bin/python docs/invoice_image.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
IMAGE = BASE_DIR / "docs" / "images" / "invoice.png"

SELLER = {
    "LAVKA_SELLER_NAME": "Cleo's Workshop GmbH",
    "LAVKA_SELLER_ADDRESS": "Example Street 1\\n10115 Example City",
    "LAVKA_SELLER_TAX_ID": "DE000000000",
    "LAVKA_SELLER_EMAIL": "books@lavka.localhost",
}


def make_invoice_pdf() -> bytes:
    import django

    django.setup()
    from django.core.management import call_command

    from lavka.accounts.models import User
    from lavka.marketplace.invoices import pdf
    from lavka.marketplace.models import Coupon, Product
    from lavka.marketplace.orders import services

    call_command("migrate", verbosity=0)
    call_command("load_demo_data", verbosity=0)
    customer = User.objects.get(email="customer@lavka.localhost")
    Coupon.objects.get_or_create(
        code="WELCOME10", defaults={"kind": Coupon.Kind.PERCENT, "value": Decimal(10)}
    )
    products = list(Product.objects.on_sale().order_by("id")[:2])

    class Line:
        def __init__(self, product: Product, quantity: int) -> None:
            self.product_id, self.quantity, self.unit_price = product.pk, quantity, product.price

    placed = services.place_order(
        customer=customer,
        lines=[Line(products[0], 2), Line(products[1], 1)],
        details=services.CustomerDetails(
            email=customer.email,
            full_name="Dana Demo",
            address="Sample Road 5\n20095 Demo Town",
        ),
        provider_code="bank_transfer",
        checkout_token=uuid.uuid4(),
        coupon_code="WELCOME10",
    )
    order = services.mark_paid(order=placed.order)
    return pdf.render(order.invoice)


def main() -> None:
    with tempfile.TemporaryDirectory() as var_dir:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "lavka.settings",
                "LAVKA_VAR_DIR": var_dir,
                "DATABASE_URL": f"sqlite:///{var_dir}/invoice.sqlite3",
                "LAVKA_SITE_URL": "http://127.0.0.1:8000",
                **SELLER,
            }
        )
        sys.path.insert(0, str(BASE_DIR))
        pdf_path = Path(var_dir) / "invoice.pdf"
        pdf_path.write_bytes(make_invoice_pdf())
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-singlefile",
                str(pdf_path),
                str(IMAGE.with_suffix("")),
            ],
            check=True,
        )
    print(f"wrote {IMAGE.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
