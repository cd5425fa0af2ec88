"""Refunds of paid orders with a manual payment: recorded by staff on the order's page,
stock back on sale, the coupon use kept, the customer told in their language; refusals,
bad input, who may, and two staff at once. (Card refunds: test_stripe_refunds.py.)"""

from __future__ import annotations

from decimal import Decimal
from email.header import decode_header, make_header
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client

from lavka.core.roles import Role
from lavka.marketplace.models import Coupon, Order, OrderEmail, OrderRefund, Product
from lavka.marketplace.orders import actions, services
from lavka.marketplace.tests.factories import CouponFactory, ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.orders_helpers import checkout, line, run_in_threads

GOOD = {"reason": "Parcel lost in the post", "reference": "TR-0042", "confirm": "on"}


def refund_url(order: Order) -> str:
    return f"/shop/staff/orders/{order.pk}/refund/"


def paid_order(customer: Any, *lines: Any, **kw: Any) -> Order:
    order = checkout(customer, list(lines), **kw).order
    return services.mark_paid(order=order)


def send_emails(order: Order) -> None:
    for row in OrderEmail.objects.filter(order=order).order_by("id"):
        services.send_order_email(order_email_id=row.pk)


@pytest.mark.django_db
def test_staff_record_a_manual_refund_the_stock_returns_and_the_customer_is_told(
    client: Client, manager: Any, customer: Any
) -> None:
    CouponFactory(code="ONCE", value=Decimal(10), usage_limit=1)
    mug, ebook = ProductFactory(stock=5), ProductFactory(stock=None, kind=Product.Kind.DIGITAL)
    order = paid_order(customer, line(mug, 2), line(ebook), coupon="once")
    client.force_login(manager)
    assert (
        'data-testid="refund-order"'
        in client.get(f"/shop/staff/orders/{order.pk}/").content.decode()
    )

    page = client.post(refund_url(order), GOOD, follow=True).content.decode()

    order.refresh_from_db()
    refund = OrderRefund.objects.get(order=order)
    assert order.status == Order.Status.REFUNDED and order.payment.status == "refunded"
    assert f"Order {order.number} is refunded." in page
    assert 'data-testid="refund-details"' in page and "TR-0042" in page
    assert (refund.state, refund.reference, refund.reason) == ("done", "TR-0042", GOOD["reason"])
    assert refund.requested_by == manager and refund.refunded_at is not None
    assert refund.amount == order.total and refund.provider == "bank_transfer"
    assert Product.objects.get(pk=mug.pk).stock == 5
    assert Product.objects.get(pk=ebook.pk).stock is None
    # kept used: buying and refunding must not make a single-use coupon new again
    assert Coupon.objects.get(code="ONCE").times_used == 1
    assert 'data-testid="refund-order"' not in page

    send_emails(order)
    refunded = [m for m in mail.outbox if "refunded" in m.subject]
    assert len(refunded) == 1
    assert refunded[0].to == ["customer@example.com"]
    assert f"We refunded {order.total} EUR for order {order.number}." in refunded[0].body


@pytest.mark.django_db
def test_the_refund_email_is_in_the_customers_language(user_factory: Any, manager: Any) -> None:
    ivan = user_factory(email="ivan@example.com", language="ru")
    order = paid_order(ivan, line(ProductFactory(price=Decimal("12.50"))))

    actions.RefundOrder(manager, order=order, reason="Брак").execute()
    mail.outbox.clear()
    services.send_order_email(
        order_email_id=OrderEmail.objects.get(order=order, kind="refunded").pk
    )

    (message,) = mail.outbox
    assert str(make_header(decode_header(message.subject))) == (
        f"[Lavka] Деньги за заказ {order.number} возвращены"
    )
    assert f"Мы вернули 12,50 EUR за заказ {order.number}." in message.body
    assert "Магазин вернул деньги" in message.body


@pytest.mark.django_db
def test_only_a_paid_order_is_refunded_and_only_once(manager: Any, customer: Any) -> None:
    product = ProductFactory(stock=4)
    unpaid = checkout(customer, [line(product)]).order
    cancelled = services.cancel_order(
        order=checkout(customer, [line(product)]).order, reason="test"
    )
    paid = paid_order(customer, line(product))

    for order, words in ((unpaid, "awaiting payment"), (cancelled, "cancelled")):
        with pytest.raises(services.OrderStateRefused) as refused:
            actions.RefundOrder(manager, order=order, reason="why").execute()
        assert refused.value.code == "not_paid" and words in refused.value.message
    actions.RefundOrder(manager, order=paid, reason="why").execute()
    with pytest.raises(services.OrderStateRefused) as refused:
        actions.RefundOrder(manager, order=paid, reason="again").execute()

    assert refused.value.message == "This order is refunded already."
    services.archive_order(order=paid)
    with pytest.raises(services.OrderStateRefused, match="refunded already"):
        actions.RefundOrder(manager, order=paid, reason="once archived").execute()
    assert OrderRefund.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 3  # the unpaid order still holds one
    assert OrderEmail.objects.filter(kind="refunded").count() == 1


