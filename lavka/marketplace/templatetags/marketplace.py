from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.safestring import SafeString

from lavka.marketplace import rendering

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    return rendering.render_markdown(text or "")


@register.filter
def price(amount: Decimal | None) -> str:
    return rendering.format_price(amount)


@register.simple_tag
def money(amount: Decimal | None, currency: str) -> str:
    """An amount in a stated currency (an order's, which may not be the shop's today)."""
    return rendering.format_price(amount, currency)


@register.filter
def stock_key(product: Any) -> str:
    return rendering.stock_state(product)[0]


@register.filter
def stock_words(product: Any) -> str:
    return rendering.stock_state(product)[1]
