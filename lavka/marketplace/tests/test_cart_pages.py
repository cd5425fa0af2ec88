"""The cart on the site: a visitor's session cart, a user's saved cart, refusals that
change nothing, stale products shown and accepted, the merge at login."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lavka.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from lavka.marketplace import cart
from lavka.marketplace.models import Cart, CartItem, CreatorProfile, Product
from lavka.marketplace.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

ADD, UPDATE, REMOVE, ACCEPT, CART = (
    "/shop/cart/add/",
    "/shop/cart/update/",
    "/shop/cart/remove/",
    "/shop/cart/accept/",
    "/shop/cart/",
)


def session_lines(client: Client) -> list[dict[str, Any]]:
    return list(client.session.get(cart.SESSION_KEY, []))


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def add(client: Client, product: Product, quantity: Any = 1) -> Any:
    return client.post(ADD, {"product": product.pk, "quantity": quantity})


def log_in(client: Client, user: Any) -> Any:
    """Through the site's login form, as a person does."""
    return client.post("/accounts/login/", {"login": user.email, "password": DEFAULT_PASSWORD})


# --- adding, changing, removing -------------------------------------------------------


def test_a_visitor_adds_a_product_and_the_price_is_fixed_in_the_session(client):
    product = ProductFactory(price=Decimal("12.50"), stock=5)

    response = add(client, product, 2)

    assert response.status_code == 302 and response["Location"] == CART
    assert [
        (line["product"], line["quantity"], line["price"]) for line in session_lines(client)
    ] == [(product.pk, 2, "12.50")]
    page = client.get(CART)
    assert page.status_code == 200
    assert 'data-testid="cart-line"' in page.text
    assert re.search(r'data-testid="cart-count">2<', page.text)


def test_adding_again_adds_to_the_line_and_keeps_the_first_price(client):
    product = ProductFactory(price=Decimal("10.00"), stock=5)
    add(client, product, 1)
    Product.objects.filter(pk=product.pk).update(price=Decimal("11.00"))

    add(client, product, 2)

    [line] = session_lines(client)
    assert (line["quantity"], line["price"]) == (3, "10.00")


@pytest.mark.parametrize(
    "quantity",
    ["-1", "0", "abc", "", "1.5", "1e3", "99999999999999999999999", "1000", " ", "\x00"],
)
def test_a_bad_quantity_is_refused_with_a_message_and_changes_nothing(client, quantity):
    product = ProductFactory(stock=5000)
    add(client, product, 1)

    response = add(client, product, quantity)

    assert response.status_code == 400
    assert messages_of(response)
    assert [line["quantity"] for line in session_lines(client)] == [1]


@pytest.mark.parametrize("product_id", ["", "abc", "0", "-4", "99999999999999999999999"])
def test_a_missing_or_nonsense_product_is_refused(client, product_id):
    response = client.post(ADD, {"product": product_id, "quantity": "1"})

    assert response.status_code == 400
    assert "Choose a product." in messages_of(response)
    assert session_lines(client) == []


def test_a_quantity_above_stock_is_refused_also_summed_with_the_cart(client):
    product = ProductFactory(stock=3)

    over = add(client, product, 4)
    assert over.status_code == 400
    assert any("Only 3" in message for message in messages_of(over))
    assert session_lines(client) == []

    add(client, product, 2)
    again = add(client, product, 2)
    assert again.status_code == 400
    assert any("your cart has 2" in message for message in messages_of(again))
    assert [line["quantity"] for line in session_lines(client)] == [2]


def test_a_sold_out_product_cannot_be_added(client):
    product = ProductFactory(stock=0)

    response = add(client, product, 1)

    assert response.status_code == 400
    assert any("sold out" in message for message in messages_of(response))


def test_a_digital_product_is_bought_once(client):
    product = ProductFactory(kind=Product.Kind.DIGITAL, stock=None)

    assert add(client, product, 2).status_code == 400
    assert add(client, product, 1).status_code == 302
    second = add(client, product, 1)

    assert second.status_code == 400
    assert any("already in your cart" in message for message in messages_of(second))
    assert [line["quantity"] for line in session_lines(client)] == [1]


def _make_unavailable(product: Product, kind: str) -> None:
    if kind == "inactive":
        Product.objects.filter(pk=product.pk).update(is_active=False)
    elif kind == "archived":
        Product.objects.filter(pk=product.pk).update(archived_at=timezone.now())
    elif kind == "pending creator":
        CreatorProfile.objects.filter(pk=product.creator_id).update(
            status=CreatorProfile.Status.PENDING
        )
    elif kind == "blocked creator":
        product.creator.user.is_active = False
        product.creator.user.save()
    elif kind == "deleted":
        Product.objects.filter(pk=product.pk).delete()


UNAVAILABLE_KINDS = ["inactive", "archived", "pending creator", "blocked creator", "deleted"]


