"""The simulated account: sessions, payment intents, refunds, and what changes them.

Everything is in memory behind one lock, so a double click on Pay or two API calls
with the same idempotency key are applied one after the other, never interleaved.
The clock can be moved forward (``POST /_control/clock``) to expire sessions in tests
without waiting; webhook signatures keep using real time so they verify.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from . import params as p
from .errors import StripeError, invalid, missing, no_such
from .objects import CheckoutSession, LineItem, PaymentIntent, Refund, new_id
from .webhooks import Dispatcher

MAX_AMOUNT = 99_999_999  # Stripe's ceiling in the smallest currency unit (8 digits)
MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 60 * 60
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CURRENCY = re.compile(r"^[a-z]{3}$")

SESSION_PARAMS = {
    "mode",
    "line_items",
    "success_url",
    "cancel_url",
    "client_reference_id",
    "metadata",
    "customer_email",
    "customer",
    "expires_at",
    "expand",
    "payment_method_types",
    "locale",
    "submit_type",
    "billing_address_collection",
    "customer_creation",
    "allow_promotion_codes",
    "phone_number_collection",
    "payment_intent_data",
    "ui_mode",
    "currency",
}
LINE_ITEM_PARAMS = {"price_data", "quantity", "price"}
PRICE_DATA_PARAMS = {
    "currency",
    "unit_amount",
    "unit_amount_decimal",
    "product_data",
    "product",
    "tax_behavior",
}
PRODUCT_DATA_PARAMS = {"name", "description", "images", "metadata", "tax_code"}
PAYMENT_INTENT_DATA_PARAMS = {
    "metadata",
    "description",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
}
REFUND_PARAMS = {"payment_intent", "charge", "amount", "reason", "metadata", "expand"}
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}

RequestRef = tuple[str, str | None]


@dataclass
class Clock:
    offset: float = 0.0

    def now(self) -> int:
        return int(time.time() + self.offset)


class Store:
    def __init__(self, dispatcher: Dispatcher, public_url: str) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.dispatcher = dispatcher
        self.public_url = public_url.rstrip("/")
        self.sessions: dict[str, CheckoutSession] = {}
        self.payment_intents: dict[str, PaymentIntent] = {}
        self.charges: dict[str, str] = {}  # ch_… → pi_…
        self.refunds: dict[str, Refund] = {}
        self.async_delay_seconds = 5.0
        self.schedule: Callable[[float, Callable[[], None]], None] | None = None
        self.pending_settlements = 0

    def _emit(
        self, event_type: str, obj: dict[str, Any], request: RequestRef | None = None
    ) -> None:
        self.dispatcher.publish(event_type, obj, self.clock.now(), request)

    # Checkout Sessions

    def create_session(self, params: p.Params) -> CheckoutSession:
        p.check_known(params, SESSION_PARAMS)
        mode = p.get_str(params, "mode", "mode", required=True)
        if mode != "payment":
            raise invalid(
                "mode", f"This Stripe simulator implements mode=payment only, not {mode!r}."
            )
        ui_mode = p.get_str(params, "ui_mode", "ui_mode")
        if ui_mode not in (None, "hosted"):
            raise invalid("ui_mode", "This Stripe simulator implements ui_mode=hosted only.")
        success_url = _url(params, "success_url", required=True)
        assert success_url is not None
        cancel_url = _url(params, "cancel_url")
        items = self._line_items(params)
        currency = items[0].currency
        wanted_currency = p.get_str(params, "currency", "currency")
        if wanted_currency is not None and wanted_currency.lower() != currency:
            raise invalid("currency", "currency must match the line items' currency.")
        total = sum(item.amount_total for item in items)
        if total > MAX_AMOUNT:
            raise StripeError(
                400,
                f"The Checkout Session's total amount must be no more than {MAX_AMOUNT} "
                "in the smallest currency unit.",
                param="line_items",
                code="amount_too_large",
            )
        email = p.get_str(params, "customer_email", "customer_email", max_length=512)
        if email is not None and not _EMAIL.match(email):
            raise invalid("customer_email", f"Invalid email address: {email}", code="email_invalid")
        customer = p.get_str(params, "customer", "customer")
        if customer is not None:
            raise no_such("customer", customer, "customer")
        now = self.clock.now()
        expires_at = p.get_int(params, "expires_at", "expires_at")
        if expires_at is None:
            expires_at = now + MAX_EXPIRY
        elif expires_at < now + MIN_EXPIRY:
            raise invalid(
                "expires_at",
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
            )
        elif expires_at > now + MAX_EXPIRY:
            raise invalid(
                "expires_at",
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            )
        intent_data = p.get_dict(params, "payment_intent_data", "payment_intent_data") or {}
        p.check_known(intent_data, PAYMENT_INTENT_DATA_PARAMS, "payment_intent_data")
        methods = p.get_list(params, "payment_method_types", "payment_method_types") or ["card"]
        if not all(isinstance(m, str) and m for m in methods):
            raise invalid(
                "payment_method_types", "Invalid array: payment_method_types must list strings."
            )
        session_id = new_id("cs_test_", 58)
        session = CheckoutSession(
            id=session_id,
            created=now,
            expires_at=expires_at,
            currency=currency,
            amount_total=total,
            line_items=items,
            success_url=success_url,
            cancel_url=cancel_url,
            url=f"{self.public_url}/c/pay/{session_id}",
            client_reference_id=p.get_str(
                params, "client_reference_id", "client_reference_id", max_length=200
            ),
            customer_email=email,
            metadata=p.get_metadata(params),
            payment_intent_metadata=p.get_metadata(
                intent_data, "metadata", "payment_intent_data[metadata]"
            ),
            payment_intent_description=p.get_str(
                intent_data, "description", "payment_intent_data[description]", max_length=1000
            ),
            payment_method_types=[str(m) for m in methods],
            locale=p.get_str(params, "locale", "locale", max_length=10),
            submit_type=p.get_str(params, "submit_type", "submit_type", max_length=20),
        )
        self.sessions[session.id] = session
        return session

    def _line_items(self, params: p.Params) -> list[LineItem]:
        raw_items = p.get_list(params, "line_items", "line_items", required=True) or []
        if len(raw_items) > 100:
            raise invalid(
                "line_items", "A Checkout Session in payment mode takes at most 100 line items."
            )
        items: list[LineItem] = []
        for index, raw in enumerate(raw_items):
            path = f"line_items[{index}]"
            if not isinstance(raw, dict):
                raise invalid(path, f"Invalid object: {path} must be a hash.")
            p.check_known(raw, LINE_ITEM_PARAMS, path)
            price_id = p.get_str(raw, "price", f"{path}[price]")
            if price_id is not None:
                raise no_such("price", price_id, f"{path}[price]")
            data = p.get_dict(raw, "price_data", f"{path}[price_data]", required=True) or {}
            data_path = f"{path}[price_data]"
            p.check_known(data, PRICE_DATA_PARAMS, data_path)
            currency = (
                p.get_str(data, "currency", f"{data_path}[currency]", required=True) or ""
            ).lower()
            if not _CURRENCY.match(currency):
                raise invalid(f"{data_path}[currency]", f"Invalid currency: {currency[:20]}.")
            if items and currency != items[0].currency:
                raise invalid(
                    f"{data_path}[currency]", "All line items must use the same currency."
                )
            product = p.get_str(data, "product", f"{data_path}[product]")
            if product is not None:
                raise no_such("product", product, f"{data_path}[product]")
            product_data = (
                p.get_dict(data, "product_data", f"{data_path}[product_data]", required=True) or {}
            )
            p.check_known(product_data, PRODUCT_DATA_PARAMS, f"{data_path}[product_data]")
            name = p.get_str(
                product_data,
                "name",
                f"{data_path}[product_data][name]",
                required=True,
                max_length=250,
            )
            unit_amount = p.get_int(
                data, "unit_amount", f"{data_path}[unit_amount]", minimum=0, maximum=MAX_AMOUNT
            )
            unit_decimal = p.get_decimal(
                data, "unit_amount_decimal", f"{data_path}[unit_amount_decimal]"
            )
            if unit_amount is not None and unit_decimal is not None:
                raise invalid(
                    data_path,
                    "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                )
            if unit_amount is None and unit_decimal is None:
                raise missing(f"{data_path}[unit_amount]")
            quantity = p.get_int(
                raw, "quantity", f"{path}[quantity]", required=True, minimum=1, maximum=999_999
            )
            assert quantity is not None
            exact = Decimal(unit_amount) if unit_amount is not None else unit_decimal
            assert exact is not None
            line_total = int((exact * quantity).to_integral_value(rounding=ROUND_HALF_UP))
            if line_total > MAX_AMOUNT:
                raise StripeError(
                    400,
                    f"{path} comes to more than {MAX_AMOUNT}.",
                    param=f"{path}[quantity]",
                    code="amount_too_large",
                )
            items.append(
                LineItem(
                    id=new_id("li_"),
                    description=name or "",
                    currency=currency,
                    unit_amount=unit_amount,
                    unit_amount_decimal=str(exact),
                    quantity=quantity,
                    amount_total=line_total,
                    product_id=new_id("prod_", 14),
                    price_id=new_id("price_"),
                )
            )
        if not items:
            raise missing("line_items")
        return items

    def session(self, session_id: str) -> CheckoutSession:
        self.expire_due()
        session = self.sessions.get(session_id)
        if session is None:
            raise no_such("checkout.session", session_id, "session")
        return session

    def expire_session(self, session_id: str, request: RequestRef | None = None) -> CheckoutSession:
        session = self.session(session_id)
        if session.status != "open":
            raise StripeError(
                400,
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{session.status}".',
            )
        self._expire(session, request)
        return session

    def _expire(self, session: CheckoutSession, request: RequestRef | None) -> None:
        session.status = "expired"
        intent = self.payment_intents.get(session.payment_intent or "")
        if intent is not None and intent.status == "requires_payment_method":
            intent.status = "canceled"
        self._emit("checkout.session.expired", session.to_json(), request)

    def expire_due(self) -> None:
        """Sessions past ``expires_at`` expire and send their event, as Stripe's do."""
        now = self.clock.now()
        with self.lock:
            for session in list(self.sessions.values()):
                if session.status == "open" and session.expires_at <= now:
                    self._expire(session, None)

    # What the payer does on the hosted page

    def _intent_for(self, session: CheckoutSession) -> PaymentIntent:
        intent = self.payment_intents.get(session.payment_intent or "")
        if intent is None:
            intent = PaymentIntent(
                id=new_id("pi_"),
                amount=session.amount_total,
                currency=session.currency,
                created=self.clock.now(),
                metadata=dict(session.payment_intent_metadata),
                description=session.payment_intent_description,
                payment_method_types=list(session.payment_method_types),
            )
            self.payment_intents[intent.id] = intent
            session.payment_intent = intent.id
        return intent

    def _open(self, session_id: str) -> CheckoutSession:
        session = self.session(session_id)
        if session.status != "open":
            raise StripeError(409, f"This Checkout Session is {session.status}, not open.")
        return session

    def pay(self, session_id: str, email: str | None) -> CheckoutSession:
        session = self._open(session_id)
        session.paid_email = session.customer_email or email
        session.status = "complete"
        if session.amount_total == 0:
            session.payment_status = "no_payment_required"
        else:
            self._succeed(self._intent_for(session))
            session.payment_status = "paid"
        self._emit("checkout.session.completed", session.to_json())
        return session

    def _succeed(self, intent: PaymentIntent) -> None:
        intent.status = "succeeded"
        intent.last_payment_error = None
        intent.latest_charge = "ch_" + intent.id[3:]
        self.charges[intent.latest_charge] = intent.id

    def decline(self, session_id: str) -> CheckoutSession:
        session = self._open(session_id)
        if session.amount_total > 0:
            intent = self._intent_for(session)
            intent.status = "requires_payment_method"
            intent.last_payment_error = {
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "type": "card_error",
            }
        return session

    def pay_later(self, session_id: str, email: str | None, succeeds: bool) -> CheckoutSession:
        """A delayed method (bank debit): complete but unpaid now, settled later."""
        session = self._open(session_id)
        if session.amount_total == 0:
            return self.pay(session_id, email)
        intent = self._intent_for(session)
        intent.status = "processing"
        session.paid_email = session.customer_email or email
        session.status = "complete"
        session.payment_status = "unpaid"
        self._emit("checkout.session.completed", session.to_json())
        if self.schedule is not None:
            self.pending_settlements += 1
            self.schedule(
                self.async_delay_seconds, lambda: self._settle_later(session.id, succeeds)
            )
        return session

    def _settle_later(self, session_id: str, succeeds: bool) -> None:
        with self.lock:
            self.pending_settlements -= 1
            self.settle(session_id, succeeds)

    def settle(self, session_id: str, succeeds: bool) -> None:
        with self.lock:
            session = self.sessions.get(session_id)
            intent = self.payment_intents.get(session.payment_intent or "") if session else None
            if session is None or intent is None or intent.status != "processing":
                return
            if succeeds:
                self._succeed(intent)
                session.payment_status = "paid"
                self._emit("checkout.session.async_payment_succeeded", session.to_json())
            else:
                intent.status = "requires_payment_method"
                intent.last_payment_error = {
                    "code": "payment_method_not_available",
                    "message": "The bank debit failed (simulated).",
                    "type": "invalid_request_error",
                }
                self._emit("checkout.session.async_payment_failed", session.to_json())

    # Payment intents and refunds

    def payment_intent(self, intent_id: str, param: str = "intent") -> PaymentIntent:
        intent = self.payment_intents.get(intent_id)
        if intent is None:
            raise no_such("payment_intent", intent_id, param)
        return intent

    def create_refund(self, params: p.Params, request: RequestRef) -> Refund:
        p.check_known(params, REFUND_PARAMS)
        intent_id = p.get_str(params, "payment_intent", "payment_intent", max_length=200)
        charge_id = p.get_str(params, "charge", "charge", max_length=200)
        if intent_id is None and charge_id is None:
            raise missing("payment_intent")
        if charge_id is not None:
            if charge_id not in self.charges:
                raise no_such("charge", charge_id, "charge")
            if intent_id is not None and self.charges[charge_id] != intent_id:
                raise invalid("charge", "The charge does not belong to that payment_intent.")
            intent_id = self.charges[charge_id]
        assert intent_id is not None
        intent = self.payment_intent(intent_id, "payment_intent")
        if intent.status != "succeeded" or intent.latest_charge is None:
            raise StripeError(
                400,
                f"This PaymentIntent ({intent.id}) does not have a successful charge to refund.",
                param="payment_intent",
                code="payment_intent_unexpected_state",
            )
        remaining = intent.amount - intent.amount_refunded
        if remaining <= 0:
            raise StripeError(
                400,
                f"Charge {intent.latest_charge} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = p.get_int(params, "amount", "amount", minimum=1, maximum=MAX_AMOUNT)
        if amount is None:
            amount = remaining
        if amount > remaining:
            raise StripeError(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                param="amount",
                code="amount_too_large",
            )
        reason = p.get_str(params, "reason", "reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise invalid(
                "reason", f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}"
            )
        refund = Refund(
            id=new_id("re_"),
            amount=amount,
            currency=intent.currency,
            created=self.clock.now(),
            payment_intent=intent.id,
            charge=intent.latest_charge,
            reason=reason,
            metadata=p.get_metadata(params),
        )
        intent.amount_refunded += amount
        self.refunds[refund.id] = refund
        self._emit("refund.created", refund.to_json(), request)
        return refund

    def refund(self, refund_id: str) -> Refund:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise no_such("refund", refund_id, "refund")
        return refund

    def reset(self) -> None:
        with self.lock:
            self.sessions.clear()
            self.payment_intents.clear()
            self.charges.clear()
            self.refunds.clear()
            self.clock.offset = 0.0
            self.pending_settlements = 0


def _url(params: p.Params, key: str, *, required: bool = False) -> str | None:
    value = p.get_str(params, key, key, required=required, max_length=5000)
    if value is None:
        return None
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c in value for c in "\r\n\t ")
    ):
        raise invalid(key, f"Not a valid URL: {key}", code="url_invalid")
    return value
