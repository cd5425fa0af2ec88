"""Order pages: the checkout form, a customer's own orders, creators' own lines, the
staff pages of seed 003 (details and changes for staff, archive with delete_order)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from lavka.marketplace.models import Order, OrderEmail, Product
from lavka.marketplace.orders import services
from lavka.marketplace.tests.factories import CouponFactory, ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.orders_helpers import checkout, line

pytestmark = pytest.mark.django_db

CHECKOUT = "/shop/checkout/"


def put_in_cart(client: Client, *products_and_quantities: tuple[Product, int]) -> None:
    """Make the signed-in client's cart hold exactly these, at today's prices, through
    the cart's own pages (nothing given: empty it, as another tab would)."""
    for held in client.get("/api/v1/cart/").json()["lines"]:
        client.post(reverse("marketplace:cart_remove"), {"product": held["product"]})
    for product, quantity in products_and_quantities:
        response = client.post(
            reverse("marketplace:cart_add"), {"product": product.pk, "quantity": quantity}
        )
        assert response.status_code == 302, response.content.decode()[:500]


def form_of(client: Client) -> dict[str, Any]:
    """The checkout form's values as the page renders them."""
    html = client.get(CHECKOUT).content.decode()
    token = re.search(r'name="checkout_token" value="([^"]+)"', html)
    assert token, "no checkout token in the page"
    return {
        "full_name": "Carla Customer",
        "email": "customer@example.com",
        "address": "1 Main St",
        "payment_method": "bank_transfer",
        "checkout_token": token.group(1),
        "place": "1",
    }


@pytest.fixture
def shopper(client: Client, customer: Any) -> Client:
    client.force_login(customer)
    return client


def test_checkout_places_the_order_clears_the_cart_and_shows_how_to_pay(shopper, customer):
    product = ProductFactory(price=Decimal("20.00"), stock=3)
    put_in_cart(shopper, (product, 2))

    response = shopper.post(CHECKOUT, form_of(shopper), follow=True)

    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == reverse("marketplace:order_detail", args=[order.pk])
    page = response.content.decode()
    assert f"quoting the reference {order.number}" in page
    assert order.customer == customer and order.total == Decimal("40.00")
    assert shopper.get(CHECKOUT).context["empty"]


def test_a_second_tab_submitting_the_same_cart_makes_one_order(shopper):
    product = ProductFactory(stock=5)
    put_in_cart(shopper, (product, 1))
    first_tab, second_tab = form_of(shopper), form_of(shopper)

    shopper.post(CHECKOUT, first_tab)
    put_in_cart(shopper, (product, 1))  # even with the cart filled again meanwhile
    response = shopper.post(CHECKOUT, second_tab, follow=True)

    assert Order.objects.count() == 1
    assert "placed already" in response.content.decode()
    product.refresh_from_db()
    assert product.stock == 4


def test_checkout_of_an_empty_cart_says_so_and_writes_nothing(shopper):
    put_in_cart(shopper, (ProductFactory(), 1))
    data = form_of(shopper)
    put_in_cart(shopper)  # emptied in another tab

    response = shopper.post(CHECKOUT, data)

    assert response.status_code == 400
    assert "Your cart is empty." in response.content.decode()
    assert not Order.objects.exists()


def test_a_repriced_product_is_shown_and_must_be_accepted(shopper):
    product = ProductFactory(price=Decimal("10.00"))
    put_in_cart(shopper, (product, 1))
    Product.objects.filter(pk=product.pk).update(price=Decimal("12.00"))
    data = form_of(shopper)

    refused = shopper.post(CHECKOUT, data)
    page = refused.content.decode()
    assert refused.status_code == 409
    assert "now costs" in page and not Order.objects.exists()
    fingerprint = re.search(r'name="accepted_changes" value="([^"]+)"', page).group(1)

    not_ticked = shopper.post(CHECKOUT, {**data, "accepted_changes": fingerprint})
    assert not_ticked.status_code == 409 and not Order.objects.exists()

    shopper.post(CHECKOUT, {**data, "accepted_changes": fingerprint, "accept_changes": "on"})
    assert Order.objects.get().total == Decimal("12.00")


