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

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from lavka.core import background, work
from lavka.core.converters import parse_id
from lavka.marketplace.donations import payment_events as donation_events
from lavka.marketplace.models import Donation, Order, PaymentEvent
from lavka.marketplace.orders import refund_events, services
from lavka.marketplace.payments.session_events import (
    FAILED_TYPES,
    PAID_TYPES,
    SessionPayment,
)

PROVIDER = "stripe"
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


class _OrderPayment(SessionPayment[Order]):
    model = Order

    @staticmethod
    def id_in(session: dict[str, Any]) -> int | None:
        order_id = parse_id(str(session.get("client_reference_id") or ""))
        if order_id is None:
            metadata = session.get("metadata") or {}
            reference = str(metadata.get("order_id") or "") if isinstance(metadata, dict) else ""
            order_id = parse_id(reference)
        return order_id

    def stored_payment(self) -> tuple[str, str]:
        return self.locked.payment.provider, self.locked.payment.reference

    def mark_paid(self, session_id: str) -> None:
        services.mark_paid(order=self.locked, reference=session_id)

    def cancel(self, reason: str) -> str:
        services.cancel_order(order=self.locked, reason=reason)
        return ""  # the order keeps the reason


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
        outcome, note, donation = donation_events.DonationPayment.apply(row.event_type, session)
        return Applied(outcome, note, donation=donation)
    if kind == "order":
        outcome, note, order = _OrderPayment.apply(row.event_type, session)
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
    with work.attempt_to_done(row, what="payment event") as attempt:
        applied = apply_event(row)
        PaymentEvent.objects.filter(pk=row.pk).update(
            outcome=applied.outcome,
            note=applied.note[:300],
            order=applied.order,
            donation=applied.donation,
            processed_at=timezone.now(),
        )
    return attempt.succeeded


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
