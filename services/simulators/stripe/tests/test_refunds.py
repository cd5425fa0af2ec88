"""Refunds of paid sessions' payment intents: full, partial, too much, twice, unpaid."""

from __future__ import annotations

import pytest
import stripe

from services.simulators.stripe import Simulator
from services.simulators.stripe.testing import submit_payment_page

from .conftest import Endpoint, new_session, post_form, wait_until


def paid_intent(client: stripe.StripeClient) -> str:
    session = new_session(client)
    assert submit_payment_page(session.url)[0] == 303
    return str(client.v1.checkout.sessions.retrieve(session.id).payment_intent)


def test_a_partial_then_the_rest_then_nothing_more(
    client: stripe.StripeClient, endpoint: Endpoint
) -> None:
    intent = paid_intent(client)

    first = client.v1.refunds.create(
        params={
            "payment_intent": intent,
            "amount": 1000,
            "metadata": {"order_id": "17"},
            "reason": "requested_by_customer",
        },
        options={"idempotency_key": "refund-17-1"},
    )
    rest = client.v1.refunds.create(params={"payment_intent": intent})

    assert first.id.startswith("re_")
    assert (first.object, first.status, first.amount, first.currency) == (
        "refund",
        "succeeded",
        1000,
        "eur",
    )
    assert first.payment_intent == intent
    assert first.metadata["order_id"] == "17"
    assert rest.amount == 1500
    assert client.v1.refunds.retrieve(first.id).amount == 1000
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent})
    assert raised.value.code == "charge_already_refunded"
    wait_until(lambda: endpoint.types().count("refund.created") == 2)


def test_a_replayed_refund_refunds_once(client: stripe.StripeClient, simulator: Simulator) -> None:
    intent = paid_intent(client)
    options: stripe.RequestOptions = {"idempotency_key": "refund-18-1"}

    first = client.v1.refunds.create(
        params={"payment_intent": intent, "amount": 500}, options=options
    )
    again = client.v1.refunds.create(
        params={"payment_intent": intent, "amount": 500}, options=options
    )

    assert again.id == first.id
    assert len(simulator.store.refunds) == 1


def test_refunding_more_than_was_paid_is_refused(client: stripe.StripeClient) -> None:
    intent = paid_intent(client)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 2501})

    assert (raised.value.param, raised.value.code) == ("amount", "amount_too_large")
    for amount in (0, -5):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            client.v1.refunds.create(params={"payment_intent": intent, "amount": amount})
        assert raised.value.param == "amount"


def test_an_unpaid_intent_cannot_be_refunded(client: stripe.StripeClient) -> None:
    session = new_session(client)
    post_form(session.url, {"action": "decline"})
    intent = client.v1.checkout.sessions.retrieve(session.id).payment_intent

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent})

    assert raised.value.code == "payment_intent_unexpected_state"


def test_a_refund_needs_a_payment_intent_or_charge(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"metadata": {"a": "b"}})
    assert (raised.value.param, raised.value.code) == ("payment_intent", "parameter_missing")

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.retrieve("re_nope")
    assert raised.value.http_status == 404


def test_a_refund_by_charge_id_works_like_stripes(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.retrieve(paid_intent(client))

    refund = client.v1.refunds.create(params={"charge": intent.latest_charge, "amount": 100})

    assert (refund.payment_intent, refund.charge) == (intent.id, intent.latest_charge)
