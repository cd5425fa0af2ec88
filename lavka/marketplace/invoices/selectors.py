"""Reads of invoices, scoped to the caller: a customer reaches the invoices of their own
orders, staff (`view_order`) every one; a creator none (their own lines are on their
sale pages; an invoice shows the whole order and the buyer)."""

from __future__ import annotations

from typing import Any

from lavka.marketplace.models import Invoice

MAX_ID = 2**63 - 1


def _with_order(invoices: Any) -> Any:
    return invoices.select_related("order", "order__payment").prefetch_related("order__lines")


def invoice_of(order: Any) -> Invoice | None:
    """The order's invoice, or None for an order never paid."""
    return Invoice.objects.filter(order_id=order.pk).first()


def own_invoice(user: Any, order_pk: int) -> Invoice | None:
    """The invoice of one of the user's own orders; None for another's or an unpaid one."""
    if not getattr(user, "is_authenticated", False) or not 0 < order_pk <= MAX_ID:
        return None
    return _with_order(
        Invoice.objects.filter(order_id=order_pk, order__customer_id=user.pk)
    ).first()


def staff_invoice(user: Any, order_pk: int) -> Invoice | None:
    """Any order's invoice, for staff who may read every order."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm("marketplace.view_order"):
        return None
    if not 0 < order_pk <= MAX_ID:
        return None
    return _with_order(Invoice.objects.filter(order_id=order_pk)).first()
