"""The hosted page: Pay, Decline, bank debit, Cancel, and what the shop then receives."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import stripe

from services.simulators.stripe import Simulator

from .conftest import (
    WEBHOOK_SECRET,
    Endpoint,
    control,
    get_page,
    new_session,
    post_form,
    settled,
    wait_until,
)


def verified_events(endpoint: Endpoint) -> list[Any]:
    return [
        stripe.Webhook.construct_event(r.body, r.headers["Stripe-Signature"], WEBHOOK_SECRET)
        for r in list(endpoint.received)
    ]


def test_the_page_says_test_mode_and_escapes_what_the_shop_sent(
    client: stripe.StripeClient,
) -> None:
    session = new_session(
        client,
        line_items=[
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1999,
                    "product_data": {"name": "<script>alert(1)</script> Mug"},
                },
                "quantity": 1,
            }
        ],
    )

    status, html = get_page(session.url)

    assert status == 200
    assert "Test mode — no real money" in html
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Mug" in html
    assert "19.99 EUR" in html
    for label in ("Pay 19.99 EUR", "Decline", "bank debit", "Cancel"):
        assert label in html


def test_pay_completes_the_session_redirects_and_sends_completed(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    session = new_session(client, metadata={"order_id": "17"})

    status, headers, _ = post_form(session.url, {"action": "pay", "email": "payer@example.com"})

    assert status == 303
    assert headers["Location"] == f"http://127.0.0.1:9/shop/paid/?session={session.id}"
    paid = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert paid.payment_intent.id.startswith("pi_")
    assert paid.payment_intent.status == "succeeded"
    assert paid.payment_intent.amount_received == 2500
    assert paid.customer_details.email == "payer@example.com"
    wait_until(lambda: endpoint.received)
    (event,) = verified_events(endpoint)
    assert event.type == "checkout.session.completed"
    assert event.data.object.id == session.id
    assert event.data.object.payment_status == "paid"
    assert event.data.object.metadata["order_id"] == "17"
    assert event.data.object.amount_total == 2500


def test_paying_twice_at_once_completes_once(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    session = new_session(client)
    statuses: list[int] = []

    def click() -> None:
        statuses.append(post_form(session.url, {"action": "pay"})[0])

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [303] + [409] * 7
    log = settled(simulator)
    assert [e["type"] for e in log["data"]] == ["checkout.session.completed"]


def test_decline_keeps_the_session_open_and_sends_nothing(
    client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    session = new_session(client)

    status, _, html = post_form(session.url, {"action": "decline"})

    assert status == 200
    assert "declined" in html
    declined = client.v1.checkout.sessions.retrieve(session.id)
    assert (declined.status, declined.payment_status) == ("open", "unpaid")
    assert (
        client.v1.payment_intents.retrieve(declined.payment_intent).status
        == "requires_payment_method"
    )
    assert settled(simulator)["data"] == []
    # and the payer can still pay, on the same payment intent
    assert post_form(session.url, {"action": "pay"})[0] == 303
    assert (
        client.v1.checkout.sessions.retrieve(session.id).payment_intent == declined.payment_intent
    )


def test_cancel_returns_to_the_shop_and_leaves_the_session_open(
    client: stripe.StripeClient,
) -> None:
    session = new_session(client)

    status, headers, _ = post_form(session.url, {"action": "cancel"})

    assert (status, headers["Location"]) == (303, "http://127.0.0.1:9/shop/cart/")
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


@pytest.mark.parametrize(
    ("action", "outcome", "final_status"),
    [
        ("debit_succeeds", "checkout.session.async_payment_succeeded", "paid"),
        ("debit_fails", "checkout.session.async_payment_failed", "unpaid"),
    ],
)
def test_bank_debit_completes_unpaid_then_settles(
    client: stripe.StripeClient,
    simulator: Simulator,
    endpoint: Endpoint,
    action: str,
    outcome: str,
    final_status: str,
) -> None:
    session = new_session(client)

    status, headers, _ = post_form(session.url, {"action": action})

    assert status == 303
    assert session.id in headers["Location"]
    wait_until(lambda: len(endpoint.received) == 2)
    completed, settled_event = verified_events(endpoint)
    assert completed.type == "checkout.session.completed"
    assert completed.data.object.payment_status == "unpaid"
    assert settled_event.type == outcome
    assert settled_event.data.object.payment_status == final_status
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == final_status


def test_a_closed_session_cannot_be_paid_from_its_page(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    session = new_session(client)
    client.v1.checkout.sessions.expire(session.id)

    status, html = get_page(session.url)
    post_status, _, _ = post_form(session.url, {"action": "pay"})

    assert status == 200 and "expired" in html and "value=pay" not in html
    assert post_status == 409
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"
    assert [e["type"] for e in settled(simulator)["data"]] == ["checkout.session.expired"]


def test_a_free_session_needs_no_payment(client: stripe.StripeClient) -> None:
    session = new_session(
        client,
        line_items=[
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 0,
                    "product_data": {"name": "Free zine"},
                },
                "quantity": 1,
            }
        ],
    )

    post_form(session.url, {"action": "pay"})

    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status, done.payment_intent) == (
        "complete",
        "no_payment_required",
        None,
    )


def test_an_unknown_session_page_is_404_and_locale_ru_is_russian(
    client: stripe.StripeClient, simulator: Simulator
) -> None:
    assert get_page(f"{simulator.url}/c/pay/cs_test_nope")[0] == 404
    assert post_form(f"{simulator.url}/c/pay/cs_test_nope", {"action": "pay"})[0] == 404

    html = get_page(new_session(client, locale="ru").url)[1]

    assert "Тестовый режим — без настоящих денег" in html


@pytest.mark.browser
def test_a_payer_clicks_pay_in_chromium_and_lands_back_at_the_shop(
    chromium: Any, client: stripe.StripeClient, simulator: Simulator, endpoint: Endpoint
) -> None:
    shop = endpoint.url.rsplit("/shop/", 1)[0]
    session = new_session(
        client,
        success_url=shop + "/shop/paid/?session={CHECKOUT_SESSION_ID}",
        cancel_url=shop + "/shop/cart/",
    )
    page = chromium.new_page()

    page.goto(session.url)
    page.get_by_label("Email").fill("payer@example.com")
    page.get_by_role("button", name="Pay 25.00 EUR").click()
    page.wait_for_url(f"{shop}/shop/paid/?session={session.id}")

    assert session.id in page.inner_text("h1")
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    wait_until(lambda: "checkout.session.completed" in endpoint.types())
    control(simulator)