@pytest.mark.django_db
def test_a_refused_refund_is_shown_and_writes_nothing(
    client: Client, manager: Any, customer: Any
) -> None:
    order = checkout(customer, [line(ProductFactory())]).order
    client.force_login(manager)

    page = client.post(refund_url(order), GOOD, follow=True).content.decode()

    assert "Only a paid order can be refunded; this one is awaiting payment." in page
    assert not OrderRefund.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {**GOOD, "confirm": ""},
        {**GOOD, "reason": ""},
        {**GOOD, "reason": "   "},
        {**GOOD, "reason": "lost\x00"},
        {**GOOD, "reason": "x" * 501},
        {**GOOD, "reference": "TR-1\r\nBcc: someone@example.com"},
        {**GOOD, "reference": "y" * 201},
    ],
    ids=["unconfirmed", "no-reason", "blank", "nul", "long", "line-break", "long-ref"],
)
def test_bad_refund_input_is_refused_with_nothing_written(
    client: Client, manager: Any, customer: Any, data: dict[str, str]
) -> None:
    product = ProductFactory(stock=3)
    order = paid_order(customer, line(product))
    client.force_login(manager)

    response = client.post(refund_url(order), data)

    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not OrderRefund.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 2


@pytest.mark.django_db
def test_a_10_mb_reason_is_refused_whole(client: Client, manager: Any, customer: Any) -> None:
    order = paid_order(customer, line(ProductFactory()))
    client.force_login(manager)
    huge = "x" * (10 * 1024 * 1024)

    # over DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses the body before the view reads it
    assert client.post(refund_url(order), {**GOOD, "reason": huge}).status_code == 400
    with pytest.raises(services.OrderStateRefused, match="at most 500 characters"):
        actions.RefundOrder(manager, order=order, reason=huge).execute()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not OrderRefund.objects.exists()


@pytest.mark.django_db
def test_an_unknown_order_is_404_and_a_get_is_405(client: Client, manager: Any) -> None:
    client.force_login(manager)
    assert client.post("/shop/staff/orders/999999/refund/", GOOD).status_code == 404
    assert client.post("/shop/staff/orders/0/refund/", GOOD).status_code == 404
    assert client.post("/shop/staff/orders/-1/refund/", GOOD).status_code == 404
    assert client.post("/shop/staff/orders/abc/refund/", GOOD).status_code == 404


@pytest.mark.django_db
def test_customers_creators_and_staff_without_refund_order_cannot_refund(
    client: Client, customer: Any, user_factory: Any
) -> None:
    order = paid_order(customer, line(ProductFactory()))
    clerk = user_factory(email="clerk@example.com")
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "change_order"])
    )

    for user, status in ((customer, 403), (approved_creator().user, 403), (clerk, 403)):
        client.force_login(user)
        assert client.post(refund_url(order), GOOD).status_code == status
    client.force_login(clerk)
    page = client.get(f"/shop/staff/orders/{order.pk}/").content.decode()
    client.logout()
    anonymous = client.post(refund_url(order), GOOD)

    assert 'data-testid="refund-order"' not in page
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not OrderRefund.objects.exists()


@pytest.mark.django_db
def test_managers_hold_refund_order_through_their_role(user_factory: Any) -> None:
    manager = user_factory(email="m2@example.com", roles=[Role.MANAGER])
    creator = user_factory(email="c2@example.com", roles=[Role.CREATOR, Role.CUSTOMER])

    assert manager.has_perm("marketplace.refund_order")
    assert not creator.has_perm("marketplace.refund_order")


@pytest.mark.django_db(transaction=True)
def test_two_staff_refunding_at_once_refund_once(user_factory: Any, customer: Any) -> None:
    product = ProductFactory(stock=6)
    order = paid_order(customer, line(product, 4))
    staff = [user_factory(email=f"manager{i}@example.com", roles=[Role.MANAGER]) for i in range(6)]

    results = run_in_threads(
        [
            lambda user=user: actions.RefundOrder(user, order=order, reason="twice?").execute()
            for user in staff
        ]
    )

    done = [r for r in results if isinstance(r, OrderRefund)]
    refused = [r for r in results if isinstance(r, services.OrderStateRefused)]
    assert len(done) == 1 and len(refused) == 5, results
    assert {r.code for r in refused} == {"refunded"}
    assert OrderRefund.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 6
    assert OrderEmail.objects.filter(order=order, kind="refunded").count() == 1
