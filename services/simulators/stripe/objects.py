"""The simulator's records and their JSON, shaped like Stripe's objects of the same name."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """Stripe-looking ids: ``cs_test_…``, ``pi_…``, ``re_…``, ``evt_…``."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass
class LineItem:
    id: str
    description: str
    currency: str
    unit_amount: int | None
    unit_amount_decimal: str
    quantity: int
    amount_total: int
    product_id: str
    price_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "item",
            "amount_discount": 0,
            "amount_subtotal": self.amount_total,
            "amount_tax": 0,
            "amount_total": self.amount_total,
            "currency": self.currency,
            "description": self.description,
            "price": {
                "id": self.price_id,
                "object": "price",
                "active": False,
                "currency": self.currency,
                "livemode": False,
                "product": self.product_id,
                "type": "one_time",
                "unit_amount": self.unit_amount,
                "unit_amount_decimal": self.unit_amount_decimal,
            },
            "quantity": self.quantity,
        }


@dataclass
class PaymentIntent:
    id: str
    amount: int
    currency: str
    created: int
    status: str = "requires_payment_method"
    metadata: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    latest_charge: str | None = None
    amount_refunded: int = 0
    last_payment_error: dict[str, Any] | None = None
    payment_method_types: list[str] = field(default_factory=lambda: ["card"])

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": 0,
            "amount_received": self.amount if self.status == "succeeded" else 0,
            "capture_method": "automatic_async",
            "client_secret": f"{self.id}_secret_simulated",
            "created": self.created,
            "currency": self.currency,
            "description": self.description,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": False,
            "metadata": dict(self.metadata),
            "payment_method_types": list(self.payment_method_types),
            "status": self.status,
        }


@dataclass
class CheckoutSession:
    id: str
    created: int
    expires_at: int
    currency: str
    amount_total: int
    line_items: list[LineItem]
    success_url: str
    cancel_url: str | None
    url: str
    client_reference_id: str | None = None
    customer_email: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent_metadata: dict[str, str] = field(default_factory=dict)
    payment_intent_description: str | None = None
    payment_method_types: list[str] = field(default_factory=lambda: ["card"])
    locale: str | None = None
    submit_type: str | None = None
    status: str = "open"
    payment_status: str = "unpaid"
    payment_intent: str | None = None
    paid_email: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The session as Stripe shows it; ``url`` is only there while it is open."""
        completed = self.status == "complete"
        return {
            "id": self.id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": self.amount_total,
            "amount_total": self.amount_total,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "client_secret": None,
            "created": self.created,
            "currency": self.currency,
            "custom_fields": [],
            "customer": None,
            "customer_creation": "if_required",
            "customer_details": (
                {
                    "address": None,
                    "email": self.paid_email,
                    "name": None,
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                }
                if completed
                else None
            ),
            "customer_email": self.customer_email,
            "discounts": [],
            "expires_at": self.expires_at,
            "invoice": None,
            "livemode": False,
            "locale": self.locale,
            "metadata": dict(self.metadata),
            "mode": "payment",
            "payment_intent": self.payment_intent,
            "payment_link": None,
            "payment_method_collection": "if_required",
            "payment_method_types": list(self.payment_method_types),
            "payment_status": self.payment_status,
            "recovered_from": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": self.status,
            "submit_type": self.submit_type,
            "subscription": None,
            "success_url": self.success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": self.url if self.status == "open" else None,
        }

    def line_items_json(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [item.to_json() for item in self.line_items],
            "has_more": False,
            "url": f"/v1/checkout/sessions/{self.id}/line_items",
        }


@dataclass
class Refund:
    id: str
    amount: int
    currency: str
    created: int
    payment_intent: str
    charge: str
    reason: str | None
    metadata: dict[str, str]
    status: str = "succeeded"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": "txn_" + self.id[3:],
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "destination_details": {"card": {"type": "refund"}, "type": "card"},
            "metadata": dict(self.metadata),
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": self.status,
            "transfer_reversal": None,
        }
