"""Stripe webhook events: stored by id, then applied to their order (or donation: see
`lavka.marketplace.donations.payment_events`, same rules) by a background task.

Rules (the order's row is locked while an event is applied, and the event's row is
marked done in the same transaction as its effect, so a worker dying half-way leaves
both undone and the event is taken again; a second delivery of the same event id finds
its row and does nothing):

- `checkout.session.completed` with `payment_status=paid`, and
  `checkout.session.async_payment_succeeded`: the order is marked paid, but only if the
  session's amount and currency are the order's; otherwise the order is flagged for
  review (`Order.review_reason`) and stays unpaid.
- `completed` with `payment_status=unpaid` (a bank debit still on its way): nothing yet.
- `checkout.session.async_payment_failed` and `checkout.session.expired`: an order still
  awaiting payment is cancelled (its stock and coupon use go back).
- Out of order: a paid order is never cancelled by a later `expired`/`failed`; a
  payment that arrives for an order already cancelled (its session expired or its stock
  hold ran out first, and the stock may be sold since) is not applied silently: the
  order is flagged for review so staff refund it or settle it by hand.
- A cancelling event (`expired`/`failed`) waits while a payment event of the same
  session received before it is still being processed: workers
  take events in any order, and the payment must win (the "late expired" of the storm).
- Events for a session that is not the order's current one are recorded and ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from lavka.core import background, work
from lavka.marketplace.donations import payment_events as donation_events
from lavka.marketplace.models import Donation, Order, PaymentEvent
from lavka.marketplace.orders import refund_events, services
from lavka.marketplace.payments.stripe_checkout import session_amount_problem

logger = logging.getLogger(__name__)

PROVIDER = "stripe"
PAID_TYPES = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
FAILED_TYPES = frozenset({"checkout.session.async_payment_failed", "checkout.session.expired"})
HANDLED_TYPES = PAID_TYPES | FAILED_TYPES | refund_events.REFUND_TYPES
Outcome = PaymentEvent.Outcome
# How long a cancelling event waits for a payment event of its session (then the
# kernel's sweeper queues it again).
YIELD_SECONDS = 2


def record_event(event: dict[str, Any]) -> PaymentEvent | None:
    """Store a verified event (once per id) and queue its processing after the commit.

    Returns the new row, or None for a repeat delivery or a type Lavka does not handle.
    """
    event_id, event_type = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id or event_type not in HANDLED_TYPES:
        return None
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        obj = {}
    try:
        with transaction.atomic():
            row, created = PaymentEvent.objects.get_or_create(
                provider=PROVIDER,
                event_id=event_id[:255],
                defaults={
                    "event_type": event_type,
                    "object_id": str(obj.get("id") or "")[:255],
                    "payload": event,
                },
            )
            if created:
                work.mark_queued(PaymentEvent.objects.filter(pk=row.pk))
                background.start("marketplace.process_payment_event", row.pk)
    except IntegrityError:
        return None  # the same event, stored by a concurrent delivery
    return row if created else None


def _order_of(session: dict[str, Any]) -> Order | None:
    reference = str(session.get("client_reference_id") or "")
    if not reference.isdigit():
        metadata = session.get("metadata") or {}
        reference = str(metadata.get("order_id") or "") if isinstance(metadata, dict) else ""
    if not reference.isdigit():
        return None
    return Order.objects.filter(pk=int(reference)).first()


def _flag(order: Order, reason: str) -> None:
    Order.objects.filter(pk=order.pk).update(review_reason=reason[:300], updated_at=timezone.now())
    logger.warning("order %s flagged for review: %s", order.pk, reason)


def apply_to_order(row: PaymentEvent, session: dict[str, Any]) -> tuple[str, str, Order | None]:
    """The event's effect on its order: (outcome, note, order)."""
    found = _order_of(session)
    if found is None:
        return Outcome.IGNORED, "No order has this session.", None
    order = Order.objects.select_for_update().get(pk=found.pk)
    payment = order.payment
    session_id = str(session.get("id") or "")
    if payment.provider != PROVIDER:
        return Outcome.IGNORED, "The order is not paid by card.", order
    if payment.reference and payment.reference != session_id:
        if row.event_type in PAID_TYPES and session.get("payment_status") == "paid":
            _flag(order, f"Paid through session {session_id}, not the order's own.")
            return Outcome.FLAGGED, "A payment through another session.", order
        return Outcome.IGNORED, "Not the order's current session.", order
    if row.event_type in PAID_TYPES:
        if session.get("payment_status") != "paid":
            return Outcome.IGNORED, "Completed; the payment is still on its way.", order
        if order.status == Order.Status.PAID:
            return Outcome.IGNORED, "Paid already.", order
        problem = session_amount_problem(order, session)
        if not problem and order.status != Order.Status.AWAITING_PAYMENT:
            problem = f"Paid after the order was {order.status}: refund or settle by hand."
        if problem:
            _flag(order, problem)
            return Outcome.FLAGGED, problem, order
        services.mark_paid(order=order, reference=session_id)
        return Outcome.PAID, "", order
    if order.status != Order.Status.AWAITING_PAYMENT:
        return Outcome.IGNORED, f"The order is {order.status} already.", order
    reason = (
        "The card payment failed."
        if row.event_type == "checkout.session.async_payment_failed"
        else "The card payment page expired unpaid."
    )
    services.cancel_order(order=order, reason=reason)
    return Outcome.CANCELLED, "", order


