"""Stripe's error shapes and statuses, seen through stripe-python's exception classes."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe

from services.simulators.stripe import Config, Simulator

from .conftest import new_session


def raw_post(
    sim: Simulator, path: str, body: bytes, key: str | None = "sk_test_raw"
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(sim.url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_missing_key_is_a_401_authentication_error(simulator: Simulator) -> None:
    status, body = raw_post(simulator, "/v1/checkout/sessions", b"mode=payment", key=None)

    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in body["error"]["message"]


def test_live_and_malformed_keys_are_refused(simulator: Simulator) -> None:
    for key in ("sk_live_abc123", "pk_test_abc123", "sk_test_", "nonsense"):
        client = stripe.StripeClient(
            key, base_addresses={"api": simulator.url}, max_network_retries=0
        )
        with pytest.raises(stripe.AuthenticationError) as raised:
            new_session(client)
        assert raised.value.http_status == 401
        assert key not in str(raised.value.user_message) or len(key) <= 12


def test_a_configured_key_is_the_only_one_accepted(endpoint: object) -> None:
    sim = Simulator(Config(port=0, api_key="sk_test_only_this")).start()
    try:
        wrong = stripe.StripeClient(
            "sk_test_another", base_addresses={"api": sim.url}, max_network_retries=0
        )
        right = stripe.StripeClient(
            "sk_test_only_this", base_addresses={"api": sim.url}, max_network_retries=0
        )
        with pytest.raises(stripe.AuthenticationError):
            new_session(wrong)
        assert new_session(right).status == "open"
    finally:
        sim.stop()


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"mode": None}, "mode", "parameter_missing"),
        ({"success_url": None}, "success_url", "parameter_missing"),
        ({"success_url": "javascript:alert(1)"}, "success_url", "url_invalid"),
        ({"line_items": None}, "line_items", "parameter_missing"),
        ({"customer_email": "not-an-email"}, "customer_email", "email_invalid"),
        ({"surprise": "1"}, "surprise", "parameter_unknown"),
        ({"metadata": {"note": "x" * 501}}, "metadata[note]", "parameter_invalid_string"),
        ({"client_reference_id": "r" * 201}, "client_reference_id", "parameter_invalid_string"),
    ],
)
def test_bad_session_params_name_the_param(
    client: stripe.StripeClient, change: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        new_session(client, **change)

    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert raised.value.code == code


@pytest.mark.parametrize(
    ("price_data", "quantity", "param", "code"),
    [
        (
            {"currency": "eur", "unit_amount": -1, "product_data": {"name": "M"}},
            1,
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
        ),
        (
            {"currency": "eur", "unit_amount": "12.50", "product_data": {"name": "M"}},
            1,
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
        ),
        (
            {"currency": "eur", "unit_amount": 100, "product_data": {"name": "M"}},
            0,
            "line_items[0][quantity]",
            "parameter_invalid_integer",
        ),
        (
            {"currency": "eur", "unit_amount": 100, "product_data": {"name": "M"}},
            "two",
            "line_items[0][quantity]",
            "parameter_invalid_integer",
        ),
        (
            {"currency": "eur", "unit_amount": 100, "product_data": {"description": "no name"}},
            1,
            "line_items[0][price_data][product_data][name]",
            "parameter_missing",
        ),
        (
            {"currency": "euro", "unit_amount": 100, "product_data": {"name": "M"}},
            1,
            "line_items[0][price_data][currency]",
            "parameter_invalid_string",
        ),
        (
            {"unit_amount": 100, "product_data": {"name": "M"}},
            1,
            "line_items[0][price_data][currency]",
            "parameter_missing",
        ),
        (
            {"currency": "eur", "product_data": {"name": "M"}},
            1,
            "line_items[0][price_data][unit_amount]",
            "parameter_missing",
        ),
        (
            {"currency": "eur", "unit_amount": 99_999_999, "product_data": {"name": "M"}},
            2,
            "line_items[0][quantity]",
            "amount_too_large",
        ),
    ],
)
def test_bad_line_items_name_the_bracket_path(
    client: stripe.StripeClient, price_data: dict[str, Any], quantity: Any, param: str, code: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        new_session(client, line_items=[{"price_data": price_data, "quantity": quantity}])

    assert (raised.value.param, raised.value.code) == (param, code)


def test_unknown_objects_are_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert "No such checkout.session: 'cs_test_nope'" in str(raised.value.user_message)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": "pi_nope"})
    assert (raised.value.http_status, raised.value.param) == (404, "payment_intent")


def test_unknown_urls_are_404(simulator: Simulator) -> None:
    status, body = raw_post(simulator, "/v1/customers", b"email=a@example.com")

    assert status == 404
    assert "Unrecognized request URL" in body["error"]["message"]


def test_nul_bytes_and_mixed_shapes_are_refused(simulator: Simulator) -> None:
    status, body = raw_post(simulator, "/v1/checkout/sessions", b"mode=pay%00ment")
    assert status == 400 and "NUL" in body["error"]["message"]

    status, body = raw_post(simulator, "/v1/checkout/sessions", b"metadata=x&metadata[a]=b")
    assert status == 400 and body["error"]["param"] == "metadata[a]"

    status, body = raw_post(simulator, "/v1/checkout/sessions", b"mode=payment&line%5Bitems=1")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"

    status, body = raw_post(simulator, "/v1/checkout/sessions", b"mode=payment&%FF=1")
    assert status == 400


def test_an_oversized_body_is_refused_without_being_read(simulator: Simulator) -> None:
    """Only the headers go out: the simulator answers from the declared length, so the
    test does not race the server closing the socket while a 2 MB body is still sent."""
    connection = http.client.HTTPConnection(urlsplit(simulator.url).netloc, timeout=5)
    connection.putrequest("POST", "/v1/checkout/sessions")
    connection.putheader("Authorization", "Bearer sk_test_raw")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(2 * 1024 * 1024))
    connection.endheaders(b"metadata[a]=xxxx")
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()

    assert response.status == 413
    assert "too large" in body["error"]["message"]


def test_odd_array_indexes_are_ordered_or_refused_not_crashing(simulator: Simulator) -> None:
    lines = (
        b"mode=payment&success_url=http://127.0.0.1:9/ok"
        b"&line_items[00][price_data][currency]=eur&line_items[00][price_data][unit_amount]=100"
        b"&line_items[00][price_data][product_data][name]=A&line_items[00][quantity]=1"
        b"&line_items[7][price_data][currency]=eur&line_items[7][price_data][unit_amount]=200"
        b"&line_items[7][price_data][product_data][name]=B&line_items[7][quantity]=1"
    )
    status, body = raw_post(simulator, "/v1/checkout/sessions", lines)
    assert (status, body["amount_total"]) == (200, 300)

    status, body = raw_post(
        simulator,
        "/v1/checkout/sessions",
        "mode=payment&success_url=http://127.0.0.1:9/ok&line_items[²]=x".encode(),
    )
    assert status == 400 and body["error"]["param"] == "line_items"

    status, body = raw_post(simulator, "/v1/checkout/sessions", b"line_items[5000]=x")
    assert status == 400 and "at most" in body["error"]["message"]


def test_an_unknown_expansion_creates_nothing(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        new_session(client, expand=["customer"])

    assert raised.value.param == "expand"
    assert simulator.store.sessions == {}
