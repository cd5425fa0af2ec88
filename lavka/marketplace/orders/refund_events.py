"""Stripe's refund events: a refund made in Stripe's dashboard is applied to its
order, and so is one of ours that Stripe reports before our task recorded it.

Called by `payment_events.apply_event` with the event's row marked done in the same
transaction. The order is found by our metadata (Lavka's own refunds), else by the
PaymentIntent of the session that paid the order (its stored event, outcome "paid"), so
nothing is called out and a second payment that was flagged is never taken for the
order's. Only a refund that `succeeded` settles the order; a pending one waits for its
`refund.updated`; one that fails after it was recorded flags the order. A partial refund
is not a refund of the order: it is flagged for review, like a payment that does not
fit.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from lavka.core import work
from lavka.core.converters import parse_id
from lavka.marketplace.models import Order, OrderRefund, PaymentEvent
from lavka.marketplace.orders import services
from lavka.marketplace.payments.stripe_checkout import AmountNotRepresentable, minor_units

REFUND_TYPES = frozenset({"refund.created", "refund.updated", "refund.failed"})
DASHBOARD_REASON = "Refunded in Stripe's dashboard."


def _refund_of(row: PaymentEvent) -> dict[str, Any]:
    refund = (row.payload.get("data") or {}).get("object") or {}
    return refund if isinstance(refund, dict) else {}


def _intent_events(intent: str) -> Any:
    return PaymentEvent.objects.filter(
        provider="stripe",
        event_type__startswith="checkout.session.",
        payload__data__object__payment_intent=intent,
    )


def payment_in_flight(row: PaymentEvent) -> bool:
    """The payment this refund gives back is stored but not yet applied (Stripe does
    not order its events): the refund waits for it."""
    intent = str(_refund_of(row).get("payment_intent") or "")
    return bool(intent) and _intent_events(intent).filter(state__in=work.OPEN_STATES).exists()


def _order_id(refund: dict[str, Any]) -> int | None:
    metadata = refund.get("metadata")
    reference = str(metadata.get("order_id") or "") if isinstance(metadata, dict) else ""
    order_id = parse_id(reference)
    if order_id is not None:
        return order_id
    intent = str(refund.get("payment_intent") or "")
    if not intent:
        return None
    found = (
        _intent_events(intent)
        .filter(order__isnull=False, outcome=PaymentEvent.Outcome.PAID)
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


def _flag(order: Order, note: str) -> None:
    Order.objects.filter(pk=order.pk).update(review_reason=note[:300], updated_at=timezone.now())


def apply_refund_event(row: PaymentEvent) -> tuple[str, str, Order | None]:
    """The refund's effect on its order (inside the caller's transaction)."""
    outcome = PaymentEvent.Outcome
    refund = _refund_of(row)
    status = str(refund.get("status") or "")
    refund_id = str(refund.get("id") or "")[:200]
    order_id = _order_id(refund)
    order = Order.objects.select_for_update().filter(pk=order_id).first() if order_id else None
    if order is None:
        return outcome.IGNORED, "No order has this payment.", None
    if order.payment.provider != "stripe":
        return outcome.IGNORED, "The order is not paid by card.", order
    if status in ("failed", "canceled"):
        recorded = OrderRefund.objects.filter(order=order, refunded_at__isnull=False).first()
        if order.status == Order.Status.REFUNDED and recorded and recorded.reference == refund_id:
            note = (
                f"Stripe's refund {refund_id} {status} after it was recorded: no money went back."
            )
            _flag(order, note)
            return outcome.FLAGGED, note, order
        return outcome.IGNORED, f"A refund that {status}.", order
    if status != "succeeded":
        return outcome.IGNORED, f"The refund is {status[:40] or 'of no status'}; it waits.", order
    if order.status == Order.Status.REFUNDED:
        return outcome.IGNORED, "Refunded already.", order
    if order.status != Order.Status.PAID:
        return outcome.IGNORED, f"The order is {order.status}.", order
    if not _is_whole(order, refund):
        note = f"Refunded {refund.get('amount')} minor units in Stripe, not the whole order."
        _flag(order, note)
        return outcome.FLAGGED, note, order
    services.record_refund_made_elsewhere(order=order, reference=refund_id, reason=DASHBOARD_REASON)
    return outcome.REFUNDED, "", order