def test_quantity_above_stock_is_refused_with_a_message(shopper):
    product = ProductFactory(stock=2)
    put_in_cart(shopper, (product, 2))
    data = form_of(shopper)
    Product.objects.filter(pk=product.pk).update(stock=1)  # another buyer took one

    response = shopper.post(CHECKOUT, data)

    assert response.status_code == 400
    assert "Only 1 of" in response.content.decode()
    assert not Order.objects.exists()


def test_applying_a_coupon_shows_the_discount_or_the_reason(shopper):
    CouponFactory(code="HALF", value=Decimal("50"))
    put_in_cart(shopper, (ProductFactory(price=Decimal("8.00")), 1))
    data = {**form_of(shopper), "apply_coupon": "1"}
    del data["place"]

    applied = shopper.post(CHECKOUT, {**data, "coupon_code": "half"})
    unknown = shopper.post(CHECKOUT, {**data, "coupon_code": "nope"})

    assert applied.context["quote"].discount == Decimal("4.00")
    assert "There is no such coupon." in unknown.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("full_name", "Eve\r\nBcc: x@example.com"),
        ("full_name", "nul\x00"),
        ("payment_method", "paypal"),
        ("checkout_token", "not-a-uuid"),
        ("address", "x" * 10_000),
    ],
)
def test_bad_checkout_input_is_refused_at_its_field(shopper, field, value):
    put_in_cart(shopper, (ProductFactory(), 1))

    response = shopper.post(CHECKOUT, {**form_of(shopper), field: value})

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Order.objects.exists()


def test_a_customer_sees_only_their_own_orders(client, customer, other_customer):
    mine = checkout(customer, [line(ProductFactory())]).order
    theirs = checkout(other_customer, [line(ProductFactory())]).order
    client.force_login(customer)

    listed = client.get("/shop/orders/").content.decode()

    assert mine.number in listed and theirs.number not in listed
    assert client.get(f"/shop/orders/{mine.pk}/").status_code == 200
    assert client.get(f"/shop/orders/{theirs.pk}/").status_code == 404


def test_each_creator_sees_only_their_own_lines_of_a_shared_order(client, customer):
    alice, bob = approved_creator(), approved_creator()
    mug = ProductFactory(creator=alice, title_en="Alice's mug", price=Decimal("9.00"))
    print_ = ProductFactory(creator=bob, title_en="Bob's print", price=Decimal("40.00"))
    order = checkout(customer, [line(mug, 2), line(print_)]).order

    client.force_login(alice.user)
    listed = client.get("/shop/manage/sales/").content.decode()
    detail = client.get(f"/shop/manage/sales/{order.pk}/")

    assert "Alice&#x27;s mug" in listed and "Bob&#x27;s print" not in listed
    assert detail.context["order"].own_total == Decimal("18.00")
    assert [x.title for x in detail.context["order"].own_lines] == ["Alice's mug"]
    assert "Bob&#x27;s print" not in detail.content.decode()
    client.force_login(approved_creator().user)
    assert client.get(f"/shop/manage/sales/{order.pk}/").status_code == 404


def test_staff_list_filters_by_status_payment_and_search(client, manager, customer, other_customer):
    paid = checkout(customer, [line(ProductFactory())]).order
    services.mark_paid(order=paid)
    open_ = checkout(other_customer, [line(ProductFactory())], provider_code="cash_on_delivery")
    client.force_login(manager)

    def numbers(query: str) -> set[str]:
        page = client.get(f"/shop/staff/orders/?{query}").context["page"]
        return {order.number for order in page.object_list}

    assert numbers("") == {paid.number, open_.order.number}
    assert numbers("status=paid") == {paid.number}
    assert numbers("provider=cash_on_delivery") == {open_.order.number}
    assert numbers("q=other@example") == {open_.order.number}
    assert numbers(f"q={paid.number.lower()}") == {paid.number}
    assert numbers("status=bogus") == {paid.number, open_.order.number}  # refused, ignored


