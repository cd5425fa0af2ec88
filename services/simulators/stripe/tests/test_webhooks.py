"""Webhook delivery: Stripe's signature scheme, event shape, retries with backoff, filters."""

from __future__ import annotations

import json

import pytest
import stripe

from services.simulators.stripe import Simulator

from .conftest import WEBHOOK_SECRET, Endpoint, control, new_session, post_form, settled


def test_events_verify_with_stripe_python_and_are_shaped_like_stripes(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    session = new_session(client)
    post_form(session.url, {"action": "pay"})
    settled(simulator)

    (received,) = endpoint.received
    header = received.headers["Stripe-Signature"]
    event = stripe.Webhook.construct_event(received.body, header, WEBHOOK_SECRET)

    assert header.startswith("t=") and ",v1=" in header
    assert received.headers["Content-Type"].startswith("application/json")
    assert event.id.startswith("evt_")
    assert (event.object, event.type, event.livemode) == (
        "event",
        "checkout.session.completed",
        False,
    )
    assert event.api_version == simulator.config.api_version
    assert isinstance(event.created, int)
    assert event.data.object.object == "checkout.session"
    assert client.v1.events.retrieve(event.id).type == "checkout.session.completed"


def test_a_tampered_body_or_another_secret_fails_verification(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    session = new_session(client)
    client.v1.checkout.sessions.expire(session.id)
    settled(simulator)
    (received,) = endpoint.received
    header = received.headers["Stripe-Signature"]
    tampered = json.loads(received.body)
    tampered["data"]["object"]["amount_total"] = 1

    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(json.dumps(tampered), header, WEBHOOK_SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received.body, header, "whsec_someone_else")


def test_a_failing_endpoint_is_retried_until_it_answers(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    endpoint.statuses.extend([500, 503])
    session = new_session(client)

    client.v1.checkout.sessions.expire(session.id)

    (event,) = settled(simulator)["data"]
    (delivery,) = event["deliveries"]
    assert delivery["state"] == "succeeded"
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 200]
    times = [a["at"] for a in delivery["attempts"]]
    assert times[2] - times[1] >= times[1] - times[0] >= 0.05  # backoff grows
    assert {r.event["id"] for r in endpoint.received} == {event["id"]}


def test_delivery_gives_up_after_max_attempts(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    endpoint.statuses.extend([400] * 10)

    client.v1.checkout.sessions.expire(new_session(client).id)

    (event,) = settled(simulator)["data"]
    assert event["deliveries"][0]["state"] == "failed"
    assert len(event["deliveries"][0]["attempts"]) == 5
    assert len(endpoint.received) == 5


def test_an_unreachable_endpoint_is_recorded_not_fatal(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    control(
        simulator,
        body={"webhook_url": "http://127.0.0.1:9/nothing-listens-here", "max_attempts": 2},
    )

    client.v1.checkout.sessions.expire(new_session(client).id)

    (event,) = settled(simulator)["data"]
    attempts = event["deliveries"][0]["attempts"]
    assert [a["status"] for a in attempts] == [None, None]
    assert all(a["error"] for a in attempts)


def test_only_enabled_events_are_sent(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    control(simulator, body={"enabled_events": ["checkout.session.*"]})
    session = new_session(client)
    post_form(session.url, {"action": "pay"})
    intent = client.v1.checkout.sessions.retrieve(session.id).payment_intent

    client.v1.refunds.create(params={"payment_intent": intent})

    log = settled(simulator)
    assert [e["type"] for e in log["data"]] == ["checkout.session.completed", "refund.created"]
    assert endpoint.types() == ["checkout.session.completed"]
