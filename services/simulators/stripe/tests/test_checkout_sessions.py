"""Checkout Sessions through the real stripe-python client: create, retrieve, expire."""

from __future__ import annotations

import time

import pytest
import stripe

from services.simulators.stripe import Simulator

from .conftest import WEBHOOK_SECRET, Endpoint, control, new_session, settled, wait_until


def test_created_session_is_shaped_like_stripes(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    before = int(time.time())

    session = new_session(
        client,
        client_reference_id="order-17",
        customer_email="buyer@example.com",
        metadata={"order_id": "17", "tenant": "lavka"},
    )

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert (session.amount_total, session.currency) == (2500, "eur")
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.payment_intent is None  # as on Stripe: created when the payer submits
    assert session.url == f"{simulator.url}/c/pay/{session.id}"
    assert session.metadata.to_dict() == {"order_id": "17", "tenant": "lavka"}
    assert session.client_reference_id == "order-17"
    assert session.customer_email == "buyer@example.com"
    assert session.livemode is False
    assert before <= session.created <= int(time.time())
    assert session.expires_at - session.created == 24 * 3600


def test_retrieve_returns_the_same_session_and_expands_line_items(
    client: stripe.StripeClient,
) -> None:
    created = new_session(client)

    fetched = client.v1.checkout.sessions.retrieve(created.id, params={"expand": ["line_items"]})

    assert fetched.id == created.id
    assert fetched.amount_total == 2500
    (item,) = fetched.line_items.data
    assert (item.description, item.quantity, item.amount_total) == ("Clay mug", 2, 2500)
    assert item.price.unit_amount == 1250
    listed = client.v1.checkout.sessions.line_items.list(created.id)
    assert [i.description for i in listed.data] == ["Clay mug"]


def test_currency_is_lowercased_and_lines_add_up(client: stripe.StripeClient) -> None:
    session = new_session(
        client,
        line_items=[
            {
                "price_data": {
                    "currency": "EUR",
                    "unit_amount": 999,
                    "product_data": {"name": "A"},
                },
                "quantity": 3,
            },
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount_decimal": "100.5",
                    "product_data": {"name": "B"},
                },
                "quantity": 1,
            },
        ],
    )

    assert session.currency == "eur"
    assert session.amount_total == 999 * 3 + 101


def test_expire_closes_the_session_and_sends_the_event(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    session = new_session(client)

    expired = client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert expired.url is None
    wait_until(lambda: "checkout.session.expired" in endpoint.types())
    received = endpoint.received[0]
    event = stripe.Webhook.construct_event(
        received.body, received.headers["Stripe-Signature"], WEBHOOK_SECRET
    )
    assert event.data.object.id == session.id
    assert event.data.object.status == "expired"
    assert event.request.id is not None  # caused by an API call, as Stripe records it


def test_expiring_a_closed_session_is_refused(client: stripe.StripeClient) -> None:
    session = new_session(client)
    client.v1.checkout.sessions.expire(session.id)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.expire(session.id)

    assert raised.value.http_status == 400
    assert 'status of "expired"' in str(raised.value.user_message)


def test_a_session_expires_by_itself_at_expires_at(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    session = new_session(client, expires_at=int(time.time()) + 31 * 60)

    control(simulator, "/_control/clock", {"advance_seconds": 32 * 60})

    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    log = settled(simulator)
    assert [e["type"] for e in log["data"]] == ["checkout.session.expired"]
    assert endpoint.types() == ["checkout.session.expired"]


def test_expires_at_outside_stripes_window_is_refused(client: stripe.StripeClient) -> None:
    for expires_at in (int(time.time()) + 60, int(time.time()) + 25 * 3600):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            new_session(client, expires_at=expires_at)
        assert raised.value.param == "expires_at"


def test_the_module_level_api_base_works_too(simulator: Simulator) -> None:
    """Older code sets ``stripe.api_base``; the simulator answers it the same way."""
    saved = (stripe.api_base, stripe.api_key, stripe.max_network_retries)
    stripe.api_base, stripe.api_key, stripe.max_network_retries = simulator.url, "sk_test_module", 0
    try:
        session = stripe.checkout.Session.create(
            mode="payment",
            success_url="http://127.0.0.1:9/ok",
            line_items=[
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 500,
                        "product_data": {"name": "Zine"},
                    },
                    "quantity": 1,
                }
            ],
        )
        assert stripe.checkout.Session.retrieve(session.id).amount_total == 500
    finally:
        stripe.api_base, stripe.api_key, stripe.max_network_retries = saved
