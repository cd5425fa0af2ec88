"""Every back-office page and export (staff lists, creators' sales and donations, their
exports and reports, invoices) asked with hostile query strings by each role that may
open it: a NUL, line breaks, a huge value, a repeated key, a value of the wrong type.
Each answers a page, a CSV or a refusal, never an error, and echoes no markup."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from lavka.marketplace.tests.factories import CreatorProfileFactory, ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    "/shop/staff/orders/",
    "/shop/staff/orders/export/",
    "/shop/staff/donations/",
    "/shop/staff/donations/export/",
    "/shop/staff/reports/",
    "/shop/staff/reports/csv/",
]
CREATOR_PAGES = [
    "/shop/manage/sales/",
    "/shop/manage/sales/export/",
    "/shop/manage/donations/",
    "/shop/manage/donations/export/",
    "/shop/manage/reports/",
    "/shop/manage/reports/csv/",
]
NAMES = ("status", "provider", "q", "creator", "page", "date_from", "date_to", "grain")
SCRIPT = "<script>alert(1)</script>"
HOSTILE = [
    "\x00",
    "a\r\nSet-Cookie: x=1",
    SCRIPT,
    "9" * 40,
    "-1",
    "1e309",
    "x" * 20_000,
    "%00",
    "ё" * 500,
    "[]",
]


def _queries() -> list[Any]:
    cases = [
        pytest.param({name: value}, id=f"{name}-{i}")
        for name in NAMES
        for i, value in enumerate(HOSTILE)
    ]
    cases.append(pytest.param("status=paid&status=%00&q=a&q=b&page=2&page=x", id="repeated"))
    cases.append(pytest.param("prepared=" + "9" * 40, id="prepared-huge"))
    cases.append(pytest.param("prepared=%00", id="prepared-nul"))
    cases.append(pytest.param("ids=1&ids=2", id="ids-given"))
    return cases


@pytest.fixture
def sold(creator: Any, customer: Any) -> Any:
    mine = CreatorProfileFactory(user=creator)
    mug = ProductFactory(creator=mine, title_en="Mug", price=Decimal("12.50"))
    vase = ProductFactory(creator=CreatorProfileFactory(), title_en="Vase", price=Decimal("4"))
    return checkout(customer, [line(mug), line(vase)]).order


def _get(client: Client, path: str, query: Any) -> Any:
    text = query if isinstance(query, str) else urlencode(query)
    return client.get(f"{path}?{text}")


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


@pytest.mark.parametrize("query", _queries())
def test_hostile_queries_on_every_back_office_page_are_answered_not_errors(
    client: Client, manager: Any, creator: Any, superuser: Any, sold: Any, query: Any
) -> None:
    for user, paths in (
        (manager, STAFF_PAGES),
        (creator, CREATOR_PAGES),
        (superuser, STAFF_PAGES + CREATOR_PAGES),
    ):
        client.force_login(user)
        for path in paths:
            response = _get(client, path, query)
            assert response.status_code in (200, 302, 400, 404, 429), (
                f"{user.email} {path}: {response.status_code}"
            )
            body = _body(response)
            if response.get("Content-Type", "").startswith("text/html"):
                assert SCRIPT.encode() not in body, f"{path} echoed markup"
            else:  # a CSV or a plain-text refusal, which browsers must not sniff as HTML
                assert response["X-Content-Type-Options"] == "nosniff", path
            assert "Set-Cookie: x" not in str(response.serialize_headers())


@pytest.mark.parametrize("query", _queries())
def test_hostile_queries_never_show_one_creator_the_others_lines(
    client: Client, creator: Any, sold: Any, query: Any
) -> None:
    client.force_login(creator)
    for path in ("/shop/manage/sales/", "/shop/manage/sales/export/"):
        assert b"Vase" not in _body(_get(client, path, query))


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/shop/orders/{pk}/invoice.pdf", "customer"),
        ("/shop/staff/orders/{pk}/invoice.pdf", "manager"),
    ],
)
@pytest.mark.parametrize("pk", ["0", "9" * 30, str(2**63), "-1", "1.0", "%00"])
def test_invoice_with_an_id_out_of_range_is_not_found(
    client: Client, manager: Any, customer: Any, sold: Any, path: str, role: str, pk: str
) -> None:
    client.force_login(manager if role == "manager" else customer)
    assert client.get(path.format(pk=pk)).status_code == 404
