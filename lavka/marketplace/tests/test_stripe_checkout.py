"""Card payments through Stripe Checkout, against the Stripe simulator (a real HTTP
server, services/simulators/stripe) that calls the shop's webhook on a live server.

Events are applied here by calling the task's service in the test process (the worker
path is covered by the last test, with a real worker process).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail

from lavka.core.tests.support import wait_until
from lavka.marketplace import payments
from lavka.marketplace.models import Order, OrderEmail, PaymentEvent, Product
from lavka.marketplace.orders import payment_events, services
from lavka.marketplace.payments.stripe_checkout import client as stripe_client
from lavka.marketplace.tests.factories import CouponFactory, ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line
from lavka.marketplace.tests.stripe_helpers import (
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    apply_payment_events,
    order_session_event,
    post_event,
    post_signed,
    stripe_simulator,
)
from services.simulators.stripe.testing import submit_payment_page, wait_idle
from services.simulators.stripe.webhooks import sign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@dataclass
class StripeShop:
    sim: Any
    webhook_url: str

    def place(self, user: Any, product: Product, quantity: int = 1, **kw: Any) -> Order:
        return checkout(user, [line(product, quantity)], provider_code="stripe", **kw).order

    def start(self, order: Order) -> str:
        return payments.provider_of(order).start_payment(order).redirect_url


@pytest.fixture
def stripe_shop(settings: Any, live_server: Any) -> Iterator[StripeShop]:
    with stripe_simulator(settings, live_server) as sim:
        yield StripeShop(sim, live_server.url + WEBHOOK_PATH)


def pending_events() -> int:
    return PaymentEvent.objects.exclude(state="done").count()


def paid_emails() -> int:
    return OrderEmail.objects.filter(kind=OrderEmail.Kind.PAID).count()


def test_paying_on_the_hosted_page_marks_the_order_paid_with_one_email(
    stripe_shop: StripeShop, customer: Any
) -> None:
    product = ProductFactory(stock=3, price=Decimal("12.50"))
    order = stripe_shop.place(customer, product, 2)

    url = stripe_shop.start(order)
    again = stripe_shop.start(order)  # a retried call: our idempotency key, same session
    assert url and url == again
    order.payment.refresh_from_db()
    session_id = order.payment.reference
    assert session_id.startswith("cs_")
    session = stripe_client().v1.checkout.sessions.retrieve(session_id)
    assert session.amount_total == 2500 and session.currency == "eur"
    assert session.client_reference_id == str(order.pk)

    status, target = submit_payment_page(url, "pay")
    assert status == 303 and target.endswith(f"/shop/orders/{order.pk}/?paid={session_id}")
    apply_payment_events(stripe_shop.sim)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not order.review_reason
    assert order.payment.status == "paid" and order.payment.reference == session_id
    assert paid_emails() == 1
    row = OrderEmail.objects.get(kind=OrderEmail.Kind.PAID)
    assert services.send_order_email(order_email_id=row.pk)
    (paid_mail,) = [m for m in mail.outbox if "is paid" in m.subject]
    assert order.number in paid_mail.subject
    product.refresh_from_db()
    assert product.stock == 1


def test_a_discounted_order_is_one_line_for_its_total(
    stripe_shop: StripeShop, customer: Any
) -> None:
    CouponFactory(code="THIRD", kind="percent", value=Decimal("33"))
    product = ProductFactory(stock=5, price=Decimal("9.99"))
    order = stripe_shop.place(customer, product, 3, coupon="third")
    assert order.discount > 0

    stripe_shop.start(order)
    order.payment.refresh_from_db()
    session = stripe_client().v1.checkout.sessions.retrieve(order.payment.reference)
    assert session.amount_total == int(order.total * 100)


def test_decline_and_cancel_leave_the_order_awaiting_payment(
    stripe_shop: StripeShop, customer: Any
) -> None:
    order = stripe_shop.place(customer, ProductFactory(stock=2))
    url = stripe_shop.start(order)

    assert submit_payment_page(url, "decline") == (200, "")  # declined, still open
    status, target = submit_payment_page(url, "cancel")
    assert status == 303 and target.endswith(f"/shop/orders/{order.pk}/")
    apply_payment_events(stripe_shop.sim)

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert not PaymentEvent.objects.exists()
    assert paid_emails() == 0


def test_an_expired_session_cancels_the_order_and_gives_the_stock_back(
    stripe_shop: StripeShop, customer: Any
) -> None:
    product = ProductFactory(stock=4)
    order = stripe_shop.place(customer, product, 3)
    stripe_shop.start(order)
    product.refresh_from_db()
    assert product.stock == 1

    order.payment.refresh_from_db()
    stripe_client().v1.checkout.sessions.expire(order.payment.reference)
    apply_payment_events(stripe_shop.sim)

    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert product.stock == 4
    event = PaymentEvent.objects.get()
    assert event.event_type == "checkout.session.expired" and event.outcome == "cancelled"


def test_a_payment_the_bank_refuses_later_cancels_the_order(
    stripe_shop: StripeShop, customer: Any
) -> None:
    product = ProductFactory(stock=1)
    order = stripe_shop.place(customer, product)
    submit_payment_page(stripe_shop.start(order), "debit_fails")
    apply_payment_events(stripe_shop.sim)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert set(PaymentEvent.objects.values_list("outcome", flat=True)) == {"ignored", "cancelled"}


def test_a_bank_debit_that_succeeds_marks_the_order_paid(
    stripe_shop: StripeShop, customer: Any
) -> None:
    order = stripe_shop.place(customer, ProductFactory(stock=1))
    submit_payment_page(stripe_shop.start(order), "debit_succeeds")
    apply_payment_events(stripe_shop.sim)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert paid_emails() == 1


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=1,v1=00",
        "garbage",
        "wrong secret",
        "stale",
    ],
)
def test_a_bad_or_missing_signature_is_400_and_writes_nothing(
    stripe_shop: StripeShop, customer: Any, signature: str
) -> None:
    order = stripe_shop.place(customer, ProductFactory(stock=1))
    stripe_shop.start(order)
    body = json.dumps(order_session_event(order)).encode()
    if signature == "wrong secret":
        signature = sign(body, "whsec_other", int(time.time()))
    elif signature == "stale":
        signature = sign(body, WEBHOOK_SECRET, int(time.time()) - 3600)

    assert post_signed(stripe_shop.webhook_url, body, signature=signature) == 400
    assert not PaymentEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT


def test_a_tampered_body_is_400_and_writes_nothing(stripe_shop: StripeShop, customer: Any) -> None:
    order = stripe_shop.place(customer, ProductFactory(stock=1))
    stripe_shop.start(order)
    body = json.dumps(order_session_event(order)).encode()
    signature = sign(body, WEBHOOK_SECRET, int(time.time()))
    tampered = body.replace(b'"amount_total": ', b'"amount_total": 1')

    assert post_signed(stripe_shop.webhook_url, tampered, signature=signature) == 400
    assert post_signed(stripe_shop.webhook_url, b"\x00" * 10, signature=signature) == 400
    assert not PaymentEvent.objects.exists()


def test_the_webhook_takes_only_post(client: Any, stripe_shop: StripeShop) -> None:
    assert client.get("/shop/stripe/webhook/").status_code == 405
    response = client.post("/shop/stripe/webhook/", data=b"{}", content_type="application/json")
    assert response.status_code == 400  # no signature
    assert not PaymentEvent.objects.exists()


def test_a_replayed_event_has_one_effect(stripe_shop: StripeShop, customer: Any) -> None:
    stripe_shop.sim.control_update({"duplicate": True})
    order = stripe_shop.place(customer, ProductFactory(stock=1))
    submit_payment_page(stripe_shop.start(order), "pay")
    wait_idle(stripe_shop.sim)
    deliveries = stripe_shop.sim.control_events()
    assert PaymentEvent.objects.count() == 1
    apply_payment_events()

    # and once more by hand, after it was applied
    assert post_event(stripe_shop.webhook_url, PaymentEvent.objects.get().payload) == 200
    apply_payment_events()

    assert PaymentEvent.objects.count() == 1, deliveries
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert paid_emails() == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"amount_total": 1}, "minor units"), ({"currency": "usd"}, "USD")],
)
def test_an_amount_or_currency_mismatch_flags_the_order_instead_of_paying_it(
    stripe_shop: StripeShop,
    customer: Any,
    manager: Any,
    client: Any,
    change: dict[str, Any],
    reason: str,
) -> None:
    order = stripe_shop.place(customer, ProductFactory(stock=1, price=Decimal("30.00")))
    stripe_shop.start(order)

    assert post_event(stripe_shop.webhook_url, order_session_event(order, **change)) == 200
    apply_payment_events()

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert reason in order.review_reason
    assert PaymentEvent.objects.get().outcome == "flagged"
    assert paid_emails() == 0
    client.force_login(manager)
    page = client.get(f"/shop/staff/orders/{order.pk}/").content.decode()
    assert "Needs review:" in page and reason in page
    assert "needs review" in client.get("/shop/staff/orders/").content.decode()


def test_a_late_expired_does_not_cancel_a_paid_order(
    stripe_shop: StripeShop, customer: Any
) -> None:
    order = stripe_shop.place(customer, ProductFactory(stock=1))
    stripe_shop.start(order)
    for kind in ("completed", "expired"):
        assert post_event(stripe_shop.webhook_url, order_session_event(order, kind))
    apply_payment_events()

    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_a_payment_after_the_order_was_cancelled_is_flagged_not_applied(
    stripe_shop: StripeShop, customer: Any
) -> None:
    """Completed after expired (out of order, or the stock hold ran out first): the stock
    went back on sale, so the payment is for staff to refund or settle by hand."""
    product = ProductFactory(stock=1)
    order = stripe_shop.place(customer, product)
    stripe_shop.start(order)
    for kind in ("expired", "completed"):
        assert post_event(stripe_shop.webhook_url, order_session_event(order, kind)) == 200
    apply_payment_events()

    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert "refund" in order.review_reason
    assert product.stock == 1
    assert paid_emails() == 0


def test_storm_of_fifty_deliveries_from_twenty_threads_and_a_late_expired(
    stripe_shop: StripeShop, customer: Any
) -> None:
    """Issue 9's webhook storm: one state change, one email."""
    order = stripe_shop.place(customer, ProductFactory(stock=1))
    stripe_shop.start(order)
    completed = json.dumps(order_session_event(order, "completed")).encode()
    expired = json.dumps(order_session_event(order, "expired")).encode()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(lambda _i: post_signed(stripe_shop.webhook_url, completed), range(50))
        )
    assert answers == [200] * 50
    assert post_signed(stripe_shop.webhook_url, expired) == 200
    assert PaymentEvent.objects.count() == 2
    # workers racing for the same rows too
    pks = list(PaymentEvent.objects.order_by("pk").values_list("pk", flat=True))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda pk: payment_events.process_event(event_pk=pk), pks[::-1] * 4))
    # an expired taken before the payment waited for it; it is due again shortly
    assert wait_until(lambda: (apply_payment_events(), not pending_events())[1], timeout=90)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert paid_emails() == 1
    outcomes = dict(PaymentEvent.objects.values_list("event_type", "outcome"))
    assert outcomes == {
        "checkout.session.completed": "paid",
        "checkout.session.expired": "ignored",
    }


