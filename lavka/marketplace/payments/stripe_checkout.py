"""Card payments through Stripe Checkout (stripe-python; keys and API base from settings).

`start_payment` creates a Checkout Session for the order and sends the customer to
Stripe's hosted page; the webhook (`lavka.marketplace.stripe_webhook`) learns the
outcome. Every call carries our own idempotency key, derived from the order's checkout
token, so a retried call (a reload, a second click, stripe-python's own retries) gets
the same session back instead of a second one.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lavka.marketplace.payments.base import (
    NextStep,
    PaymentError,
    PaymentProvider,
    PaymentRetryLater,
)

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from lavka.marketplace.models import Order

logger = logging.getLogger(__name__)

# ISO 4217 currencies Stripe charges in whole units (no minor unit).
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
# Stripe's bounds for a session's expires_at.
SESSION_MIN_LIFETIME = timedelta(minutes=31)
SESSION_MAX_LIFETIME = timedelta(hours=23, minutes=59)
STRIPE_LOCALES = frozenset({"en", "ru"})


class AmountNotRepresentable(ValueError):
    """An amount with more decimals than the currency's minor unit."""


def minor_units(amount: Decimal, currency: str) -> int:
    """`amount` in the currency's minor units (cents), exactly; never through float."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise AmountNotRepresentable(f"{amount} {currency} has no exact minor-unit amount")
    return int(scaled)


def idempotency_key(order: Order, call: str) -> str:
    """Our own key for a call about this order: the same call is never made twice."""
    return f"lavka-{call}-{order.checkout_token}"


def client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": base} if base else None,
        max_network_retries=2,
    )


def is_test_mode() -> bool:
    return str(settings.STRIPE_SECRET_KEY).startswith("sk_test_")


class StripeCheckoutProvider(PaymentProvider):
    code = "stripe"

    @property  # the key (test or live) is read when the label is shown
    def label(self) -> str | Promise:  # type: ignore[override]
        if is_test_mode():
            return gettext_lazy("Card (test mode)")
        return gettext_lazy("Card")

    def instructions(self, order: Order) -> str:
        text = _("Pay by card on the payment page the checkout opened for you.")
        if is_test_mode():
            text += "\n" + _("Test mode: no real money moves.")
        return text

    def line_items(self, order: Order) -> list[dict[str, Any]]:
        """The order's lines as Stripe line items, summing exactly to the order's total.

        With a discount the lines would need prices Stripe cannot take (a share of the
        discount that does not divide by the quantity), so the order is one item then."""
        currency = order.currency.lower()
        lines = list(order.lines.all())
        if order.discount == 0 and lines:
            items: list[dict[str, Any]] = [
                {
                    "quantity": line.quantity,
                    "price_data": {
                        "currency": currency,
                        "unit_amount": minor_units(line.unit_price, currency),
                        "product_data": {"name": line.title[:250] or order.number},
                    },
                }
                for line in lines
            ]
        else:
            items = [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency,
                        "unit_amount": minor_units(order.total, currency),
                        "product_data": {
                            "name": _("Order %(number)s") % {"number": order.number},
                            "description": ", ".join(
                                f"{line.quantity} x {line.title}" for line in lines
                            )[:500]
                            or order.number,
                        },
                    },
                }
            ]
        total = sum(int(i["quantity"]) * int(i["price_data"]["unit_amount"]) for i in items)
        if total != minor_units(order.total, currency):
            raise AmountNotRepresentable(f"lines of {order.number} do not add up to its total")
        return items

    def session_params(self, order: Order) -> dict[str, Any]:
        site = settings.SITE_URL.rstrip("/")
        page = site + reverse("marketplace:order_detail", args=[order.pk])
        now = timezone.now()
        lifetime = (order.hold_expires_at or now + SESSION_MAX_LIFETIME) - now
        lifetime = min(max(lifetime, SESSION_MIN_LIFETIME), SESSION_MAX_LIFETIME)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": self.line_items(order),
            "success_url": page + "?paid={CHECKOUT_SESSION_ID}",
            "cancel_url": page,
            "client_reference_id": str(order.pk),
            "metadata": {"order_id": str(order.pk), "order_number": order.number},
            "payment_intent_data": {"metadata": {"order_id": str(order.pk)}},
            "customer_email": order.email,
            "expires_at": int((now + lifetime).timestamp()),
        }
        if order.language in STRIPE_LOCALES:
            params["locale"] = order.language
        return params

    def start_payment(self, order: Order) -> NextStep:
        """Create (or, on a retry, get back) the order's Checkout Session and send the
        customer to its page. PaymentError, order untouched, when Stripe cannot be
        reached or refuses."""
        from lavka.marketplace.models import OrderPaymentDetails

        reference = (
            OrderPaymentDetails.objects.filter(order_id=order.pk)
            .values_list("reference", flat=True)
            .first()
        )
        if reference:
            return self._existing_session(reference)
        try:
            params = self.session_params(order)
        except AmountNotRepresentable:
            logger.exception("order %s cannot be paid by card", order.pk)
            raise PaymentError(
                _("This order's amount cannot be paid by card. Choose another method.")
            ) from None
        try:
            session = client().v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key(order, "checkout-session")},
            )
        except stripe.StripeError as error:
            logger.warning("Stripe refused a session for order %s: %s", order.pk, error)
            raise _failure(error) from None
        OrderPaymentDetails.objects.filter(order_id=order.pk).update(
            reference=session.id, updated_at=timezone.now()
        )
        if not session.url:
            raise PaymentError(_("This card payment is closed; see your order's status."))
        return NextStep(redirect_url=session.url)

    def _existing_session(self, session_id: str) -> NextStep:
        """The order's session, if still open: a retry sends the customer back to it."""
        try:
            session = client().v1.checkout.sessions.retrieve(session_id)
        except stripe.StripeError as error:
            raise _failure(error) from None
        if session.status != "open" or not session.url:
            raise PaymentError(_("This card payment is closed; see your order's status."))
        return NextStep(redirect_url=session.url)

    def refund(self, order: Order) -> str:
        """Refund the whole amount of the order's paid session (its PaymentIntent) and
        return the refund's id; see `_refund_failure` for what errors mean. An order is
        refunded once, so one key per order: a retry gets the same refund back."""
        from lavka.marketplace.models import OrderPaymentDetails

        payment = OrderPaymentDetails.objects.get(order_id=order.pk)
        if not payment.reference.startswith("cs_"):
            raise PaymentError(_("This order has no card payment session to refund."))
        stripe_client = client()
        try:
            session = stripe_client.v1.checkout.sessions.retrieve(payment.reference)
            intent = session.payment_intent
            if not intent:
                raise PaymentError(_("Stripe has no payment for this order's session."))
            refund = stripe_client.v1.refunds.create(
                params={
                    "payment_intent": intent if isinstance(intent, str) else intent.id,
                    "amount": minor_units(payment.amount, payment.currency),
                    "reason": "requested_by_customer",
                    "metadata": {"order_id": str(order.pk), "order_number": order.number},
                },
                options={"idempotency_key": idempotency_key(order, "refund")},
            )
        except stripe.StripeError as error:
            raise _refund_failure(error) from None
        return str(refund.id)


