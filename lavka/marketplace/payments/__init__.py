"""Payment providers behind one interface (`base.PaymentProvider`).

The checkout names a provider by its code; `provider(code)` finds it among those the
shop offers (`LAVKA_PAYMENT_PROVIDERS`). Manual payments (bank transfer, cash on
delivery) are the embedded default: staff mark such an order paid. Stripe Checkout
("stripe") is offered when a Stripe key is set (or the local simulator is used).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from lavka.marketplace.payments.base import (
    AlreadyRefunded,
    NextStep,
    PaymentError,
    PaymentProvider,
    PaymentRetryLater,
    UnknownProvider,
)
from lavka.marketplace.payments.manual import BankTransfer, CashOnDelivery
from lavka.marketplace.payments.stripe_checkout import StripeCheckoutProvider

__all__ = [
    "AlreadyRefunded",
    "NextStep",
    "PaymentError",
    "PaymentProvider",
    "PaymentRetryLater",
    "UnknownProvider",
    "any_provider",
    "hosted_page_origins",
    "offered",
    "provider",
    "provider_of",
]

_ALL: dict[str, PaymentProvider] = {
    p.code: p for p in (BankTransfer(), CashOnDelivery(), StripeCheckoutProvider())
}


def offered() -> list[PaymentProvider]:
    """The providers the shop offers, in the order of LAVKA_PAYMENT_PROVIDERS (Stripe
    only with a key)."""
    return [
        _ALL[code]
        for code in settings.LAVKA_PAYMENT_PROVIDERS
        if code in _ALL and (code != "stripe" or settings.STRIPE_SECRET_KEY)
    ]


def provider(code: str) -> PaymentProvider:
    """The offered provider called `code`; UnknownProvider for any other."""
    for candidate in offered():
        if candidate.code == code:
            return candidate
    raise UnknownProvider(code)


def provider_of(order: Any) -> PaymentProvider:
    """The provider an order was placed with (offered then, maybe not now)."""
    found = _ALL.get(order.payment.provider)
    if found is None:
        raise UnknownProvider(order.payment.provider)
    return found


def any_provider(code: str) -> PaymentProvider | None:
    """The provider called `code`, offered or not (an old order's, after the shop
    stopped offering it)."""
    return _ALL.get(code)


def hosted_page_origins() -> list[str]:
    """Where offered providers send the customer to pay (Stripe's hosted Checkout, or
    the stand-in serving it at STRIPE_API_BASE): a page whose form leads there must
    allow them in its Content-Security-Policy `form-action`, or the browser stops the
    redirect after the order is placed."""
    if not settings.STRIPE_SECRET_KEY:
        return []
    if settings.STRIPE_API_BASE:
        parts = urlsplit(settings.STRIPE_API_BASE)
        return [f"{parts.scheme}://{parts.netloc}"]
    return ["https://checkout.stripe.com"]
