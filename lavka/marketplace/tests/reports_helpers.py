"""Helpers of the sales report tests: orders and donations written as rows with the
payment time, currency and state a test needs (the checkout always pays "now" in the
shop's currency), and plain SQL sums to compare the report with."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from lavka.core.work import WorkState
from lavka.marketplace.models import Donation, Order, OrderLine, OrderRefund, Product

SOLD = ("paid", "refunded", "archived")


def sold_order(
    customer: Any,
    lines: Sequence[tuple[Product, int, Decimal, Decimal]],
    *,
    paid_at: datetime,
    currency: str = "EUR",
    status: str = "paid",
    refunded_at: datetime | None = None,
) -> Order:
    """An order of `lines` (product, quantity, unit price, discount share), paid at
    `paid_at`; with `refunded_at` it has a settled refund."""
    subtotal = sum((price * quantity for _p, quantity, price, _d in lines), Decimal("0"))
    discount = sum((share for *_rest, share in lines), Decimal("0"))
    order = Order.objects.create(
        customer=customer,
        email=customer.email,
        full_name="Buyer",
        status=status,
        currency=currency,
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
        checkout_token=uuid.uuid4(),
        paid_at=paid_at if status != "cancelled" else None,
    )
    for product, quantity, price, share in lines:
        OrderLine.objects.create(
            order=order,
            product=product,
            creator=product.creator,
            title=product.title,
            unit_price=price,
            quantity=quantity,
            line_total=price * quantity,
            discount=share,
        )
    if refunded_at is not None:
        OrderRefund.objects.create(
            order=order,
            provider="bank_transfer",
            amount=order.total,
            currency=currency,
            reason="test",
            state=WorkState.DONE,
            refunded_at=refunded_at,
        )
    return order


def paid_donation(
    donor: Any, creator: Any, amount: Decimal, *, paid_at: datetime, currency: str = "EUR"
) -> Donation:
    return Donation.objects.create(
        donor=donor,
        creator=creator,
        amount=amount,
        currency=currency,
        status="paid",
        provider="bank_transfer",
        checkout_token=uuid.uuid4(),
        paid_at=paid_at,
    )


def _one(sql: str, params: list[Any]) -> tuple[Any, ...]:
    """Run plain SQL; instants are written as the database stores them (SQLite keeps
    naive UTC text, which an aware value with an offset would not compare with)."""
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(value) if isinstance(value, datetime) else value for value in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row else ()


def raw_shop_sales(
    currency: str, start: datetime, end: datetime, *, refunded: bool
) -> tuple[Decimal, int]:
    """Sum and count of the whole shop's orders paid in [start, end), in plain SQL."""
    refund_test = "IS NOT NULL" if refunded else "IS NULL"
    total, count = _one(
        "SELECT COALESCE(SUM(o.total), 0), COUNT(*) FROM marketplace_order o "  # noqa: S608
        "LEFT JOIN marketplace_orderrefund r ON r.order_id = o.id "
        "WHERE o.status IN (%s, %s, %s) AND o.currency = %s "
        "AND o.paid_at >= %s AND o.paid_at < %s "
        f"AND r.refunded_at {refund_test}",
        [*SOLD, currency, start, end],
    )
    return Decimal(str(total)).quantize(Decimal("0.01")), int(count)


def raw_creator_sales(
    creator_id: int, currency: str, start: datetime, end: datetime, *, refunded: bool
) -> tuple[Decimal, int]:
    """A creator's line totals less discounts, and the orders holding their lines."""
    refund_test = "IS NOT NULL" if refunded else "IS NULL"
    total, count = _one(
        "SELECT COALESCE(SUM(l.line_total - l.discount), 0), COUNT(DISTINCT o.id) "  # noqa: S608
        "FROM marketplace_orderline l JOIN marketplace_order o ON o.id = l.order_id "
        "LEFT JOIN marketplace_orderrefund r ON r.order_id = o.id "
        "WHERE l.creator_id = %s AND o.status IN (%s, %s, %s) AND o.currency = %s "
        "AND o.paid_at >= %s AND o.paid_at < %s "
        f"AND r.refunded_at {refund_test}",
        [creator_id, *SOLD, currency, start, end],
    )
    return Decimal(str(total)).quantize(Decimal("0.01")), int(count)


def raw_donations(
    currency: str, start: datetime, end: datetime, *, creator_id: int | None = None
) -> tuple[Decimal, int]:
    creator_test = "AND d.creator_id = %s" if creator_id is not None else ""
    params: list[Any] = [currency, start, end]
    if creator_id is not None:
        params.append(creator_id)
    total, count = _one(
        "SELECT COALESCE(SUM(d.amount), 0), COUNT(*) FROM marketplace_donation d "  # noqa: S608
        "WHERE d.status IN ('paid', 'archived') AND d.currency = %s "
        f"AND d.paid_at >= %s AND d.paid_at < %s {creator_test}",
        params,
    )
    return Decimal(str(total)).quantize(Decimal("0.01")), int(count)