def test_the_simulator_down_gives_a_clear_error_and_keeps_the_order(
    settings: Any, customer: Any
) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_lavka"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens
    settings.LAVKA_PAYMENT_PROVIDERS = ["bank_transfer", "stripe"]
    order = checkout(customer, [line(ProductFactory(stock=1))], provider_code="stripe").order

    with pytest.raises(payments.PaymentError, match="could not be started"):
        payments.provider_of(order).start_payment(order)
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert order.payment.reference == ""


def test_an_api_error_is_retried_with_the_same_key(stripe_shop: StripeShop, customer: Any) -> None:
    stripe_shop.sim.control_update({"error_requests": 1})
    order = stripe_shop.place(customer, ProductFactory(stock=1))
    assert stripe_shop.start(order)


def test_a_checkout_by_card_goes_to_the_hosted_page_and_an_error_keeps_the_order(
    stripe_shop: StripeShop, customer: Any, client: Any, settings: Any
) -> None:
    """The checkout page: "Card (test mode)" is offered and says so; choosing it sends
    the customer to the payment page, or, when Stripe cannot be reached, to the order's
    page with the reason (the order kept, awaiting payment)."""
    client.force_login(customer)
    product = ProductFactory(stock=2)
    client.post("/shop/cart/add/", {"product": product.pk, "quantity": 1})
    page = client.get("/shop/checkout/")
    assert "Card (test mode)" in page.content.decode()
    assert "test mode: no real money moves" in page.content.decode()
    form = page.context["form"]
    data = {
        "full_name": "Card Buyer",
        "email": customer.email,
        "address": "1 Main St",
        "payment_method": "stripe",
        "checkout_token": form.initial["checkout_token"],
    }
    response = client.post("/shop/checkout/", data)
    assert response.status_code == 302
    assert response["Location"].startswith(stripe_shop.sim.url + "/c/pay/")

    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable
    client.post("/shop/cart/add/", {"product": product.pk, "quantity": 1})
    token = client.get("/shop/checkout/").context["form"].initial["checkout_token"]
    response = client.post("/shop/checkout/", {**data, "checkout_token": token}, follow=True)
    second = Order.objects.order_by("-pk").first()
    assert response.redirect_chain[-1][0] == f"/shop/orders/{second.pk}/"
    assert "cannot be reached" in response.content.decode()
    assert second.status == Order.Status.AWAITING_PAYMENT


