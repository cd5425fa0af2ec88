"""Issuing invoices: the number is taken under the lock of the year's counter row, in the
transaction of the caller (`orders.services.mark_paid`), so a payment that rolls back
takes its number with it and no two payments share one."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lavka.marketplace.models import Invoice, InvoiceCounter, Order


def seller_details() -> dict[str, str]:
    """The seller as the settings name it now; each invoice keeps its own copy."""
    return {
        "name": str(settings.LAVKA_SELLER_NAME),
        "address": str(settings.LAVKA_SELLER_ADDRESS),
        "tax_id": str(settings.LAVKA_SELLER_TAX_ID),
        "email": str(settings.LAVKA_SELLER_EMAIL),
    }


def next_number(year: int) -> int:
    """The year's next number, taken under its counter's row lock (the caller's open
    transaction holds the lock until it commits or rolls back). The row is made by an
    INSERT that ignores a conflict, so the first two payments of a year do not fail
    on each other's insert: the second waits, then finds the row."""
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(year=year, last_number=0)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def issue_invoice(*, order: Order, now: datetime | None = None) -> Invoice:
    """The paid order's invoice; the one it has when asked again (same number).

    Must run inside the transaction that holds the order's row lock and marks it paid:
    the number is only taken for a payment that commits."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("issue_invoice runs inside the transaction that marks the order paid")
    existing = Invoice.objects.filter(order_id=order.pk).first()
    if existing is not None:
        return existing
    issued_at = order.paid_at or now or timezone.now()
    issue_date = timezone.localdate(issued_at)
    return Invoice.objects.create(
        order=order,
        year=issue_date.year,
        sequence=next_number(issue_date.year),
        issued_at=issued_at,
        issue_date=issue_date,
        seller=seller_details(),
    )
