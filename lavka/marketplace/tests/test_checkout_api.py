"""The checkout API (/api/v1/checkout/): the caller's cart becomes an order through the
checkout's action; retries with the same idempotency key return the same order; every
refusal writes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lavka.accounts.tests.factories import UserFactory
from lavka.marketplace.models import CartItem, Coupon, Order, Product
from lavka.marketplace.tests.factories import CouponFactory, ProductFactory
from lavka.marketplace.tests.helpers import approved_creator, user_of_role
from lavka.marketplace.tests.orders_helpers import run_in_threads
from lavka.marketplace.tests.stripe_helpers import stripe_simulator
from lavka.marketplace.tests.test_cart_api import bearer

pytestmark = pytest.mark.django_db

CHECKOUT = "/api/v1/checkout/"
QUOTE = "/api/v1/checkout/quote/"
ITEMS = "/api/v1/cart/items/"
ADDRESS = "Ann Buyer\n1 Main St\n10115 Berlin\nGermany"


@pytest.fixture(autouse=True)
def manual_payments_only(settings):
    settings.LAVKA_PAYMENT_PROVIDERS = ["bank_transfer", "cash_on_delivery"]


@pytest.fixture
def buyer():
    return UserFactory(full_name="Ann Buyer")


@pytest.fixture
def auth(buyer):
    return bearer(buyer)


def add(client: Any, auth: dict[str, str], product: Product, quantity: int = 1) -> None:
    added = client.post(
        ITEMS,
        {"product": product.pk, "quantity": quantity},
        content_type="application/json",
        **auth,
    )
    assert added.status_code == 201, added.json()


def place(client: Any, auth: dict[str, str], **body: Any) -> Any:
    payload = {
        "idempotency_key": "key-1",
        "provider": "bank_transfer",
        "delivery_address": ADDRESS,
        **body,
    }
    return client.post(CHECKOUT, payload, content_type="application/json", **auth)


def cart_of(user: Any) -> list[tuple[int, int]]:
    return list(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))


def test_without_credentials_checkout_and_quote_are_401(client):
    assert client.post(CHECKOUT, {}, content_type="application/json").status_code == 401
    assert client.get(QUOTE).status_code == 401


def test_a_token_user_checks_out_their_cart_and_gets_the_order_and_instructions(
    client, buyer, auth
):
    product = ProductFactory(price=Decimal("12.50"), stock=5)
    add(client, auth, product, 2)

    response = place(client, auth, phone="+1 555", note="Ring twice")

    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get(customer=buyer)
    assert body["order"] == client.get(f"/api/v1/orders/{order.pk}/", **auth).json()
    assert (body["order"]["total"], body["order"]["full_name"]) == ("25.00", "Ann Buyer")
    assert body["order"]["email"] == buyer.email
    assert order.number in body["next_step"]["instructions"]
    assert body["next_step"]["redirect_url"] == "" and body["next_step"]["payment_error"] == ""
    assert (order.phone, order.note, order.address) == ("+1 555", "Ring twice", ADDRESS)
    assert body["order"]["delivery_address"] == ADDRESS
    assert Product.objects.get(pk=product.pk).stock == 3
    assert cart_of(buyer) == []


def test_a_retry_with_the_same_key_returns_the_same_order(client, buyer, auth):
    add(client, auth, ProductFactory(stock=5), 1)
    first = place(client, auth)
    add(client, auth, ProductFactory(stock=5), 1)  # a new cart meanwhile

    again = place(client, auth)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order"]["id"] == first.json()["order"]["id"]
    assert Order.objects.filter(customer=buyer).count() == 1
    assert len(cart_of(buyer)) == 1  # the new cart is left alone


def test_another_users_key_places_their_own_order_not_returns_yours(client, buyer, auth):
    add(client, auth, ProductFactory(stock=5), 1)
    mine = place(client, auth, idempotency_key="shared").json()["order"]
    other = UserFactory(full_name="Bob")
    other_auth = bearer(other)
    add(client, other_auth, ProductFactory(stock=5), 3)

    theirs = place(client, other_auth, idempotency_key="shared")

    assert theirs.status_code == 201, theirs.json()
    assert theirs.json()["order"]["id"] != mine["id"]
    assert theirs.json()["order"]["email"] == other.email
    assert Order.objects.get(pk=theirs.json()["order"]["id"]).customer == other
    assert Order.objects.get(pk=mine["id"]).customer == buyer


def test_an_empty_cart_is_a_400_and_writes_nothing(client, buyer, auth):
    response = place(client, auth)

    assert response.status_code == 400
    assert response.json()["code"] == "empty"
    assert not Order.objects.exists()


@pytest.mark.parametrize("provider", ["paypal", "stripe", "", 5, None, "bank_transfer\x00"])
def test_a_provider_not_offered_is_a_400_at_provider(client, buyer, auth, provider):
    product = ProductFactory(stock=5)
    add(client, auth, product, 1)

    response = place(client, auth, provider=provider)

    assert response.status_code == 400 and "provider" in response.json(), response.json()
    assert not Order.objects.exists() and cart_of(buyer) == [(product.pk, 1)]


def _expired() -> Coupon:
    return CouponFactory(code="OLD", valid_until=timezone.now() - timedelta(days=1))


def _used_up() -> Coupon:
    return CouponFactory(code="ONCE", usage_limit=1, times_used=1)


def _other_creators() -> Coupon:
    return CouponFactory(code="THEIRS", creator=approved_creator())


@pytest.mark.parametrize(
    ("make", "code", "reason"),
    [
        (_expired, "OLD", "expired"),
        (_used_up, "ONCE", "used_up"),
        (_other_creators, "THEIRS", "not_for_these_products"),
        (None, "NOPE", "unknown"),
    ],
)
def test_a_refused_coupon_is_a_400_with_its_reason_and_writes_nothing(
    client, buyer, auth, make, code, reason
):
    coupon = make() if make else None
    product = ProductFactory(stock=5)
    add(client, auth, product, 2)

    response = place(client, auth, coupon_code=code.lower())

    assert response.status_code == 400
    assert response.json()["code"] == reason
    assert response.json()["coupon_code"]
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 5
    assert cart_of(buyer) == [(product.pk, 2)]
    if coupon is not None:
        assert Coupon.objects.get(pk=coupon.pk).times_used == coupon.times_used


def test_a_coupon_is_applied_and_used(client, buyer, auth):
    coupon = CouponFactory(code="TEN", value=Decimal("10"), usage_limit=5)
    add(client, auth, ProductFactory(price=Decimal("20.00"), stock=5), 1)

    response = place(client, auth, coupon_code=" ten ")

    assert response.status_code == 201, response.json()
    order = response.json()["order"]
    assert (order["discount"], order["total"], order["coupon_code"]) == ("2.00", "18.00", "TEN")
    assert Coupon.objects.get(pk=coupon.pk).times_used == 1


def test_a_quantity_above_the_stock_left_is_a_409_and_holds_nothing(client, buyer, auth):
    product = ProductFactory(stock=5)
    add(client, auth, product, 4)
    Product.objects.filter(pk=product.pk).update(stock=2)

    response = place(client, auth)

    assert response.status_code == 409
    assert response.json()["code"] == "sold_out" and "2" in response.json()["detail"]
    assert not Order.objects.exists() and Product.objects.get(pk=product.pk).stock == 2


def test_a_changed_price_is_a_409_until_its_fingerprint_is_accepted(client, buyer, auth):
    product = ProductFactory(price=Decimal("12.50"), stock=5)
    add(client, auth, product, 2)
    Product.objects.filter(pk=product.pk).update(price=Decimal("15.00"))

    refused = place(client, auth)
    wrong = place(client, auth, accept_changes="0" * 32)
    fingerprint = refused.json()["changes_fingerprint"]
    accepted = place(client, auth, accept_changes=fingerprint)

    assert refused.status_code == 409 and refused.json()["code"] == "changes"
    [change] = refused.json()["changes"]
    assert (change["product"], change["old_price"], change["new_price"]) == (
        product.pk,
        "12.50",
        "15.00",
    )
    assert wrong.status_code == 409 and wrong.json()["changes_fingerprint"] == fingerprint
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["order"]["total"] == "30.00"
    assert Order.objects.count() == 1


def test_a_product_gone_from_sale_is_a_change_to_accept(client, buyer, auth):
    kept, gone = ProductFactory(stock=5), ProductFactory(stock=5)
    add(client, auth, kept, 1)
    add(client, auth, gone, 1)
    Product.objects.filter(pk=gone.pk).update(is_active=False)

    refused = place(client, auth)
    accepted = place(client, auth, accept_changes=refused.json()["changes_fingerprint"])

    assert refused.json()["changes"][0]["new_price"] is None
    assert [line["product"] for line in accepted.json()["order"]["lines"]] == [kept.pk]


@pytest.mark.parametrize(
    "field",
    ["idempotency_key", "coupon_code", "full_name", "email", "phone", "note", "delivery_address"],
)
def test_a_nul_in_any_string_is_a_400_at_its_field(client, buyer, auth, field):
    product = ProductFactory(stock=5)
    add(client, auth, product, 1)

    response = place(client, auth, **{field: "a\x00b"})

    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Order.objects.exists() and cart_of(buyer) == [(product.pk, 1)]


@pytest.mark.parametrize("field", ["idempotency_key", "full_name", "phone", "coupon_code"])
def test_a_line_break_in_a_one_line_field_is_a_400(client, auth, field):
    add(client, auth, ProductFactory(stock=5), 1)

    response = place(client, auth, **{field: "a\r\nBcc: x@example.com"})

    assert response.status_code == 400 and field in response.json()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"idempotency_key": ""},
        {"idempotency_key": "k" * 101},
        {"idempotency_key": 7},
        {"full_name": "  "},
        {"email": "not-an-address"},
        {"accept_changes": ["x"]},
        {"note": "n" * 2001},
        {"phone": "\x85" * 41},  # blank once trimmed, but longer than the schema allows
    ],
)
def test_bad_values_are_a_400_and_write_nothing(client, buyer, auth, body):
    add(client, auth, ProductFactory(stock=5), 1)

    response = place(client, auth, **body)

    assert response.status_code == 400, response.json()
    assert set(body) <= set(response.json())
    assert not Order.objects.exists()


def test_an_account_without_a_name_must_give_one(client):
    nameless = UserFactory(full_name="")
    auth = bearer(nameless)
    add(client, auth, ProductFactory(stock=5), 1)

    assert "full_name" in place(client, auth).json()
    assert place(client, auth, full_name="Nina").status_code == 201


@pytest.mark.parametrize("payload", [[], "text", 5])
def test_a_body_of_the_wrong_shape_is_a_400(client, auth, payload):
    response = client.post(CHECKOUT, payload, content_type="application/json", **auth)
    assert response.status_code == 400


def test_a_ten_megabyte_body_is_a_400(client, buyer, auth):
    add(client, auth, ProductFactory(stock=5), 1)

    response = place(client, auth, note="n" * 10_000_000)

    assert response.status_code == 400 and "detail" in response.json()
    assert not Order.objects.exists()


def test_a_form_body_is_a_415(client, auth):
    response = client.post(CHECKOUT, {"idempotency_key": "k", "provider": "bank_transfer"}, **auth)
    assert response.status_code == 415


@pytest.mark.parametrize("role", ["customer", "creator", "manager"])
def test_every_signed_in_role_checks_out_for_themselves(client, role):
    user = user_of_role(role)
    user.full_name = "Someone"
    user.save(update_fields=["full_name"])
    auth = bearer(user)
    add(client, auth, ProductFactory(stock=5), 1)

    response = place(client, auth)

    assert response.status_code == 201, response.json()
    assert Order.objects.get(pk=response.json()["order"]["id"]).customer == user


def test_checkouts_are_throttled_per_user(client, buyer, auth, settings):
    settings.LAVKA_CHECKOUT_API_RATE = "5/minute"
    statuses = [place(client, auth).status_code for _ in range(6)]

    assert statuses == [400] * 5 + [429]  # an empty cart, then held back
    assert client.get(QUOTE, **auth).status_code == 200  # reading the quote is not held back
    assert place(client, bearer(UserFactory())).status_code == 400  # others are not


def test_a_card_payment_answers_the_payment_page_and_a_retry_the_same_one(
    client, buyer, auth, settings
):
    with stripe_simulator(settings) as sim:
        add(client, auth, ProductFactory(stock=5), 1)

        first = place(client, auth, provider="stripe").json()
        again = place(client, auth, provider="stripe").json()

    assert first["next_step"]["redirect_url"].startswith(sim.url)
    assert again["next_step"]["redirect_url"] == first["next_step"]["redirect_url"]
    assert first["order"]["payment"]["provider"] == "stripe"
    assert Order.objects.get().payment.reference.startswith("cs_")


# --- the quote --------------------------------------------------------------------------


def test_the_quote_prices_the_cart_with_coupon_changes_and_stock(client, buyer, auth):
    cheap = ProductFactory(price=Decimal("10.00"), stock=5)
    dear = ProductFactory(price=Decimal("30.00"), stock=5)
    CouponFactory(code="HALF", value=Decimal("50"))
    add(client, auth, cheap, 3)
    add(client, auth, dear, 1)
    Product.objects.filter(pk=cheap.pk).update(stock=2)
    Product.objects.filter(pk=dear.pk).update(price=Decimal("40.00"))

    quote = client.get(QUOTE, {"coupon": "half"}, **auth).json()

    assert [(line["product"], line["unit_price"]) for line in quote["lines"]] == [
        (cheap.pk, "10.00"),
        (dear.pk, "40.00"),
    ]
    assert (quote["subtotal"], quote["discount"], quote["total"]) == ("70.00", "35.00", "35.00")
    assert (quote["coupon_code"], quote["coupon_problem"]) == ("HALF", None)
    assert [c["product"] for c in quote["changes"]] == [dear.pk]
    assert quote["changes_fingerprint"]
    assert quote["stock_problems"] == [
        {"product": cheap.pk, "title": cheap.title, "quantity": 3, "available": 2}
    ]
    assert [p["code"] for p in quote["providers"]] == ["bank_transfer", "cash_on_delivery"]
    # the quote's fingerprint is what checkout accepts
    Product.objects.filter(pk=cheap.pk).update(stock=5)
    accepted = place(client, auth, accept_changes=quote["changes_fingerprint"])
    assert accepted.status_code == 201, accepted.json()


def test_the_quote_says_why_a_coupon_is_refused(client, auth):
    _expired()
    add(client, auth, ProductFactory(stock=5), 1)

    quote = client.get(QUOTE, {"coupon": "old"}, **auth).json()

    assert quote["coupon_problem"]["code"] == "expired" and quote["discount"] == "0.00"


def test_an_empty_cart_quotes_nothing(client, auth):
    quote = client.get(QUOTE, **auth).json()
    assert (quote["lines"], quote["total"], quote["changes_fingerprint"]) == ([], "0.00", "")


@pytest.mark.parametrize(
    "query", ["coupon=a%00b", "coupon=" + "x" * 41, "coupon=" + "%20" * 41, "coupon=a&coupon=b"]
)
def test_a_bad_coupon_parameter_is_a_400(client, auth, query):
    response = client.get(f"{QUOTE}?{query}", **auth)
    assert response.status_code == 400 and "coupon" in response.json()


# --- the delivery address ---------------------------------------------------------------


@pytest.mark.parametrize("address", [None, "", "  \n\t "])
def test_a_physical_product_needs_a_delivery_address(client, buyer, auth, address):
    product = ProductFactory(kind=Product.Kind.PHYSICAL, stock=5)
    add(client, auth, product, 1)
    body = {"idempotency_key": "k", "provider": "bank_transfer"}
    if address is not None:
        body["delivery_address"] = address

    response = client.post(CHECKOUT, body, content_type="application/json", **auth)

    assert response.status_code == 400
    assert response.json()["code"] == "address" and response.json()["delivery_address"]
    assert not Order.objects.exists() and Product.objects.get(pk=product.pk).stock == 5
    assert client.get(QUOTE, **auth).json()["needs_delivery_address"] is True


@pytest.mark.parametrize(
    "address",
    ["1 Main St\x00", "1 Main St\x1b[31m", "1 Main St\tBerlin", "a\u2028b", "x" * 1001, 5],
)
def test_a_garbage_delivery_address_is_a_400(client, buyer, auth, address):
    add(client, auth, ProductFactory(stock=5), 1)

    response = place(client, auth, delivery_address=address)

    assert response.status_code == 400 and "delivery_address" in response.json()
    assert not Order.objects.exists()


def test_a_browsers_line_breaks_are_kept_as_lines(client, buyer, auth):
    add(client, auth, ProductFactory(stock=5), 1)

    response = place(client, auth, delivery_address="Ann\r\n1 Main St\r\nBerlin\r\n")

    assert response.status_code == 201, response.json()
    assert Order.objects.get().address == "Ann\n1 Main St\nBerlin"


def test_a_digital_only_order_asks_for_no_address_and_keeps_none(client, buyer, auth):
    add(client, auth, ProductFactory(kind=Product.Kind.DIGITAL, stock=None), 1)

    quote = client.get(QUOTE, **auth).json()
    response = place(client, auth, delivery_address="")
    add(client, auth, ProductFactory(kind=Product.Kind.DIGITAL, stock=None), 1)
    given_anyway = place(client, auth, idempotency_key="k2", delivery_address="Somewhere")

    assert quote["needs_delivery_address"] is False
    assert response.status_code == 201, response.json()
    assert response.json()["order"]["delivery_address"] == ""
    assert given_anyway.status_code == 201, given_anyway.json()
    assert list(Order.objects.values_list("address", flat=True)) == ["", ""]


# --- retries racing each other ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_same_key_posted_from_five_threads_at_once_places_one_order(buyer, auth):
    product = ProductFactory(stock=5)
    add(Client(), auth, product, 2)

    def post() -> int:
        return place(Client(), auth, idempotency_key="racing").status_code

    statuses = run_in_threads([post] * 5)

    assert sorted(statuses) == [200, 200, 200, 200, 201], statuses
    assert Order.objects.filter(customer=buyer).count() == 1
    assert Product.objects.get(pk=product.pk).stock == 3
