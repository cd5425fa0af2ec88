"""Stripe webhook events of a donation's Checkout Session, applied with the same rules
as an order's (`lavka.marketplace.orders.payment_events` stores the events, claims each
once and calls this inside the transaction that marks it done):

- a paid session (`completed` and paid, or `async_payment_succeeded`) marks the donation
  paid and queues its thank-you email once, but only for the donation's own session,
  amount and currency; otherwise it is flagged for review (`Donation.review_reason`)
  and stays unpaid;
- `async_payment_failed` and `expired` cancel a donation still awaiting payment;
- out of order: a paid donation is never cancelled later, and money arriving for a
  donation already cancelled is flagged, not applied.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from lavka.marketplace.donations import services
from lavka.marketplace.models import Donation, PaymentEvent
from lavka.marketplace.payments.stripe_checkout import (
    StripeCheckoutProvider,
    session_amount_problem,
)

logger = logging.getLogger(__name__)

Outcome = PaymentEvent.Outcome


def _donation_of(session: dict[str, Any]) -> Donation | None:
    metadata = session.get("metadata")
    reference = str(metadata.get("donation_id") or "") if isinstance(metadata, dict) else ""
    if not reference.isdigit():
        return None
    return Donation.objects.filter(pk=int(reference)).first()


def _flag(donation: Donation, reason: str) -> None:
    Donation.objects.filter(pk=donation.pk).update(
        review_reason=reason[:300], updated_at=timezone.now()
    )
    logger.warning("donation %s flagged for review: %s", donation.pk, reason)


def apply_to_donation(
    row: PaymentEvent, session: dict[str, Any], *, pays: bool
) -> tuple[str, str, Donation | None]:
    """The event's effect on its donation: (outcome, note, donation). `pays`: the event
    is a payment (else a failure or an expiry)."""
    found = _donation_of(session)
    if found is None:
        return Outcome.IGNORED, "No donation has this session.", None
    donation = Donation.objects.select_for_update().get(pk=found.pk)
    session_id = str(session.get("id") or "")
    paid = pays and session.get("payment_status") == "paid"
    if donation.provider != StripeCheckoutProvider.code:
        return Outcome.IGNORED, "The donation is not paid by card.", donation
    if donation.reference and donation.reference != session_id:
        if paid:
            _flag(donation, f"Paid through session {session_id}, not the donation's own.")
            return Outcome.FLAGGED, "A payment through another session.", donation
        return Outcome.IGNORED, "Not the donation's current session.", donation
    if pays:
        if not paid:
            return Outcome.IGNORED, "Completed; the payment is still on its way.", donation
        if donation.status == Donation.Status.PAID:
            return Outcome.IGNORED, "Paid already.", donation
        problem = session_amount_problem(donation, session)
        if not problem and donation.status != Donation.Status.AWAITING_PAYMENT:
            problem = f"Paid after the donation was {donation.status}: refund or settle by hand."
        if problem:
            _flag(donation, problem)
            return Outcome.FLAGGED, problem, donation
        services.mark_paid(donation=donation, reference=session_id)
        return Outcome.PAID, "", donation
    if donation.status != Donation.Status.AWAITING_PAYMENT:
        return Outcome.IGNORED, f"The donation is {donation.status} already.", donation
    services.cancel_donation(donation=donation)
    failed = row.event_type == "checkout.session.async_payment_failed"
    note = "The card payment failed." if failed else "The card payment page expired unpaid."
    return Outcome.CANCELLED, note, donation
