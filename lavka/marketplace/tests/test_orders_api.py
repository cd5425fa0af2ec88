"""/api/v1/orders/: read-only; a caller's own orders, staff every order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lavka.marketplace.orders import services
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def test_anonymous_callers_get_401(client):
    assert client.get(ORDERS).status_code == 401


def test_a_customer_lists_and_reads_only_their_own_orders(client, customer, other_customer):
    mine = checkout(customer, [line(ProductFactory(price=Decimal("4.50")), 2)]).order
    theirs = checkout(other_customer, [line(ProductFactory())]).order
    client.force_login(customer)

    listed = client.get(ORDERS).json()
    detail = client.get(f"{ORDERS}{mine.pk}/").json()

    assert [o["id"] for o in listed["results"]] == [mine.pk]
    assert detail["number"] == mine.number
    assert detail["total"] == "9.00" and detail["currency"] == "EUR"
    assert detail["lines"][0]["quantity"] == 2
    assert detail["payment"]["provider"] == "bank_transfer"
    assert detail["payment"]["status"] == "pending"
    other = client.get(f"{ORDERS}{theirs.pk}/")
    assert other.status_code == 404 and other.json() == {"detail": "Not found."}


def test_staff_see_every_order_and_filter_by_status(client, manager, customer, other_customer):
    paid = checkout(customer, [line(ProductFactory())]).order
    services.mark_paid(order=paid)
    open_ = checkout(other_customer, [line(ProductFactory())]).order
    client.force_login(manager)

    every = {o["id"] for o in client.get(ORDERS).json()["results"]}
    only_paid = [o["id"] for o in client.get(f"{ORDERS}?status=paid").json()["results"]]

    assert every == {paid.pk, open_.pk}
    assert only_paid == [paid.pk]
    assert client.get(f"{ORDERS}{open_.pk}/").status_code == 200


@pytest.mark.parametrize(
    "query", ["status=bogus", "status=paid&status=cancelled", "status=%00", "page=0", "page=x"]
)
def test_bad_query_parameters_are_refused(client, customer, query):
    client.force_login(customer)

    response = client.get(f"{ORDERS}?{query}")

    assert response.status_code in {400, 404}
    assert "detail" in response.json()


@pytest.mark.parametrize("pk", ["abc", "0", "99999999999999999999", "-1"])
def test_odd_ids_are_the_json_404(client, customer, pk):
    client.force_login(customer)

    response = client.get(f"{ORDERS}{pk}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_api_writes_nothing(client, customer):
    order = checkout(customer, [line(ProductFactory())]).order
    client.force_login(customer)

    for method in (client.post, client.put, client.patch, client.delete):
        response = method(f"{ORDERS}{order.pk}/", {}, content_type="application/json")
        assert response.status_code in {403, 405}
    order.refresh_from_db()
    assert order.status == "awaiting_payment"
