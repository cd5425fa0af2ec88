"""What every payment provider does, so the checkout and the staff pages need not know
which one an order uses.

A provider is asked to `start_payment(order)` once the order (or donation: anything
`Payable`) and its payment details are committed, and answers with the customer's next step: a redirect (a hosted payment
page, e.g. Stripe Checkout) or instructions shown on Lavka's own order page (a bank
transfer). Providers that learn of payments by themselves (webhooks) mark orders paid
through the same service staff use for manual payments.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.utils.functional import Promise

if TYPE_CHECKING:
    from lavka.marketplace.models import Order
    from lavka.marketplace.models.payable import PayableItem


class UnknownProvider(LookupError):
    """No offered payment provider has this code."""


class PaymentError(Exception):
    """The provider could not start or refund a payment; the message is for people."""


class PaymentRetryLater(PaymentError):
    """The provider is busy or out of reach (a 429, a 5xx, no connection): the same
    call, with the same idempotency key, may succeed later. `retry_after` is the
    provider's own hint, in seconds, when it gave one."""

    def __init__(
        self, message: str, *, retry_after: str | None = None, reference: str = ""
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # The provider's id of a refund it made but has not finished (a pending refund):
        # the retry asks about that one instead of making another.
        self.reference = reference


class AlreadyRefunded(PaymentError):
    """The provider says the payment was refunded in full already (in its dashboard,
    say): the money is back with the customer, so the refund is settled."""


@dataclass(frozen=True)
class NextStep:
    """Where the customer goes after the order is placed: `redirect_url` (leave Lavka
    for the provider's page), or `instructions` shown on the order's page."""

    redirect_url: str = ""
    instructions: str = ""


class Payable(Protocol):
    """What a provider is paid for: an Order or a Donation, each implementing this, so
    a provider never asks which one it has.

    `payment_kind` ("order", "donation") travels with an online payment (a Stripe
    session's metadata) so that its webhook events find their way back."""

    @property
    def payment_kind(self) -> str: ...
    @property
    def pk(self) -> Any: ...
    @property
    def number(self) -> str: ...
    @property
    def total(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def checkout_token(self) -> uuid.UUID: ...
    @property
    def created_at(self) -> datetime: ...
    def payer_email(self) -> str:
        """Where the provider sends its receipt ("" when unknown)."""
        ...

    def payment_items(self) -> list[PayableItem]:
        """The lines a payment page shows; they add up to `total` exactly."""
        ...

    def payment_pages(self) -> tuple[str, str]:
        """Paths on Lavka the payer comes back to: (after paying, after giving up)."""
        ...

    def payment_deadline(self) -> datetime | None:
        """When a payment page should close at the latest (None: the provider's limit)."""
        ...

    def payment_reference(self) -> str:
        """The provider's reference stored for it (e.g. a Stripe session id), fresh."""
        ...

    def store_payment_reference(self, reference: str) -> None:
        """Remember the provider's reference (outside any form or transaction)."""
        ...


class PaymentProvider:
    """Subclass per provider. `code` is stored on OrderPaymentDetails.provider."""

    code: str = ""
    label: str | Promise = ""
    # Staff confirm the payment by hand (the "Mark paid" action applies to its orders).
    confirmed_by_staff: bool = False

    def reference_for(self, order: Payable) -> str:
        """The payment reference written with the order (in the checkout transaction);
        providers whose reference comes from an API call leave it empty and fill it in
        `start_payment`."""
        return ""

    def instructions(self, order: Payable) -> str:
        """What an unpaid order's page and "order received" email tell the customer to
        do; never calls out (pages and emails show it as often as they are read)."""
        return ""

    def start_payment(self, order: Payable) -> NextStep:
        """Called once the checkout committed, from the checkout page; may call out
        (with our own idempotency key, e.g. the order's checkout token, so a retry never
        starts a second payment)."""
        raise NotImplementedError

    def refund(self, order: Order, *, known_reference: str = "") -> str:
        """Give the whole of a paid order's money back and return the provider's refund
        reference. Called from a background task, outside any transaction, possibly
        more than once for one refund: the provider passes its own idempotency key so it
        refunds once. PaymentRetryLater when a later try may succeed, PaymentError when
        it will not."""
        raise NotImplementedError