@pytest.mark.parametrize("kind", UNAVAILABLE_KINDS)
def test_a_product_not_for_sale_cannot_be_added(client, kind):
    product = ProductFactory()
    _make_unavailable(product, kind)

    response = add(client, product, 1)

    assert response.status_code == 400
    assert "This product is not for sale (any more)." in messages_of(response)
    assert session_lines(client) == []


def test_changing_the_quantity_checks_it_like_adding(client):
    product = ProductFactory(stock=4)
    add(client, product, 1)

    assert client.post(UPDATE, {"product": product.pk, "quantity": 3}).status_code == 302
    assert [line["quantity"] for line in session_lines(client)] == [3]
    for bad in ["0", "-2", "x", "5", "10000000000"]:
        response = client.post(UPDATE, {"product": product.pk, "quantity": bad})
        assert response.status_code == 400, bad
        assert [line["quantity"] for line in session_lines(client)] == [3]


def test_changing_or_removing_a_product_not_in_the_cart_is_refused(client):
    product = ProductFactory()

    update = client.post(UPDATE, {"product": product.pk, "quantity": 1})
    remove = client.post(REMOVE, {"product": product.pk})

    assert update.status_code == remove.status_code == 400
    assert "This product is not in your cart." in messages_of(remove)


def test_removing_a_line_leaves_the_others(client):
    first, second = ProductFactory(), ProductFactory()
    add(client, first)
    add(client, second)

    response = client.post(REMOVE, {"product": first.pk})

    assert response.status_code == 302
    assert [line["product"] for line in session_lines(client)] == [second.pk]


def test_a_ten_megabyte_form_is_refused_and_changes_nothing(client):
    product = ProductFactory()
    add(client, product, 1)

    response = client.post(ADD, {"product": product.pk, "quantity": "1" * 10_000_000})

    assert response.status_code == 400
    assert [line["quantity"] for line in session_lines(client)] == [1]


def test_a_cart_is_its_visitors_alone(client):
    product = ProductFactory()
    add(client, product, 2)
    stranger = Client()

    assert 'data-testid="cart-empty"' in stranger.get(CART).text
    assert stranger.post(REMOVE, {"product": product.pk}).status_code == 400
    assert stranger.post(UPDATE, {"product": product.pk, "quantity": 1}).status_code == 400
    assert [line["quantity"] for line in session_lines(client)] == [2]


def test_the_pages_take_only_posts_to_change_the_cart(client):
    product = ProductFactory()

    assert client.get(ADD, {"product": product.pk, "quantity": 1}).status_code == 405
    assert session_lines(client) == []


# --- signed-in users: the saved cart ---------------------------------------------------


def test_a_signed_in_user_changes_their_saved_cart(client):
    user = UserFactory()
    product = ProductFactory(price=Decimal("4.00"), stock=9)
    client.force_login(user)

    add(client, product, 2)
    client.post(UPDATE, {"product": product.pk, "quantity": 5})

    item = CartItem.objects.get(cart__user=user)
    assert (item.product_id, item.quantity, item.unit_price) == (product.pk, 5, Decimal("4.00"))
    assert session_lines(client) == []
    client.post(REMOVE, {"product": product.pk})
    assert not CartItem.objects.filter(cart__user=user).exists()


def test_a_user_cannot_reach_another_users_saved_cart(client):
    owner, other = UserFactory(), UserFactory()
    product = ProductFactory()
    owner_cart = Cart.objects.create(user=owner)
    CartItem.objects.create(cart=owner_cart, product=product, quantity=2, unit_price=1)
    client.force_login(other)

    assert 'data-testid="cart-empty"' in client.get(CART).text
    assert client.post(REMOVE, {"product": product.pk}).status_code == 400
    assert CartItem.objects.get(cart=owner_cart).quantity == 2


# --- products that changed since they were added ---------------------------------------


def test_a_changed_price_is_shown_and_must_be_accepted(client):
    product = ProductFactory(price=Decimal("12.50"), stock=5)
    add(client, product, 2)
    Product.objects.filter(pk=product.pk).update(price=Decimal("15.00"))

    page = client.get(CART)

    assert "price changed from 12.50\xa0EUR to 15.00\xa0EUR" in page.text
    [problem] = page.context["contents"].problems
    assert problem.kind == cart.PRICE_CHANGED
    fingerprint = page.context["contents"].problems_fingerprint
    assert client.post(ACCEPT, {"fingerprint": fingerprint}).status_code == 302
    [line] = session_lines(client)
    assert (line["quantity"], line["price"]) == (2, "15.00")
    assert client.get(CART).context["contents"].problems == []


def test_an_accept_of_what_changed_again_changes_nothing(client):
    product = ProductFactory(price=Decimal("12.50"))
    add(client, product, 1)
    Product.objects.filter(pk=product.pk).update(price=Decimal("15.00"))
    seen = client.get(CART).context["contents"].problems_fingerprint
    Product.objects.filter(pk=product.pk).update(price=Decimal("99.00"))

    response = client.post(ACCEPT, {"fingerprint": seen})

    assert response.status_code == 400
    assert [line["price"] for line in session_lines(client)] == ["12.50"]
    assert client.post(ACCEPT, {"fingerprint": ""}).status_code == 400


