"""Card refunds through the Stripe simulator (a real HTTP server, services/simulators/
stripe): requested on the staff page, made by the background task outside the request's
transaction with our idempotency key, retried when Stripe is busy, left for a person
when Stripe refuses, and never made twice. The refund task's service is called in the
test process; the last test runs it in a real worker."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lavka.core import work
from lavka.core.tests.support import start_worker, wait_until
from lavka.marketplace import payments
from lavka.marketplace.models import Order, OrderEmail, OrderRefund, PaymentEvent, Product
from lavka.marketplace.orders import actions, payment_events, services
from lavka.marketplace.payments.stripe_checkout import client as stripe_client
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line
from lavka.marketplace.tests.stripe_helpers import apply_payment_events, stripe_simulator
from services.simulators.stripe.testing import submit_payment_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REFUND = {"reason": "Arrived broken", "confirm": "on"}


@pytest.fixture
def sim(settings: Any) -> Iterator[Any]:
    with stripe_simulator(settings) as simulator:
        yield simulator


def paid_by_card(customer: Any, product: Product, quantity: int = 1) -> Order:
    """Checkout, pay on the simulator's hosted page, and apply the payment as the
    webhook would (the webhook's own path is test_stripe_checkout's)."""
    order = checkout(customer, [line(product, quantity)], provider_code="stripe").order
    url = payments.provider_of(order).start_payment(order).redirect_url
    assert submit_payment_page(url, "pay")[0] == 303
    order.payment.refresh_from_db()
    return services.mark_paid(order=order, reference=order.payment.reference)


def intent_of(order: Order) -> str:
    order.payment.refresh_from_db()
    return str(
        stripe_client().v1.checkout.sessions.retrieve(order.payment.reference).payment_intent
    )


def request_refund(manager: Any, order: Order) -> OrderRefund:
    return actions.RefundOrder(manager, order=order, reason="Arrived broken").execute()


def time_passes(refund: OrderRefund) -> None:
    """The retry's backoff has run out (rather than waiting for it)."""
    OrderRefund.objects.filter(pk=refund.pk).update(not_before=None)


def test_a_card_refund_is_made_by_the_task_once_then_the_order_is_refunded(
    sim: Any, client: Client, manager: Any, customer: Any
) -> None:
    product = ProductFactory(stock=3, price=Decimal("12.50"))
    order = paid_by_card(customer, product, 2)
    client.force_login(manager)

    page = client.post(f"/shop/staff/orders/{order.pk}/refund/", REFUND, follow=True)

    text = page.content.decode()
    assert f"The refund of order {order.number} is requested" in text
    assert "requested, waiting for the payment provider" in text
    assert 'data-testid="refund-order"' not in text
    refund = OrderRefund.objects.get(order=order)
    order.refresh_from_db()
    # nothing was called inside the request: Stripe has no refund, the order stays paid
    assert not sim.store.refunds and order.status == Order.Status.PAID
    assert refund.state == "pending" and refund.queued_at is not None
    again = client.post(f"/shop/staff/orders/{order.pk}/refund/", REFUND, follow=True)
    assert "A refund of this order is under way already." in again.content.decode()

    assert services.process_refund(refund_id=refund.pk)
    assert not services.process_refund(refund_id=refund.pk)  # a duplicate message

    (made,) = sim.store.refunds.values()
    assert (made.amount, made.payment_intent) == (2500, intent_of(order))
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == "done" and refund.reference == made.id and refund.refunded_at
    assert order.status == Order.Status.REFUNDED and order.payment.status == "refunded"
    assert Product.objects.get(pk=product.pk).stock == 3
    assert OrderEmail.objects.filter(order=order, kind="refunded").count() == 1
    detail = client.get(f"/shop/staff/orders/{order.pk}/").content.decode()
    assert made.id in detail and "refunded at" in detail


def test_an_order_is_not_archived_while_its_refund_is_under_way(
    sim: Any, manager: Any, customer: Any
) -> None:
    order = paid_by_card(customer, ProductFactory(stock=1))
    refund = request_refund(manager, order)

    with pytest.raises(services.OrderStateRefused, match="under way"):
        services.archive_order(order=order)
    assert services.process_refund(refund_id=refund.pk)
    assert services.archive_order(order=order).status == Order.Status.ARCHIVED


def test_a_worker_that_died_after_stripe_refunded_does_not_refund_twice(
    sim: Any, manager: Any, customer: Any
) -> None:
    order = paid_by_card(customer, ProductFactory(stock=1))
    refund = request_refund(manager, order)
    claimed = work.claim_one(OrderRefund.objects.filter(pk=refund.pk))
    assert claimed is not None
    first = payments.provider_of(order).refund(order)  # its call, then it died

    # the broker redelivers the task to another worker, which takes the row over
    assert services.process_refund(refund_id=refund.pk, take_over=True)

    assert list(sim.store.refunds) == [first]
    refund.refresh_from_db()
    assert refund.reference == first and refund.state == "done"


