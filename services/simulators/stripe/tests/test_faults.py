"""The fault knobs, each flipped at runtime through POST /_control."""

from __future__ import annotations

import time

import pytest
import stripe

from services.simulators.stripe import Simulator

from .conftest import WEBHOOK_SECRET, Endpoint, control, new_session, post_form, settled


def test_duplicate_delivers_each_event_twice(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    control(simulator, body={"duplicate": True})

    post_form(new_session(client).url, {"action": "pay"})

    settled(simulator)
    first, second = endpoint.received
    assert first.event["id"] == second.event["id"]
    for received in (first, second):
        stripe.Webhook.construct_event(
            received.body, received.headers["Stripe-Signature"], WEBHOOK_SECRET
        )


def test_out_of_order_sends_each_held_event_after_the_next(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    control(simulator, body={"out_of_order": True})
    session = new_session(client)

    post_form(session.url, {"action": "debit_succeeds"})  # completed, then async_payment_succeeded

    settled(simulator)
    assert endpoint.types() == [
        "checkout.session.async_payment_succeeded",
        "checkout.session.completed",
    ]


def test_a_held_event_is_sent_when_the_knob_is_turned_off(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    control(simulator, body={"out_of_order": True})
    client.v1.checkout.sessions.expire(new_session(client).id)
    log = control(simulator, "/_control/events")
    assert log["data"][0]["deliveries"][0]["state"] == "held"

    control(simulator, body={"out_of_order": False})

    settled(simulator)
    assert endpoint.types() == ["checkout.session.expired"]


def test_delay_sends_events_no_sooner_than_asked(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    control(simulator, body={"delay_seconds": 0.5})
    session = new_session(client)

    asked = time.time()
    client.v1.checkout.sessions.expire(session.id)

    (event,) = settled(simulator)["data"]
    assert event["deliveries"][0]["attempts"][0]["at"] >= asked + 0.5
    assert endpoint.types() == ["checkout.session.expired"]


def test_failed_deliveries_are_not_sent_and_are_retried(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    control(simulator, body={"fail_deliveries": 2})

    client.v1.checkout.sessions.expire(new_session(client).id)

    (event,) = settled(simulator)["data"]
    attempts = event["deliveries"][0]["attempts"]
    assert [(a["sent"], a["status"]) for a in attempts] == [
        (False, None),
        (False, None),
        (True, 200),
    ]
    assert len(endpoint.received) == 1


def test_lost_responses_make_the_endpoint_see_the_event_again(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    control(simulator, body={"lose_responses": 1})

    client.v1.checkout.sessions.expire(new_session(client).id)

    (event,) = settled(simulator)["data"]
    assert [a["sent"] for a in event["deliveries"][0]["attempts"]] == [True, True]
    assert [r.event["id"] for r in endpoint.received] == [event["id"], event["id"]]


def test_rate_limit_answers_429_to_the_next_calls_only(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    control(simulator, body={"rate_limit_requests": 1})

    with pytest.raises(stripe.RateLimitError) as raised:
        new_session(client)

    assert raised.value.http_status == 429
    assert new_session(client).status == "open"
    assert simulator.faults.rate_limit_requests == 0


def test_a_500_surfaces_without_retries_and_is_retried_safely_with_them(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    control(simulator, body={"error_requests": 1})
    with pytest.raises(stripe.APIError) as raised:
        new_session(client)
    assert raised.value.http_status == 500
    assert len(simulator.store.sessions) == 0

    control(simulator, body={"error_requests": 2})
    retrying = stripe.StripeClient(
        "sk_test_retrying", base_addresses={"api": simulator.url}, max_network_retries=2
    )
    session = new_session(retrying, options={"idempotency_key": "order-21-checkout-1"})

    assert session.status == "open"
    assert len(simulator.store.sessions) == 1
    assert simulator.faults.error_requests == 0  # both injected 500s were met and retried


def test_control_refuses_unknown_or_ill_typed_settings(simulator: Simulator) -> None:
    import urllib.error

    for body in (
        {"explode": True},
        {"fail_deliveries": "two"},
        {"delay_seconds": -1},
        {"duplicate": 1},
    ):
        with pytest.raises(urllib.error.HTTPError) as raised:
            control(simulator, body=body)
        assert raised.value.code == 400
    assert control(simulator)["faults"]["fail_deliveries"] == 0


def test_reset_forgets_everything_and_restores_the_startup_knobs(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    session = new_session(client)
    control(simulator, body={"duplicate": True})

    state = control(simulator, "/_control/reset", {})

    assert state["faults"]["duplicate"] is False
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.retrieve(session.id)
