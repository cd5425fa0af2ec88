"""Template filters of the sales reports."""

from __future__ import annotations

from decimal import Decimal

from django import template

from lavka.marketplace.rendering import format_price

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    """An amount in its own currency (a report holds several), not the shop's."""
    return format_price(amount, currency)