@pytest.mark.parametrize("kind", UNAVAILABLE_KINDS)
def test_a_product_gone_from_sale_is_flagged_and_accepting_removes_it(client, kind):
    kept = ProductFactory()
    gone = ProductFactory()
    add(client, kept)
    add(client, gone)
    _make_unavailable(gone, kind)

    page = client.get(CART)

    assert "no longer available" in page.text
    problems = page.context["contents"].problems
    assert [(problem.product_id, problem.kind) for problem in problems] == [
        (gone.pk, cart.UNAVAILABLE)
    ]
    # it cannot be changed, only removed or accepted away
    assert client.post(UPDATE, {"product": gone.pk, "quantity": 1}).status_code == 400
    client.post(ACCEPT, {"fingerprint": page.context["contents"].problems_fingerprint})
    assert [line["product"] for line in session_lines(client)] == [kept.pk]


def test_stock_fallen_below_the_quantity_is_flagged_and_accepting_lowers_it(client):
    product = ProductFactory(stock=5)
    add(client, product, 4)
    Product.objects.filter(pk=product.pk).update(stock=2)

    page = client.get(CART)

    assert "only 2 left" in page.text
    client.post(ACCEPT, {"fingerprint": page.context["contents"].problems_fingerprint})
    assert [line["quantity"] for line in session_lines(client)] == [2]


def test_a_malformed_session_cart_reads_as_the_lines_that_make_sense(client):
    product = ProductFactory()
    session = client.session
    session[cart.SESSION_KEY] = [
        {"product": product.pk, "quantity": 1, "price": "12.50", "added": "not a time"},
        {"product": "x", "quantity": 1, "price": "1"},
        {"product": 5, "quantity": -3, "price": "1"},
        {"product": 6, "quantity": 1, "price": "NaN"},
        "junk",
    ]
    session.save()

    page = client.get(CART)

    assert page.status_code == 200
    assert [entry.line.product_id for entry in page.context["contents"].entries] == [product.pk]


# --- the merge at login ------------------------------------------------------------------


def test_the_session_cart_merges_into_the_users_cart_at_login(client):
    user = UserFactory()
    shared = ProductFactory(price=Decimal("10.00"), stock=4)
    only_in_session = ProductFactory(price=Decimal("3.00"), stock=10)
    saved = Cart.objects.create(user=user)
    CartItem.objects.create(
        cart=saved,
        product=shared,
        quantity=2,
        unit_price=Decimal("9.00"),  # fixed earlier, at the older price
        added_at=timezone.now() - timezone.timedelta(days=2),
    )
    add(client, shared, 3)
    add(client, only_in_session, 2)

    response = log_in(client, user)

    assert response.status_code == 302
    items = list(CartItem.objects.filter(cart__user=user).order_by("added_at", "id"))
    assert [(i.product_id, i.quantity, i.unit_price) for i in items] == [
        (shared.pk, 4, Decimal("9.00")),  # 2 + 3 capped at the stock of 4; the older price
        (only_in_session.pk, 2, Decimal("3.00")),
    ]
    assert session_lines(client) == []
    header = client.get("/shop/")
    assert re.search(r'data-testid="cart-count">6<', header.text)


def test_a_newer_saved_line_takes_the_older_session_price_at_login(client):
    user = UserFactory()
    product = ProductFactory(price=Decimal("5.00"), stock=10)
    add(client, product, 1)  # fixed at 5.00, now
    Product.objects.filter(pk=product.pk).update(price=Decimal("6.00"))
    CartItem.objects.create(
        cart=Cart.objects.create(user=user),
        product=product,
        quantity=1,
        unit_price=Decimal("6.00"),
        added_at=timezone.now() + timezone.timedelta(minutes=1),
    )

    log_in(client, user)

    item = CartItem.objects.get(cart__user=user)
    assert (item.quantity, item.unit_price) == (2, Decimal("5.00"))


def test_a_failed_login_merges_nothing(client):
    user = UserFactory()
    add(client, ProductFactory())

    client.post("/accounts/login/", {"login": user.email, "password": "wrong"})

    assert not CartItem.objects.filter(cart__user=user).exists()
    assert len(session_lines(client)) == 1


def test_logging_out_keeps_the_saved_cart_and_empties_the_browsers(client):
    user = UserFactory()
    add(client, ProductFactory())
    log_in(client, user)

    client.post("/accounts/logout/")

    assert 'data-testid="cart-empty"' in client.get(CART).text
    assert CartItem.objects.filter(cart__user=user).count() == 1
    log_in(client, user)
    assert len(client.get(CART).context["contents"].entries) == 1
