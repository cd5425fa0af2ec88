"""Many orders fast, for export tests and bench/exports.py: rows written with
bulk_create (orders, their lines, their payment details), as a checkout would leave
them, without going through the checkout one order at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lavka.marketplace.models import Order, OrderLine, OrderPaymentDetails, Product

BATCH = 2000


def bulk_orders(
    count: int,
    *,
    customer: Any,
    products: Sequence[Product],
    status: str = Order.Status.PAID,
    full_name: str = "Анна Покупатель",
) -> None:
    """`count` orders of `customer`, each holding one unit of every product in
    `products` (at its price), newest last."""
    now = timezone.now()
    subtotal = sum((product.price for product in products), Decimal(0))
    made = 0
    while made < count:
        size = min(BATCH, count - made)
        _batch(size, customer, products, status, full_name, subtotal, now)
        made += size


@transaction.atomic
def _batch(
    size: int,
    customer: Any,
    products: Sequence[Product],
    status: str,
    full_name: str,
    subtotal: Decimal,
    now: Any,
) -> None:
    """One batch of orders, their lines and payment details in one transaction."""
    orders = Order.objects.bulk_create(
        [
            Order(
                customer=customer,
                email=customer.email,
                full_name=full_name,
                status=status,
                currency=settings.LAVKA_SHOP_CURRENCY,
                subtotal=subtotal,
                total=subtotal,
                checkout_token=uuid.uuid4(),
                paid_at=now if status == Order.Status.PAID else None,
            )
            for _ in range(size)
        ]
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                product=product,
                creator_id=product.creator_id,
                title=product.title,
                unit_price=product.price,
                quantity=1,
                line_total=product.price,
            )
            for order in orders
            for product in products
        ]
    )
    OrderPaymentDetails.objects.bulk_create(
        [
            OrderPaymentDetails(
                order=order,
                provider="bank_transfer",
                reference=f"REF-{order.pk}",
                amount=subtotal,
                currency=settings.LAVKA_SHOP_CURRENCY,
                status=OrderPaymentDetails.Status.PAID,
            )
            for order in orders
        ]
    )
