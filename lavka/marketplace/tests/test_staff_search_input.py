"""The staff lists' search box (and the exports that reuse its filter) take any text:
digits that are not ASCII, or a number past the id column, search text instead of
failing."""

from __future__ import annotations

from typing import Any

import pytest

from lavka.core.converters import parse_id

pytestmark = pytest.mark.django_db

ODD_NUMBERS = ["²", "٣", "L-²", "D-٣", "9" * 30, "L-" + "9" * 19, "0", "\x00", "1\n2"]


@pytest.mark.parametrize("query", ODD_NUMBERS)
@pytest.mark.parametrize(
    "path",
    [
        "/shop/staff/orders/",
        "/shop/staff/orders/export/",
        "/shop/staff/donations/",
        "/shop/staff/donations/export/",
    ],
)
def test_an_odd_number_in_the_staff_search_is_searched_as_text(
    client: Any, manager: Any, path: str, query: str
) -> None:
    client.force_login(manager)

    response = client.get(path, {"q": query})

    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    ("text", "number"),
    [("17", 17), ("²", None), ("٣", None), ("0", None), ("9" * 19, None), ("", None)],
)
def test_an_id_in_text_is_ascii_digits_within_the_column(text: str, number: int | None) -> None:
    assert parse_id(text) == number
