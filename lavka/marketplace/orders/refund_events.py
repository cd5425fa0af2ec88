"""Stripe's `refund.created` events: a refund made in Stripe's dashboard is applied to
its order; one Lavka asked for (the order has a refund row) is only recorded.

Called by `payment_events.apply_event` with the order's row locked and the event's row
marked done in the same transaction. The order is found by our metadata (Lavka's own
refunds), else by the PaymentIntent named in the order's stored checkout-session events,
so nothing is called out. A partial refund is not a refund of the order: it is flagged
for review, like a payment that does not fit.
"""

from __future__ import annotations

from typing import Any

from lavka.marketplace.models import Order, OrderRefund, PaymentEvent
from lavka.marketplace.orders import services
from lavka.marketplace.payments.stripe_checkout import AmountNotRepresentable, minor_units

REFUND_TYPES = frozenset({"refund.created"})
DASHBOARD_REASON = "Refunded in Stripe's dashboard."


def _order_id(refund: dict[str, Any]) -> int | None:
    metadata = refund.get("metadata")
    reference = str(metadata.get("order_id") or "") if isinstance(metadata, dict) else ""
    if reference.isdigit():
        return int(reference)
    intent = str(refund.get("payment_intent") or "")
    if not intent:
        return None
    found = (
        PaymentEvent.objects.filter(
            provider="stripe",
            event_type__startswith="checkout.session.",
            order__isnull=False,
            payload__data__object__payment_intent=intent,
        )
        .values_list("order_id", flat=True)
        .first()
    )
    return int(found) if found else None


def _is_whole(order: Order, refund: dict[str, Any]) -> bool:
    if str(refund.get("currency") or "").upper() != order.payment.currency.upper():
        return False
    try:
        expected = minor_units(order.payment.amount, order.payment.currency)
    except AmountNotRepresentable:
        return False
    amount = refund.get("amount")
    return isinstance(amount, int) and not isinstance(amount, bool) and amount == expected


def apply_refund_event(row: PaymentEvent) -> tuple[str, str, Order | None]:
    """The refund's effect on its order (inside the caller's transaction)."""
    outcome = PaymentEvent.Outcome
    refund = (row.payload.get("data") or {}).get("object") or {}
    if not isinstance(refund, dict) or refund.get("status") not in ("succeeded", "pending"):
        return outcome.IGNORED, "Not a refund that went through.", None
    order_id = _order_id(refund)
    order = Order.objects.select_for_update().filter(pk=order_id).first() if order_id else None
    if order is None:
        return outcome.IGNORED, "No order has this payment.", None
    if order.payment.provider != "stripe":
        return outcome.IGNORED, "The order is not paid by card.", order
    if OrderRefund.objects.filter(order=order).exists():
        return outcome.IGNORED, "The order's refund was asked for by staff.", order
    if order.status != Order.Status.PAID:
        return outcome.IGNORED, f"The order is {order.status}.", order
    if not _is_whole(order, refund):
        note = f"Refunded {refund.get('amount')} minor units in Stripe, not the whole order."
        Order.objects.filter(pk=order.pk).update(review_reason=note[:300])
        return outcome.FLAGGED, note, order
    services.record_refund_made_elsewhere(
        order=order, reference=str(refund.get("id") or "")[:200], reason=DASHBOARD_REASON
    )
    return outcome.REFUNDED, "", order
