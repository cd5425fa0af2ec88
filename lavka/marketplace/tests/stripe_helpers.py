"""Helpers of the tests that pay through the Stripe simulator (services/simulators/stripe):
the simulator with the shop's settings pointing at it, signed webhook calls, the
checkout.session events Stripe sends, and applying stored events as the task does."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lavka.marketplace.models import Donation, Order, PaymentEvent
from lavka.marketplace.orders import payment_events
from services.simulators.stripe.server import Simulator
from services.simulators.stripe.testing import running_simulator, wait_idle
from services.simulators.stripe.webhooks import sign

WEBHOOK_SECRET = "whsec_lavka_tests"
WEBHOOK_PATH = "/shop/stripe/webhook/"


@contextmanager
def stripe_simulator(settings: Any, live_server: Any = None, **faults: Any) -> Iterator[Simulator]:
    """The simulator on a free port, with card payments and card donations offered through
    it. Given the live server, the simulator delivers its signed webhooks there and sends
    payers back to the live server's pages; `faults` are the simulator's fault knobs."""
    webhook_url = live_server.url + WEBHOOK_PATH if live_server is not None else None
    with running_simulator(webhook_url=webhook_url, webhook_secret=WEBHOOK_SECRET, **faults) as sim:
        settings.STRIPE_SECRET_KEY = "sk_test_lavka"
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = sim.url
        settings.LAVKA_PAYMENT_PROVIDERS = ["bank_transfer", "stripe"]
        settings.LAVKA_DONATION_PROVIDERS = ["bank_transfer", "stripe"]
        if live_server is not None:
            settings.SITE_URL = live_server.url
        yield sim


def post_signed(url: str, body: bytes, *, signature: str | None = None) -> int:
    """POST `body` as Stripe does, signed with the tests' secret unless a `signature` is
    given; returns the HTTP status."""
    header = signature if signature is not None else sign(body, WEBHOOK_SECRET, int(time.time()))
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Stripe-Signature": header}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def post_event(url: str, event: dict[str, Any]) -> int:
    return post_signed(url, json.dumps(event).encode())


def apply_payment_events(simulator: Simulator | None = None) -> None:
    """Apply every stored webhook event in order, as the task would; given the simulator,
    first wait until it has delivered all it has to."""
    if simulator is not None:
        wait_idle(simulator)
    for pk in PaymentEvent.objects.order_by("pk").values_list("pk", flat=True):
        payment_events.process_event(event_pk=pk)


def _session_event(kind: str, key: str, session: dict[str, Any]) -> dict[str, Any]:
    paid = kind == "completed"
    obj = {
        "object": "checkout.session",
        "payment_status": "paid" if paid else "unpaid",
        "status": "complete" if paid else "expired",
        **session,
    }
    return {
        "id": f"evt_{kind}_{key}_{obj['amount_total']}_{obj['currency']}",
        "object": "event",
        "type": f"checkout.session.{kind}",
        "data": {"object": obj},
    }


def order_session_event(order: Order, kind: str = "completed", **session: Any) -> dict[str, Any]:
    """A checkout.session.<kind> event as Stripe sends it, for the order's own session;
    `session` overrides fields of the session."""
    order.payment.refresh_from_db()
    own = {
        "id": order.payment.reference,
        "client_reference_id": str(order.pk),
        "metadata": {"order_id": str(order.pk)},
        "amount_total": int(order.total * 100),
        "currency": order.currency.lower(),
    }
    return _session_event(kind, str(order.pk), {**own, **session})


def donation_session_event(
    donation: Donation, kind: str = "completed", **session: Any
) -> dict[str, Any]:
    """A checkout.session.<kind> event as Stripe sends it, for the donation's own session."""
    donation.refresh_from_db()
    own = {
        "id": donation.reference,
        "client_reference_id": f"donation-{donation.pk}",
        "metadata": {"kind": "donation", "donation_id": str(donation.pk)},
        "amount_total": int(donation.amount * 100),
        "currency": donation.currency.lower(),
    }
    return _session_event(kind, f"d{donation.pk}", {**own, **session})
