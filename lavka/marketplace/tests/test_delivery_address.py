"""The delivery address: asked for (and kept) only when an order holds a physical
product; seen by the customer and staff, not by the creators whose lines it holds."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from lavka.marketplace.models import Order, OrderEmail, Product
from lavka.marketplace.orders import services
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.orders_helpers import checkout, line
from lavka.marketplace.tests.test_order_pages import CHECKOUT, form_of, put_in_cart

pytestmark = pytest.mark.django_db

ADDRESS = "Carla Customer\r\n1 Main St\r\n10115 Berlin\r\nGermany"


@pytest.fixture
def shopper(client: Client, customer: Any) -> Client:
    client.force_login(customer)
    return client


def digital() -> Product:
    return ProductFactory(kind=Product.Kind.DIGITAL, stock=None, price=Decimal("5.00"))


@pytest.mark.parametrize("address", ["", " \r\n "])
def test_a_physical_order_without_an_address_is_refused_at_the_address(shopper, address):
    product = ProductFactory(stock=3)
    put_in_cart(shopper, (product, 1))

    response = shopper.post(CHECKOUT, {**form_of(shopper), "address": address})

    assert response.status_code == 400
    assert "Give a delivery address" in response.context["form"].errors["address"][0]
    assert not Order.objects.exists() and Product.objects.get(pk=product.pk).stock == 3


@pytest.mark.parametrize(
    "address", ["1 Main St\x00", "1 Main St\x1b[2J", "1 Main St\tBerlin", "a\u2028b", "x" * 1001]
)
def test_a_garbage_address_is_refused_at_the_address(shopper, address):
    put_in_cart(shopper, (ProductFactory(stock=3), 1))

    response = shopper.post(CHECKOUT, {**form_of(shopper), "address": address})

    assert response.status_code == 400 and "address" in response.context["form"].errors
    assert not Order.objects.exists()


def test_the_address_is_asked_for_physical_products_only(shopper):
    put_in_cart(shopper, (digital(), 1))
    digital_page = shopper.get(CHECKOUT).content.decode()
    put_in_cart(shopper, (digital(), 1), (ProductFactory(stock=3), 1))
    mixed_page = shopper.get(CHECKOUT).content.decode()

    assert 'name="address"' not in digital_page
    assert 'name="address"' in mixed_page


def test_a_digital_only_order_needs_no_address_and_keeps_none(shopper):
    put_in_cart(shopper, (digital(), 1))

    response = shopper.post(CHECKOUT, {**form_of(shopper), "address": "ignored"})

    assert response.status_code == 302
    assert Order.objects.get().address == ""


def test_the_customer_staff_and_email_show_the_address_a_creator_does_not(
    client, customer, manager
):
    creator = approved_creator()
    order = services.place_order(
        customer=customer,
        lines=[line(ProductFactory(creator=creator, stock=3))],
        details=services.CustomerDetails(
            email=customer.email, full_name="Carla Customer", address=ADDRESS
        ),
        provider_code="bank_transfer",
        checkout_token=uuid.uuid4(),
    ).order
    shown = "Carla Customer<br>1 Main St<br>10115 Berlin<br>Germany"

    client.force_login(customer)
    assert shown in client.get(f"/shop/orders/{order.pk}/").content.decode()
    client.force_login(manager)
    assert shown in client.get(f"/shop/staff/orders/{order.pk}/").content.decode()
    client.force_login(creator.user)
    sale = client.get(f"/shop/manage/sales/{order.pk}/")
    assert sale.status_code == 200
    assert "Main St" not in sale.content.decode() and "Carla" not in sale.content.decode()
    row = OrderEmail.objects.get(order=order, kind="received")
    services.send_order_email(order_email_id=row.pk)
    (message,) = mail.outbox
    assert "Delivery address:\nCarla Customer\n1 Main St\n10115 Berlin\nGermany\n" in message.body


def test_an_order_without_physical_products_shows_no_address(client, customer):
    order = checkout(customer, [line(digital())]).order
    client.force_login(customer)

    assert (
        'data-testid="delivery-address"'
        not in client.get(f"/shop/orders/{order.pk}/").content.decode()
    )