@pytest.mark.worker
def test_the_whole_path_through_a_real_worker(
    stripe_shop: StripeShop, customer: Any, celery_worker_process: Any, mail_sink: Any
) -> None:
    """Hosted page → simulator's signed webhook → live server stores the event → a real
    worker applies it → one "order paid" email, even with every event delivered twice."""
    stripe_shop.sim.control_update({"duplicate": True})
    order = stripe_shop.place(customer, ProductFactory(stock=1, title_en="Kettle"))
    submit_payment_page(stripe_shop.start(order), "pay")
    wait_idle(stripe_shop.sim)

    paid = wait_until(
        lambda: Order.objects.filter(pk=order.pk, status=Order.Status.PAID).exists(), timeout=60
    )
    assert paid, f"not paid; worker log:\n{celery_worker_process.log_tail()}"
    mails = wait_until(
        lambda: [m for m in mail_sink(customer.email) if "is paid" in str(m.subject)] or None,
        timeout=60,
    )
    assert mails and len(mails) == 1, celery_worker_process.log_tail()
    assert PaymentEvent.objects.get().outcome == "paid"


def test_a_crash_before_the_session_id_was_saved_gets_the_same_session_back(
    stripe_shop: StripeShop, customer: Any
) -> None:
    """Our idempotency key, not the stored reference, is what prevents a second session."""
    order = stripe_shop.place(customer, ProductFactory(stock=1))
    first = stripe_shop.start(order)
    order.payment.refresh_from_db()
    session_id = order.payment.reference
    type(order.payment).objects.filter(pk=order.payment.pk).update(reference="")  # the crash

    assert stripe_shop.start(order) == first
    order.payment.refresh_from_db()
    assert order.payment.reference == session_id


