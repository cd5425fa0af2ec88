"""Path converters shared by the apps' urls.py."""

from __future__ import annotations

from django.urls import register_converter

# The largest primary key (BigAutoField): 2**63 - 1.
MAX_ID = 9_223_372_036_854_775_807


def parse_id(text: str) -> int | None:
    """A primary key typed or sent as text (a search, a reference in a webhook), or None:
    ASCII digits only ("²" and "٣" pass str.isdigit), within the column's range."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


class IdConverter:
    """`<id:pk>`: a primary key, 1 to 2**63 - 1. Anything else matches no route (so it is
    the same 404 as a missing object) instead of reaching the database, where raw SQL
    fails on a number too large for a column (SQLite: OverflowError; PostgreSQL: out of
    range)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= MAX_ID:
            raise ValueError(value)
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
