"""Idempotency-Key: a retried call gets the first answer; a reused key with other params fails."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import stripe

from services.simulators.stripe import Simulator


def tea(unit_amount: int = 700) -> dict[str, Any]:
    return {
        "mode": "payment",
        "success_url": "http://127.0.0.1:9/ok",
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": unit_amount,
                    "product_data": {"name": "Tea"},
                },
                "quantity": 1,
            }
        ],
    }


def test_same_key_same_params_replays_the_first_response(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "order-17-checkout-1"}

    first = client.v1.checkout.sessions.create(params=tea(), options=options)
    second = client.v1.checkout.sessions.create(params=tea(), options=options)

    assert second.id == first.id
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response.headers.get("Idempotent-Replayed") is None
    assert len(simulator.store.sessions) == 1


def test_same_key_other_params_is_an_idempotency_error(client: stripe.StripeClient) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "order-18-checkout-1"}
    client.v1.checkout.sessions.create(params=tea(700), options=options)

    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.checkout.sessions.create(params=tea(1), options=options)

    assert raised.value.http_status == 400
    assert raised.value.error is not None
    assert raised.value.error.type == "idempotency_error"


def test_a_rejected_request_does_not_use_up_its_key(client: stripe.StripeClient) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "order-19-checkout-1"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(params={"mode": "payment"}, options=options)

    session = client.v1.checkout.sessions.create(params=tea(), options=options)

    assert session.status == "open"


def test_concurrent_calls_with_one_key_create_one_session(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []

    def checkout() -> None:
        try:
            options: stripe.RequestOptions = {"idempotency_key": "order-20-checkout-1"}
            ids.append(client.v1.checkout.sessions.create(params=tea(), options=options).id)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=checkout) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(ids) == 10
    assert len(set(ids)) == 1
    assert len(simulator.store.sessions) == 1


def test_keys_are_scoped_to_the_api_key(simulator: Simulator, client: stripe.StripeClient) -> None:
    other = stripe.StripeClient(
        "sk_test_other_account", base_addresses={"api": simulator.url}, max_network_retries=0
    )
    options: stripe.RequestOptions = {"idempotency_key": "shared-key"}

    mine = client.v1.checkout.sessions.create(params=tea(), options=options)
    theirs = other.v1.checkout.sessions.create(params=tea(), options=options)

    assert mine.id != theirs.id