def _failure(error: stripe.StripeError) -> PaymentError:
    """What the customer is told when Stripe cannot be reached or refuses (its own
    message may be technical or English-only)."""
    if isinstance(error, stripe.APIConnectionError):
        reason = _("the card payment service cannot be reached")
    elif isinstance(error, stripe.RateLimitError):
        reason = _("the card payment service is busy")
    else:
        reason = _("the card payment service refused it")
    return PaymentError(
        _(
            "The card payment could not be started: %(reason)s. Your order is kept, awaiting payment."
        )
        % {"reason": reason}
    )


def _refund_failure(error: stripe.StripeError) -> PaymentError:
    """What staff are told of a refund Stripe did not make: busy or unreachable (429,
    5xx, no connection) is worth retrying with the same key; any other answer (an
    intent already refunded, a bad request) is not, and Stripe's words are kept."""
    status = error.http_status
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or (
        status is None or status == 429 or status >= 500
    ):
        headers = error.headers or {}
        return PaymentRetryLater(
            _("Stripe is busy or out of reach (%(error)s); the refund will be tried again.")
            % {"error": status or type(error).__name__},
            retry_after=headers.get("retry-after") or headers.get("Retry-After"),
        )
    code = f" ({error.code})" if error.code else ""
    return PaymentError(
        _("Stripe refused the refund%(code)s: %(message)s")
        % {"code": code, "message": error.user_message or str(error)}
    )
