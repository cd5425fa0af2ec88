"""The cart API (/api/v1/cart/): the caller's own database cart, refusals as 400s with the
field at fault, another user's lines as 404s."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from lavka.accounts import services as account_services
from lavka.accounts.tests.factories import UserFactory
from lavka.marketplace.models import Cart, CartItem, Product
from lavka.marketplace.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CART = "/api/v1/cart/"
ITEMS = "/api/v1/cart/items/"


def bearer(user: Any) -> dict[str, str]:
    issued = account_services.create_api_token(user=user, name="script")
    return {"HTTP_AUTHORIZATION": f"Bearer {issued.raw}"}


@pytest.fixture
def buyer():
    return UserFactory()


@pytest.fixture
def auth(buyer):
    return bearer(buyer)


def post(client: Any, data: Any, auth: dict[str, str]) -> Any:
    return client.post(ITEMS, data, content_type="application/json", **auth)


def patch(client: Any, pk: Any, data: Any, auth: dict[str, str]) -> Any:
    return client.patch(f"{ITEMS}{pk}/", data, content_type="application/json", **auth)


def quantities(user: Any) -> list[tuple[int, int]]:
    return list(
        CartItem.objects.filter(cart__user=user)
        .order_by("added_at", "id")
        .values_list("product_id", "quantity")
    )


def test_without_credentials_the_cart_is_401(client):
    assert client.get(CART).status_code == 401
    assert client.post(ITEMS, {}, content_type="application/json").status_code == 401


def test_a_token_user_adds_changes_reads_and_removes(client, buyer, auth):
    product = ProductFactory(price=Decimal("12.50"), stock=5)

    created = post(client, {"product": product.pk, "quantity": 2}, auth)
    assert created.status_code == 201, created.json()
    line = created.json()
    assert (line["product"], line["quantity"], line["unit_price"]) == (product.pk, 2, "12.50")
    assert line["line_total"] == "25.00" and line["available"] is True

    again = post(client, {"product": product.pk, "quantity": 1}, auth)
    assert again.status_code == 201 and again.json()["quantity"] == 3

    changed = patch(client, line["id"], {"quantity": 5}, auth)
    assert changed.status_code == 200 and changed.json()["quantity"] == 5

    whole = client.get(CART, **auth).json()
    assert (whole["count"], whole["total"], whole["currency"]) == (5, "62.50", "EUR")
    assert [entry["id"] for entry in whole["lines"]] == [line["id"]]
    assert client.get(f"{ITEMS}{line['id']}/", **auth).json()["quantity"] == 5

    assert client.delete(f"{ITEMS}{line['id']}/", **auth).status_code == 204
    assert quantities(buyer) == []
    assert client.delete(f"{ITEMS}{line['id']}/", **auth).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": -1}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "2"}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"quantity": 10**30}, "quantity"),
        ({"quantity": 1000}, "quantity"),
        ({"quantity": 6}, "quantity"),  # above stock
        ({"product": "abc"}, "product"),
        ({"product": 0}, "product"),
        ({"product": 10**30}, "product"),
        ({"product": 2**63 - 1}, "product"),  # no such product
        ({"product": None}, "product"),
    ],
)
def test_bad_input_to_add_is_a_400_at_its_field_and_changes_nothing(
    client, buyer, auth, body, field
):
    product = ProductFactory(stock=5)
    post(client, {"product": product.pk, "quantity": 1}, auth)

    response = post(client, {"product": product.pk, "quantity": 1, **body}, auth)

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert quantities(buyer) == [(product.pk, 1)]


@pytest.mark.parametrize("payload", [[], "text", 5, {"product": [1], "quantity": {}}])
def test_a_body_of_the_wrong_shape_is_a_400(client, auth, payload):
    assert post(client, payload, auth).status_code == 400


def test_a_ten_megabyte_body_is_refused(client, buyer, auth):
    product = ProductFactory()

    response = post(client, {"product": product.pk, "quantity": 1, "x": "y" * 10_000_000}, auth)

    assert response.status_code == 400
    assert "detail" in response.json()
    assert quantities(buyer) == []


def test_a_form_body_is_refused(client, auth):
    product = ProductFactory()

    response = client.post(ITEMS, {"product": product.pk, "quantity": 1}, **auth)

    assert response.status_code == 415


@pytest.mark.parametrize("kind", ["inactive", "archived"])
def test_a_product_not_for_sale_is_refused_and_flagged_in_the_cart(client, buyer, auth, kind):
    product = ProductFactory(price=Decimal("3.00"))
    line = post(client, {"product": product.pk, "quantity": 1}, auth).json()
    change = {"is_active": False} if kind == "inactive" else {"archived_at": "2030-01-01T00:00Z"}
    Product.objects.filter(pk=product.pk).update(**change)

    assert post(client, {"product": product.pk, "quantity": 1}, auth).status_code == 400
    refused = patch(client, line["id"], {"quantity": 2}, auth)
    assert refused.status_code == 400 and "product" in refused.json()
    whole = client.get(CART, **auth).json()
    assert whole["lines"][0]["available"] is False
    assert [problem["kind"] for problem in whole["problems"]] == ["unavailable"]
    assert quantities(buyer) == [(product.pk, 1)]


def test_a_changed_price_is_reported_with_both_prices(client, auth):
    product = ProductFactory(price=Decimal("12.50"))
    post(client, {"product": product.pk, "quantity": 1}, auth)
    Product.objects.filter(pk=product.pk).update(price=Decimal("9.99"))

    whole = client.get(CART, **auth).json()

    [problem] = whole["problems"]
    assert (problem["kind"], problem["old_price"], problem["new_price"]) == (
        "price_changed",
        "12.50",
        "9.99",
    )
    assert whole["lines"][0]["unit_price"] == "12.50"
    assert whole["lines"][0]["current_price"] == "9.99"
    assert whole["total"] == "12.50"
    assert whole["problems_fingerprint"]


@pytest.mark.parametrize("quantity", [0, -3, "1", 7, 10**20])
def test_bad_quantities_to_change_are_refused(client, buyer, auth, quantity):
    product = ProductFactory(stock=6)
    line = post(client, {"product": product.pk, "quantity": 2}, auth).json()

    response = patch(client, line["id"], {"quantity": quantity}, auth)

    assert response.status_code == 400 and "quantity" in response.json()
    assert quantities(buyer) == [(product.pk, 2)]


def test_an_empty_patch_changes_nothing(client, buyer, auth):
    product = ProductFactory()
    line = post(client, {"product": product.pk, "quantity": 2}, auth).json()

    response = patch(client, line["id"], {}, auth)

    assert response.status_code == 200 and response.json()["quantity"] == 2
    assert quantities(buyer) == [(product.pk, 2)]


def test_another_users_line_is_a_404_for_every_method(client, buyer, auth):
    other = UserFactory()
    product = ProductFactory()
    theirs = CartItem.objects.create(
        cart=Cart.objects.create(user=other), product=product, quantity=2, unit_price=1
    )
    url = f"{ITEMS}{theirs.pk}/"

    assert client.get(url, **auth).status_code == 404
    assert patch(client, theirs.pk, {"quantity": 1}, auth).status_code == 404
    assert client.delete(url, **auth).status_code == 404
    assert CartItem.objects.get(pk=theirs.pk).quantity == 2
    assert client.get(CART, **auth).json()["lines"] == []


@pytest.mark.parametrize("pk", ["0", "abc", "99999999999999999999"])
def test_a_nonsense_line_id_is_the_json_404(client, auth, pk):
    response = client.get(f"{ITEMS}{pk}/", **auth)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_api_and_the_site_share_the_users_cart(client, buyer, auth):
    product = ProductFactory()
    post(client, {"product": product.pk, "quantity": 2}, auth)
    client.force_login(buyer)

    page = client.get("/shop/cart/")

    assert [entry.line.quantity for entry in page.context["contents"].entries] == [2]


def test_the_schema_documents_the_cart(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert {"/api/v1/cart/", "/api/v1/cart/items/", "/api/v1/cart/items/{id}/"} <= set(
        schema["paths"]
    )
    post_op = schema["paths"]["/api/v1/cart/items/"]["post"]
    assert {"201", "400", "401"} <= set(post_op["responses"])
    item = schema["paths"]["/api/v1/cart/items/{id}/"]
    assert {"get", "patch", "delete"} <= set(item)
    assert "404" in item["delete"]["responses"]