@dataclass(frozen=True)
class Applied:
    """What an event did, and to which order or donation (the row links to it)."""

    outcome: str
    note: str = ""
    order: Order | None = None
    donation: Donation | None = None


def apply_event(row: PaymentEvent) -> Applied:
    """The event's effect (call inside a transaction), by what its session pays for:
    the session's metadata `kind` ("donation"; an order's sessions may carry none).
    Refund events carry a refund, not a session: refund_events finds their order."""
    if row.event_type in refund_events.REFUND_TYPES:
        outcome, note, refunded = refund_events.apply_refund_event(row)
        return Applied(outcome, note, order=refunded)
    session = (row.payload.get("data") or {}).get("object") or {}
    if not isinstance(session, dict):
        return Applied(Outcome.IGNORED, "The event carries no session.")
    metadata = session.get("metadata")
    kind = str(metadata.get("kind") or "order") if isinstance(metadata, dict) else "order"
    if kind == "donation":
        pays = row.event_type in PAID_TYPES
        outcome, note, donation = donation_events.apply_to_donation(row, session, pays=pays)
        return Applied(outcome, note, donation=donation)
    if kind == "order":
        outcome, note, order = apply_to_order(row, session)
        return Applied(outcome, note, order=order)
    return Applied(Outcome.IGNORED, f"A session for a {kind[:30]}, which Lavka does not sell.")


def process_event(*, event_pk: int, take_over: bool = False) -> bool:
    """Apply one stored event once: claimed under a lease, its effect and its "done"
    committed together. False when another worker holds it or it is done."""
    row = work.claim_one(PaymentEvent.objects.filter(pk=event_pk), take_over=take_over)
    if row is None:
        return False
    waits = (row.event_type in FAILED_TYPES and _payment_in_flight(row)) or (
        row.event_type in refund_events.REFUND_TYPES and refund_events.payment_in_flight(row)
    )
    if waits:
        work.release(
            PaymentEvent.objects.filter(pk=row.pk, lease_owner=row.lease_owner),
            not_before=timezone.now() + timedelta(seconds=YIELD_SECONDS),
        )
        return False
    try:
        with transaction.atomic():
            applied = apply_event(row)
            if not work.complete(row):
                # our lease ran out and another worker took the row: undo, it applies it
                raise _LeaseLost
            PaymentEvent.objects.filter(pk=row.pk).update(
                outcome=applied.outcome,
                note=applied.note[:300],
                order=applied.order,
                donation=applied.donation,
                processed_at=timezone.now(),
            )
    except _LeaseLost:
        return False
    except background.TRANSIENT_ERRORS:
        work.release(PaymentEvent.objects.filter(pk=row.pk, lease_owner=row.lease_owner))
        raise
    except Exception as error:
        logger.exception("payment event %s failed", row.pk)
        work.record_failure(row, error=f"{type(error).__name__}: {error}")
        return False
    return True


def _payment_in_flight(row: PaymentEvent) -> bool:
    """A payment event of the same session, received before this one, is not yet
    applied (one received after it is a payment after the cancellation: flagged)."""
    return (
        bool(row.object_id)
        and PaymentEvent.objects.filter(
            provider=row.provider,
            object_id=row.object_id,
            event_type__in=PAID_TYPES,
            state__in=work.OPEN_STATES,
            pk__lt=row.pk,
        ).exists()
    )


class _LeaseLost(Exception):
    pass
