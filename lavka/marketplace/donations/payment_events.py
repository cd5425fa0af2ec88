"""Stripe webhook events of a donation's Checkout Session, applied with the same rules
as an order's (`lavka.marketplace.payments.session_events` holds them;
`lavka.marketplace.orders.payment_events` stores the events, claims each once and calls
this inside the transaction that marks it done):

- a paid session (`completed` and paid, or `async_payment_succeeded`) marks the donation
  paid and queues its thank-you email once, but only for the donation's own session,
  amount and currency; otherwise it is flagged for review (`Donation.review_reason`)
  and stays unpaid;
- `async_payment_failed` and `expired` cancel a donation still awaiting payment;
- out of order: a paid donation is never cancelled later, and money arriving for a
  donation already cancelled is flagged, not applied.
"""

from __future__ import annotations

from typing import Any

from lavka.core.converters import parse_id
from lavka.marketplace.donations import services
from lavka.marketplace.models import Donation
from lavka.marketplace.payments.session_events import SessionPayment


class DonationPayment(SessionPayment[Donation]):
    """A donation as the session rules see it (orders' payment_events applies them)."""

    model = Donation

    @staticmethod
    def id_in(session: dict[str, Any]) -> int | None:
        metadata = session.get("metadata")
        reference = str(metadata.get("donation_id") or "") if isinstance(metadata, dict) else ""
        return parse_id(reference)

    def stored_payment(self) -> tuple[str, str]:
        return self.locked.provider, self.locked.reference

    def mark_paid(self, session_id: str) -> None:
        services.mark_paid(donation=self.locked, reference=session_id)

    def cancel(self, reason: str) -> str:
        services.cancel_donation(donation=self.locked)
        return reason  # a donation keeps no reason of its own
