"""The cart in the header of every page (registered in settings.TEMPLATES)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from lavka.marketplace.cart import cart_summary


def cart(request: HttpRequest) -> dict[str, Any]:
    """`cart_summary` (count, total, currency), read only if a template shows it: from
    the session for anonymous visitors (no query), in one query for a signed-in user."""
    return {"cart_summary": SimpleLazyObject(lambda: cart_summary(request))}
