"""The effect of a Stripe Checkout Session's webhook event on what the session pays for,
an order or a donation: one set of rules (lavka.marketplace.orders.payment_events says
them), with what differs between the two (how each is marked paid, cancelled) in the
hooks of a `SessionPayment`. Called inside the transaction that marks the event done."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar, cast

from django.utils import timezone

from lavka.marketplace.models import Donation, Order, PaymentEvent
from lavka.marketplace.payments.stripe_checkout import (
    StripeCheckoutProvider,
    session_amount_problem,
)

logger = logging.getLogger(__name__)

PAID_TYPES = frozenset({"checkout.session.completed", "checkout.session.async_payment_succeeded"})
FAILED_TYPES = frozenset({"checkout.session.async_payment_failed", "checkout.session.expired"})
Outcome = PaymentEvent.Outcome
Paid = TypeVar("Paid", Order, Donation)


class SessionPayment(ABC, Generic[Paid]):
    """An order or donation (a `Payable`), locked while an event of its session is
    applied: what the rules read of it (the provider and the session id stored for it),
    and the hooks that write each effect. A subclass per kind says how a session names
    one (`id_in`), what is stored for its payment and what paid and cancelled mean for
    it; `apply` does the rest."""

    model: ClassVar[type[Order] | type[Donation]]

    def __init__(self, locked: Paid) -> None:
        self.locked: Paid = locked
        self.provider, self.reference = self.stored_payment()

    @classmethod
    def apply(cls, event_type: str, session: dict[str, Any]) -> tuple[str, str, Paid | None]:
        """The event's effect on the order or donation its session names, locked while
        it is applied: (outcome, note, what it applied to)."""
        found_id = cls.id_in(session)
        found = (
            cls.model.objects.select_for_update().filter(pk=found_id).first()
            if found_id is not None
            else None
        )
        if found is None:
            return Outcome.IGNORED, f"No {cls.model.payment_kind} has this session.", None
        target = cls(cast(Paid, found))
        outcome, note = apply_session_event(target, event_type, session)
        return outcome, note, target.locked

    @staticmethod
    @abstractmethod
    def id_in(session: dict[str, Any]) -> int | None:
        """The primary key of what the session pays for, as the session carries it."""

    @abstractmethod
    def stored_payment(self) -> tuple[str, str]:
        """(the provider's code, the session id) stored for it."""

    @abstractmethod
    def mark_paid(self, session_id: str) -> None: ...

    @abstractmethod
    def cancel(self, reason: str) -> str:
        """Cancel it for `reason`; returns the note the event's row keeps."""

    def flag(self, reason: str) -> None:
        """Leave it for staff to review (it stays unpaid)."""
        locked = self.locked
        type(locked).objects.filter(pk=locked.pk).update(
            review_reason=reason[:300], updated_at=timezone.now()
        )
        logger.warning("%s %s flagged for review: %s", locked.payment_kind, locked.pk, reason)


def apply_session_event(
    target: SessionPayment[Paid], event_type: str, session: dict[str, Any]
) -> tuple[str, str]:
    """The event's effect on its order or donation: (outcome, note)."""
    locked, kind = target.locked, target.locked.payment_kind
    status, statuses = locked.status, type(locked).Status
    session_id = str(session.get("id") or "")
    pays = event_type in PAID_TYPES
    paid = pays and session.get("payment_status") == "paid"
    if target.provider != StripeCheckoutProvider.code:
        return Outcome.IGNORED, f"The {kind} is not paid by card."
    if target.reference and target.reference != session_id:
        if paid:
            target.flag(f"Paid through session {session_id}, not the {kind}'s own.")
            return Outcome.FLAGGED, "A payment through another session."
        return Outcome.IGNORED, f"Not the {kind}'s current session."
    if pays:
        if not paid:
            return Outcome.IGNORED, "Completed; the payment is still on its way."
        if status == statuses.PAID:
            return Outcome.IGNORED, "Paid already."
        problem = session_amount_problem(locked, session)
        if not problem and status != statuses.AWAITING_PAYMENT:
            problem = f"Paid after the {kind} was {status}: refund or settle by hand."
        if problem:
            target.flag(problem)
            return Outcome.FLAGGED, problem
        target.mark_paid(session_id)
        return Outcome.PAID, ""
    if status != statuses.AWAITING_PAYMENT:
        return Outcome.IGNORED, f"The {kind} is {status} already."
    reason = (
        "The card payment failed."
        if event_type == "checkout.session.async_payment_failed"
        else "The card payment page expired unpaid."
    )
    return Outcome.CANCELLED, target.cancel(reason)