def test_pay_now_returns_to_the_open_session_and_refuses_a_closed_one(
    stripe_shop: StripeShop, customer: Any, other_customer: Any, client: Any
) -> None:
    order = stripe_shop.place(customer, ProductFactory(stock=2))
    url = stripe_shop.start(order)
    pay = f"/shop/orders/{order.pk}/pay/"

    client.force_login(other_customer)
    assert client.post(pay).status_code == 404
    client.force_login(customer)
    assert client.get(f"/shop/orders/{order.pk}/").context["pays_online"]
    assert client.get(pay).status_code == 405
    response = client.post(pay)
    assert response.status_code == 302 and response["Location"] == url

    paid_page = client.get(f"/shop/orders/{order.pk}/?paid=cs_x").content.decode()
    assert "being confirmed" in paid_page

    order.payment.refresh_from_db()
    stripe_shop.sim.control_update({"delay_seconds": 30})  # the expiry's event comes later
    stripe_client().v1.checkout.sessions.expire(order.payment.reference)
    response = client.post(pay, follow=True)
    assert response.redirect_chain[-1][0] == f"/shop/orders/{order.pk}/"
    assert "This card payment is closed" in response.content.decode()

    manual = checkout(customer, [line(ProductFactory(stock=1))]).order  # bank transfer
    response = client.post(f"/shop/orders/{manual.pk}/pay/", follow=True)
    assert "cannot be paid online" in response.content.decode()


def test_an_expired_taken_before_the_payment_of_its_session_waits_for_it(
    stripe_shop: StripeShop, customer: Any
) -> None:
    order = stripe_shop.place(customer, ProductFactory(stock=1))
    stripe_shop.start(order)
    for kind in ("completed", "expired"):
        assert post_event(stripe_shop.webhook_url, order_session_event(order, kind))
    completed, expired = PaymentEvent.objects.order_by("pk")

    assert not payment_events.process_event(event_pk=expired.pk)  # yields to the payment
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert payment_events.process_event(event_pk=completed.pk)
    assert wait_until(lambda: payment_events.process_event(event_pk=expired.pk), timeout=90)

    order.refresh_from_db()
    expired.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert expired.outcome == "ignored"