def test_stripe_busy_429_is_retried_later_and_refunds_once(
    sim: Any, manager: Any, customer: Any
) -> None:
    product = ProductFactory(stock=2)
    order = paid_by_card(customer, product)
    refund = request_refund(manager, order)
    sim.control_update({"rate_limit_requests": 1})

    assert not services.process_refund(refund_id=refund.pk)

    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == "pending" and refund.attempts == 1
    assert refund.not_before is not None and refund.not_before > timezone.now()
    assert "busy or out of reach (429)" in refund.last_error
    assert order.status == Order.Status.PAID and not sim.store.refunds
    assert not services.process_refund(refund_id=refund.pk)  # not due yet

    time_passes(refund)
    assert services.process_refund(refund_id=refund.pk)

    assert len(sim.store.refunds) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert Product.objects.get(pk=product.pk).stock == 2


def test_stripe_failing_the_first_requests_is_retried_until_it_refunds_once(
    sim: Any, manager: Any, customer: Any
) -> None:
    order = paid_by_card(customer, ProductFactory(stock=1))
    refund = request_refund(manager, order)
    # four 500s: all three tries of the first run (stripe-python retries twice), and
    # one that stripe-python's retry absorbs in the second
    sim.control_update({"error_requests": 4})

    assert not services.process_refund(refund_id=refund.pk)
    time_passes(refund)
    assert services.process_refund(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.state == "done" and refund.attempts == 1
    assert len(sim.store.refunds) == 1


def test_stripe_down_for_every_attempt_ends_failed_and_shown(
    sim: Any, client: Client, manager: Any, customer: Any
) -> None:
    order = paid_by_card(customer, ProductFactory(stock=1))
    refund = request_refund(manager, order)
    OrderRefund.objects.filter(pk=refund.pk).update(attempts=OrderRefund.max_attempts - 1)
    sim.control_update({"error_requests": 3})

    assert not services.process_refund(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.state == "failed" and "busy or out of reach (500)" in refund.last_error
    client.force_login(manager)
    page = client.get(f"/shop/staff/orders/{order.pk}/").content.decode()
    assert 'data-testid="refund-error"' in page and "(500)" in page


def test_a_refund_stripe_refuses_waits_for_a_person_who_may_ask_again(
    sim: Any, client: Client, manager: Any, customer: Any
) -> None:
    product = ProductFactory(stock=2)
    order = paid_by_card(customer, product)
    # part of it refunded in Stripe's dashboard meanwhile: the full amount is too large
    stripe_client().v1.refunds.create(params={"payment_intent": intent_of(order), "amount": 100})
    refund = request_refund(manager, order)

    assert not services.process_refund(refund_id=refund.pk)

    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == "attention" and "amount_too_large" in refund.last_error
    assert order.status == Order.Status.PAID
    assert Product.objects.get(pk=product.pk).stock == 1
    assert len(sim.store.refunds) == 1
    client.force_login(manager)
    page = client.get(f"/shop/staff/orders/{order.pk}/").content.decode()
    assert 'data-testid="refund-error"' in page and "Stripe refused the refund" in page
    again = client.post(f"/shop/staff/orders/{order.pk}/refund/", REFUND, follow=True)
    assert "under way" not in again.content.decode()
    refund.refresh_from_db()
    assert (refund.state, refund.attempts, refund.last_error) == ("pending", 0, "")
    assert OrderRefund.objects.count() == 1  # the same row, asked for again


def test_a_payment_refunded_in_the_dashboard_before_our_refund_settles_it(
    sim: Any, manager: Any, customer: Any
) -> None:
    """Stripe answers charge_already_refunded: the money is back, so the order is
    refunded, its stock returned and the customer told, not left waiting for a person."""
    product = ProductFactory(stock=2)
    order = paid_by_card(customer, product)
    stripe_client().v1.refunds.create(params={"payment_intent": intent_of(order)})
    refund = request_refund(manager, order)

    assert services.process_refund(refund_id=refund.pk)

    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == "done" and refund.refunded_at is not None
    assert order.status == Order.Status.REFUNDED
    assert Product.objects.get(pk=product.pk).stock == 2
    assert OrderEmail.objects.filter(order=order, kind=OrderEmail.Kind.REFUNDED).count() == 1


def test_two_staff_refunding_a_card_order_at_once_refund_once(
    sim: Any, user_factory: Any, customer: Any
) -> None:
    from lavka.core.roles import Role
    from lavka.marketplace.tests.orders_helpers import run_in_threads

    order = paid_by_card(customer, ProductFactory(stock=1))
    staff = [user_factory(email=f"m{i}@example.com", roles=[Role.MANAGER]) for i in range(5)]

    results = run_in_threads([lambda user=user: request_refund(user, order) for user in staff])
    refund = OrderRefund.objects.get()
    worked = run_in_threads(
        [lambda: services.process_refund(refund_id=refund.pk) for _ in range(4)]
    )

    assert sum(isinstance(r, OrderRefund) for r in results) == 1, results
    assert sum(isinstance(r, services.OrderStateRefused) for r in results) == 4
    assert worked.count(True) == 1, worked
    assert len(sim.store.refunds) == 1


@pytest.mark.worker
def test_a_refund_through_a_real_worker(
    sim: Any, client: Client, manager: Any, customer: Any, tmp_path: Path
) -> None:
    """The task starts after the request's commit, in another process that reaches the
    simulator on its own."""

    order = paid_by_card(customer, ProductFactory(stock=1))
    from lavka.core.tests.support import purge_queues

    purge_queues()
    worker = start_worker(
        tmp_path,
        extra_env={"STRIPE_SECRET_KEY": "sk_test_lavka", "STRIPE_API_BASE": sim.url},
    )
    try:
        client.force_login(manager)
        client.post(f"/shop/staff/orders/{order.pk}/refund/", REFUND)
        refunded = wait_until(
            lambda: Order.objects.filter(pk=order.pk, status=Order.Status.REFUNDED).exists(),
            timeout=60,
        )
        assert refunded, worker.log_tail()
    finally:
        worker.stop()
    assert len(sim.store.refunds) == 1


# --- refunds Stripe tells us of (refund.created webhooks) ----------------------------------


@pytest.fixture
def hooked_sim(settings: Any, live_server: Any) -> Iterator[Any]:
    """The simulator delivering every event twice to the live server's webhook."""
    with stripe_simulator(settings, live_server, duplicate=True) as simulator:
        yield simulator


def paid_through_webhook(simulator: Any, customer: Any, product: Product) -> Order:
    order = checkout(customer, [line(product)], provider_code="stripe").order
    submit_payment_page(payments.provider_of(order).start_payment(order).redirect_url, "pay")
    apply_payment_events(simulator)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def test_a_refund_made_in_stripes_dashboard_refunds_the_order_once(
    hooked_sim: Any, customer: Any
) -> None:
    product = ProductFactory(stock=2, price=Decimal("8.00"))
    order = paid_through_webhook(hooked_sim, customer, product)

    made = stripe_client().v1.refunds.create(params={"payment_intent": intent_of(order)})
    apply_payment_events(hooked_sim)

    order.refresh_from_db()
    refund = OrderRefund.objects.get()
    assert order.status == Order.Status.REFUNDED
    assert (refund.state, refund.reference, refund.requested_by) == ("done", made.id, None)
    assert "dashboard" in refund.reason
    assert Product.objects.get(pk=product.pk).stock == 2
    assert OrderEmail.objects.filter(order=order, kind="refunded").count() == 1
    event = PaymentEvent.objects.get(event_type="refund.created")  # delivered twice, kept once
    assert event.outcome == "refunded" and event.order == order
    assert len(hooked_sim.store.refunds) == 1


def test_our_own_refunds_event_changes_nothing_more(
    hooked_sim: Any, manager: Any, customer: Any
) -> None:
    order = paid_through_webhook(hooked_sim, customer, ProductFactory(stock=1))
    refund = request_refund(manager, order)
    assert services.process_refund(refund_id=refund.pk)

    apply_payment_events(hooked_sim)

    event = PaymentEvent.objects.get(event_type="refund.created")
    assert event.outcome == "ignored" and event.order == order
    assert OrderRefund.objects.count() == 1
    assert OrderEmail.objects.filter(order=order, kind="refunded").count() == 1


def test_a_partial_refund_in_stripe_flags_the_order_for_review(
    hooked_sim: Any, customer: Any
) -> None:
    product = ProductFactory(stock=1, price=Decimal("8.00"))
    order = paid_through_webhook(hooked_sim, customer, product)

    stripe_client().v1.refunds.create(params={"payment_intent": intent_of(order), "amount": 300})
    apply_payment_events(hooked_sim)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID and "300" in order.review_reason
    assert not OrderRefund.objects.exists()
    assert PaymentEvent.objects.get(event_type="refund.created").outcome == "flagged"


def _store_event(event_type: str, obj: dict[str, Any]) -> PaymentEvent:
    row = payment_events.record_event(
        {"id": f"evt_{event_type}_{obj.get('id')}", "type": event_type, "data": {"object": obj}}
    )
    assert row is not None
    return row


def _refund_object(order: Order, *, intent: str, status: str = "succeeded", **kw: Any) -> Any:
    return {
        "id": kw.pop("id", "re_dashboard_1"),
        "object": "refund",
        "payment_intent": intent,
        "amount": kw.pop("amount", int(order.total * 100)),
        "currency": order.payment.currency.lower(),
        "status": status,
        "metadata": {},
        **kw,
    }


def test_a_dashboard_refund_while_ours_waits_settles_the_order_and_our_row(
    hooked_sim: Any, manager: Any, customer: Any
) -> None:
    product = ProductFactory(stock=2)
    order = paid_through_webhook(hooked_sim, customer, product)
    refund = request_refund(manager, order)  # queued; its task has not run yet

    stripe_client().v1.refunds.create(params={"payment_intent": intent_of(order)})
    apply_payment_events(hooked_sim)
    services.process_refund(refund_id=refund.pk)  # the task runs late: nothing more

    order.refresh_from_db()
    refund.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert refund.state == "done" and refund.refunded_at is not None
    assert Product.objects.get(pk=product.pk).stock == 2
    assert OrderEmail.objects.filter(order=order, kind="refunded").count() == 1
    assert len(hooked_sim.store.refunds) == 1


def test_a_refund_of_a_flagged_second_payment_leaves_the_order_paid(
    hooked_sim: Any, customer: Any
) -> None:
    product = ProductFactory(stock=3, price=Decimal("8.00"))
    order = paid_through_webhook(hooked_sim, customer, product)
    # a second session of the same order paid too (flagged), then refunded in Stripe
    stray = {
        "id": "cs_test_stray",
        "object": "checkout.session",
        "client_reference_id": str(order.pk),
        "metadata": {"order_id": str(order.pk), "kind": "order"},
        "payment_intent": "pi_stray",
        "payment_status": "paid",
        "amount_total": 800,
        "currency": order.payment.currency.lower(),
    }
    payment_events.process_event(event_pk=_store_event("checkout.session.completed", stray).pk)
    row = _store_event("refund.created", _refund_object(order, intent="pi_stray"))

    payment_events.process_event(event_pk=row.pk)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Product.objects.get(pk=product.pk).stock == 2
    assert PaymentEvent.objects.get(pk=row.pk).outcome == "ignored"


def test_a_refund_event_before_its_payment_event_waits_for_it(
    hooked_sim: Any, customer: Any
) -> None:
    product = ProductFactory(stock=2)
    order = paid_through_webhook(hooked_sim, customer, product)
    intent = intent_of(order)
    # the payment's event is stored but not applied yet when the refund's is processed
    PaymentEvent.objects.filter(order=order).update(state=work.WorkState.PENDING, outcome="")
    Order.objects.filter(pk=order.pk).update(status=Order.Status.AWAITING_PAYMENT)
    refund_row = _store_event("refund.created", _refund_object(order, intent=intent))

    assert not payment_events.process_event(event_pk=refund_row.pk)  # it waits
    assert PaymentEvent.objects.get(pk=refund_row.pk).state == "pending"


def test_a_pending_refund_settles_nothing_until_stripe_says_it_succeeded(
    hooked_sim: Any, customer: Any
) -> None:
    product = ProductFactory(stock=2)
    order = paid_through_webhook(hooked_sim, customer, product)
    intent = intent_of(order)
    pending = _store_event("refund.created", _refund_object(order, intent=intent, status="pending"))
    payment_events.process_event(event_pk=pending.pk)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID

    done = _refund_object(order, intent=intent, status="succeeded")
    payment_events.process_event(event_pk=_store_event("refund.updated", done).pk)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED

    failed = _refund_object(order, intent=intent, status="failed")
    payment_events.process_event(event_pk=_store_event("refund.failed", failed).pk)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and "failed" in order.review_reason


def test_a_discarded_refund_does_not_read_as_refunded_and_may_be_asked_again(
    sim: Any, manager: Any, customer: Any
) -> None:
    from lavka.core import sweeping

    order = paid_by_card(customer, ProductFactory(stock=1))
    stripe_client().v1.refunds.create(params={"payment_intent": intent_of(order), "amount": 100})
    refund = request_refund(manager, order)
    services.process_refund(refund_id=refund.pk)  # refused: amount too large
    sweeping.discard(OrderRefund, [refund.pk], note="given up on the work page")

    again = request_refund(manager, order)

    assert again.pk == refund.pk and again.state == "pending"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