def test_staff_see_details_and_mark_a_manual_order_paid(client, manager, customer):
    product = ProductFactory(stock=2)
    order = checkout(customer, [line(product)]).order
    client.force_login(manager)

    detail = client.get(f"/shop/staff/orders/{order.pk}/").content.decode()
    assert 'data-testid="mark-paid"' in detail and 'data-testid="archive-order"' not in detail

    response = client.post(f"/shop/staff/orders/{order.pk}/mark-paid/", follow=True)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert "is now paid" in response.content.decode()
    assert OrderEmail.objects.filter(order=order, kind="paid").exists()
    again = client.post(f"/shop/staff/orders/{order.pk}/mark-paid/", follow=True)
    assert "paid already" in again.content.decode()


def test_archiving_needs_delete_order(client, manager, customer):
    order = checkout(customer, [line(ProductFactory())]).order
    services.mark_paid(order=order)
    client.force_login(manager)

    refused = client.post(f"/shop/staff/orders/{order.pk}/archive/")
    assert refused.status_code == 403

    manager.user_permissions.add(Permission.objects.get(codename="delete_order"))
    client.force_login(type(manager).objects.get(pk=manager.pk))
    client.post(f"/shop/staff/orders/{order.pk}/archive/")
    order.refresh_from_db()
    assert order.status == Order.Status.ARCHIVED


def test_customers_and_creators_get_no_staff_pages(client, customer):
    order = checkout(customer, [line(ProductFactory())]).order
    for user in (customer, approved_creator().user):
        client.force_login(user)
        assert client.get(f"/shop/staff/orders/{order.pk}/").status_code == 403
        assert client.post(f"/shop/staff/orders/{order.pk}/mark-paid/").status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT


def test_each_manual_method_tells_the_customer_how_to_pay(client, customer, settings):
    settings.LAVKA_BANK_TRANSFER_DETAILS = "IBAN XX00 TEST"
    transfer = checkout(customer, [line(ProductFactory(price=Decimal("3.00")))]).order
    cash = checkout(
        customer, [line(ProductFactory(price=Decimal("4.00")))], provider_code="cash_on_delivery"
    ).order
    client.force_login(customer)

    transfer_page = client.get(f"/shop/orders/{transfer.pk}/").content.decode()
    cash_page = client.get(f"/shop/orders/{cash.pk}/").content.decode()

    assert "IBAN XX00 TEST" in transfer_page and transfer.number in transfer_page
    assert "Pay 4.00 EUR when the order is delivered." in cash_page
    services.mark_paid(order=cash)
    assert (
        "when the order is delivered" not in client.get(f"/shop/orders/{cash.pk}/").content.decode()
    )


def _form_action(response: Any) -> str:
    policy = response["Content-Security-Policy"]
    return next(part.strip() for part in policy.split(";") if "form-action" in part)


@pytest.mark.parametrize(
    ("api_base", "origin"),
    [("", "https://checkout.stripe.com"), ("http://127.0.0.1:12111/", "http://127.0.0.1:12111")],
)
def test_pages_that_lead_to_the_card_page_allow_it_as_a_form_target_and_no_other_page_does(
    client: Client, customer: Any, settings: Any, api_base: str, origin: str
) -> None:
    """Without it, Chromium stops the redirect to the hosted page after the order is
    placed (found by test_browser_purchase)."""
    settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = "sk_test_lavka", api_base.rstrip("/")
    client.force_login(customer)
    order = checkout(customer, [line(ProductFactory())]).order

    for url in (
        reverse("marketplace:checkout"),
        reverse("marketplace:order_detail", args=[order.pk]),
    ):
        assert _form_action(client.get(url)) == f"form-action 'self' {origin}"
    assert _form_action(client.get(reverse("marketplace:shop"))) == "form-action 'self'"

    settings.STRIPE_SECRET_KEY = ""
    assert _form_action(client.get(reverse("marketplace:checkout"))) == "form-action 'self'"
