"""Order emails: work rows written with the order, sent once, in the customer's
language; the real path (commit, broker, worker process, mail) and the periodic release
of expired holds through a real worker."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from email.header import decode_header, make_header

import pytest
from django.core import mail
from django.utils import timezone

from lavka.core import background
from lavka.core.tests.support import wait_until
from lavka.marketplace.models import Order, OrderEmail
from lavka.marketplace.orders import services
from lavka.marketplace.tests.factories import CouponFactory, ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line


def subject_of(message) -> str:
    return str(make_header(decode_header(message.subject)))


@pytest.mark.django_db
def test_order_received_lists_items_discount_and_total_and_is_sent_once(customer):
    CouponFactory(code="TEN", value=Decimal(10))
    mug = ProductFactory(title_en="Mug", price=Decimal("9.00"))
    order = checkout(customer, [line(mug, 2)], coupon="ten").order
    row = OrderEmail.objects.get(order=order, kind="received")

    assert services.send_order_email(order_email_id=row.pk)
    assert not services.send_order_email(order_email_id=row.pk)  # a duplicate message

    (message,) = mail.outbox
    assert message.to == ["customer@example.com"]
    assert message.subject == f"[Lavka] We received your order {order.number}"
    assert "- 2 x Mug: 18.00 EUR" in message.body
    assert "Discount (TEN): -1.80 EUR" in message.body
    assert "Total: 16.20 EUR" in message.body
    assert f"quoting the reference {order.number}" in message.body
    assert message.extra_headers["Message-ID"].startswith(f"<lavka-order-received-{order.pk}@")
    row.refresh_from_db()
    assert row.state == "done" and row.sent_at is not None


@pytest.mark.django_db
def test_emails_are_in_the_customers_language(user_factory):
    ivan = user_factory(email="ivan@example.com", language="ru")
    order = checkout(ivan, [line(ProductFactory(title_ru="Кружка"))]).order
    services.mark_paid(order=order)

    for row in OrderEmail.objects.filter(order=order).order_by("id"):
        services.send_order_email(order_email_id=row.pk)

    received, paid = mail.outbox
    assert received.subject == f"[Lavka] Мы получили ваш заказ {order.number}"
    assert "Спасибо за заказ" in received.body and "Итого" in received.body
    assert paid.subject == f"[Lavka] Ваш заказ {order.number} оплачен"
    assert "Мы получили вашу оплату" in paid.body


@pytest.mark.django_db
def test_a_refused_checkout_queues_no_email(customer):
    with pytest.raises(services.CheckoutRefused):
        checkout(customer, [line(ProductFactory(stock=0))])

    assert not OrderEmail.objects.exists()


@pytest.mark.worker
@pytest.mark.slow
def test_both_emails_arrive_through_a_real_worker(celery_worker_process, mail_sink, customer):
    order = checkout(customer, [line(ProductFactory(title_en="Lamp"))]).order

    received = wait_until(lambda: mail_sink("customer@example.com"), timeout=60)
    assert received, f"no email; worker log:\n{celery_worker_process.log_tail()}"
    services.mark_paid(order=order)
    both = wait_until(
        lambda: len(mail_sink("customer@example.com")) >= 2 and mail_sink("customer@example.com"),
        timeout=60,
    )

    assert both, f"no paid email; worker log:\n{celery_worker_process.log_tail()}"
    assert [subject_of(m) for m in both] == [
        f"[Lavka] We received your order {order.number}",
        f"[Lavka] Your order {order.number} is paid",
    ]
    assert "1 x Lamp" in both[0].text()


@pytest.mark.worker
@pytest.mark.slow
def test_the_periodic_release_runs_in_a_worker_and_returns_the_stock(
    celery_worker_process, customer, settings
):
    product = ProductFactory(stock=2)
    order = checkout(
        customer,
        [line(product, 2)],
        now=timezone.now() - timedelta(minutes=settings.LAVKA_STOCK_HOLD_MINUTES + 1),
    ).order

    background.start("marketplace.release_expired_holds")
    released = wait_until(
        lambda: Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED, timeout=60
    )

    assert released, f"not released; worker log:\n{celery_worker_process.log_tail()}"
    product.refresh_from_db()
    assert product.stock == 2


def test_the_release_is_a_beat_entry_of_a_registered_task(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["marketplace.release_expired_holds"]

    assert background.task_named(entry["task"]).name == "marketplace.release_expired_holds"
