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
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lavka.marketplace.payments.base import (
    AlreadyRefunded,
    NextStep,
    Payable,
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


def session_amount_problem(payable: Payable, session: dict[str, Any]) -> str:
    """Why a paid session does not pay exactly this order or donation ("" if it does)."""
    kind = payable.payment_kind
    currency = str(session.get("currency") or "").upper()
    if currency != payable.currency.upper():
        return f"Paid in {currency or '?'}, the {kind} is in {payable.currency}."
    try:
        expected = minor_units(payable.total, payable.currency)
    except AmountNotRepresentable:
        return f"The {kind}'s total has no exact card amount."
    paid = session.get("amount_total")
    if not isinstance(paid, int) or isinstance(paid, bool) or paid != expected:
        return f"Paid {paid} minor units of {currency}, the {kind} asks {expected}."
    return ""


def idempotency_key(order: Payable, call: str) -> str:
    """Our own key for a call about this order (or donation): the same call is never
    made twice. Checkout tokens are random UUIDs, unique across both."""
    return f"lavka-{order.payment_kind}-{call}-{order.checkout_token}"


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

    def instructions(self, order: Payable) -> str:
        text = _("Pay by card on the payment page the checkout opened for you.")
        if is_test_mode():
            text += "\n" + _("Test mode: no real money moves.")
        return text

    def line_items(self, payable: Payable) -> list[dict[str, Any]]:
        """What is paid for as Stripe line items, summing exactly to its total."""
        currency = payable.currency.lower()
        items: list[dict[str, Any]] = []
        # In the payer's language, not the request's: a retry from a page in another
        # language must send Stripe the same parameters under the same key.
        with translation.override(payable.language or None):
            payable_items = payable.payment_items()
        for item in payable_items:
            product: dict[str, Any] = {"name": item.name[:250] or payable.number}
            if item.description:
                product["description"] = item.description[:500]
            items.append(
                {
                    "quantity": item.quantity,
                    "price_data": {
                        "currency": currency,
                        "unit_amount": minor_units(item.unit_price, currency),
                        "product_data": product,
                    },
                }
            )
        total = sum(int(i["quantity"]) * int(i["price_data"]["unit_amount"]) for i in items)
        if total != minor_units(payable.total, currency):
            raise AmountNotRepresentable(f"lines of {payable.number} do not add up to its total")
        return items

    def session_params(self, payable: Payable) -> dict[str, Any]:
        site = settings.SITE_URL.rstrip("/")
        success_page, cancel_page = payable.payment_pages()
        now = timezone.now()
        # Counted from the payable's creation, not from now: a retry with our idempotency
        # key must send the same parameters (Stripe refuses the key otherwise).
        latest = payable.created_at + SESSION_MAX_LIFETIME
        deadline = min(payable.payment_deadline() or latest, latest)
        lifetime = min(max(deadline - now, SESSION_MIN_LIFETIME), SESSION_MAX_LIFETIME)
        kind, key = payable.payment_kind, str(payable.pk)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": self.line_items(payable),
            "success_url": site + success_page + "?paid={CHECKOUT_SESSION_ID}",
            "cancel_url": site + cancel_page,
            # An order's sessions carry its bare id (as before donations were paid by
            # card); anything else says what it is, so it is never taken for an order.
            "client_reference_id": key if kind == "order" else f"{kind}-{key}",
            "metadata": {"kind": kind, f"{kind}_id": key, f"{kind}_number": payable.number},
            "payment_intent_data": {"metadata": {"kind": kind, f"{kind}_id": key}},
            "expires_at": int((now + lifetime).timestamp()),
        }
        email = payable.payer_email()
        if email:
            params["customer_email"] = email
        if payable.language in STRIPE_LOCALES:
            params["locale"] = payable.language
        return params

    def start_payment(self, order: Payable) -> NextStep:
        """Create (or, on a retry, get back) the Checkout Session of an order or a
        donation and send the payer to its page. PaymentError, nothing changed, when
        Stripe cannot be reached or refuses."""
        reference = order.payment_reference()
        if reference:
            return self._existing_session(reference)
        try:
            params = self.session_params(order)
        except AmountNotRepresentable:
            logger.exception("%s %s cannot be paid by card", order.payment_kind, order.pk)
            raise PaymentError(
                _("This order's amount cannot be paid by card. Choose another method.")
            ) from None
        try:
            session = client().v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key(order, "checkout-session")},
            )
        except stripe.StripeError as error:
            logger.warning(
                "Stripe refused a session for %s %s: %s", order.payment_kind, order.pk, error
            )
            raise _failure(error) from None
        order.store_payment_reference(session.id)
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

    def refund(self, order: Order, *, known_reference: str = "") -> str:
        """Refund the whole amount of the order's paid session (its PaymentIntent) and
        return the refund's id once Stripe says it succeeded; see `_refund_failure` for
        what errors mean. One key per order, so a retry gets the same refund back; a
        refund Stripe left pending (`known_reference`) is asked about, not made again."""
        from lavka.marketplace.models import OrderPaymentDetails

        payment = OrderPaymentDetails.objects.get(order_id=order.pk)
        if not payment.reference.startswith("cs_"):
            raise PaymentError(_("This order has no card payment session to refund."))
        try:
            amount = minor_units(payment.amount, payment.currency)
        except AmountNotRepresentable:
            raise PaymentError(_("This order's amount cannot be refunded by card.")) from None
        stripe_client = client()
        try:
            if known_reference:
                refund = stripe_client.v1.refunds.retrieve(known_reference)
            else:
                session = stripe_client.v1.checkout.sessions.retrieve(payment.reference)
                intent = session.payment_intent
                if not intent:
                    raise PaymentError(_("Stripe has no payment for this order's session."))
                refund = stripe_client.v1.refunds.create(
                    params={
                        "payment_intent": intent if isinstance(intent, str) else intent.id,
                        "amount": amount,
                        "reason": "requested_by_customer",
                        "metadata": {"order_id": str(order.pk), "order_number": order.number},
                    },
                    options={"idempotency_key": idempotency_key(order, "refund")},
                )
        except stripe.StripeError as error:
            raise _refund_failure(error) from None
        return _settled_refund_id(refund)


def _settled_refund_id(refund: Any) -> str:
    """The refund's id if the money is on its way back; a pending refund is asked
    about again later, a failed or cancelled one needs a person."""
    status = str(getattr(refund, "status", "") or "succeeded")
    if status == "succeeded":
        return str(refund.id)
    if status in ("pending", "requires_action"):
        raise PaymentRetryLater(
            _("Stripe has not finished the refund yet (%(status)s); it is asked again later.")
            % {"status": status},
            reference=str(refund.id),
        )
    raise PaymentError(_("Stripe did not make the refund (%(status)s).") % {"status": status[:40]})


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
    if error.code == "charge_already_refunded":
        return AlreadyRefunded(_("Stripe says this payment was refunded already."))
    code = f" ({error.code})" if error.code else ""
    return PaymentError(
        _("Stripe refused the refund%(code)s: %(message)s")
        % {"code": code, "message": error.user_message or str(error)}
    )
