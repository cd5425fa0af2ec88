"""How catalogue values are shown: Markdown made safe, prices with the currency, stock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import markdown
import nh3
from django.conf import settings
from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

LINK_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text: str) -> SafeString:
    """A creator's Markdown as HTML with anything that could run script removed (nh3
    keeps a fixed set of tags and attributes, links only to http, https and mailto)."""
    html = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    return mark_safe(nh3.clean(html, url_schemes=LINK_SCHEMES))  # noqa: S308 (cleaned)


def format_price(amount: Decimal | None, currency: str | None = None) -> str:
    """`12.50 EUR` in the active language's number format (`12,50 EUR` in Russian)."""
    if amount is None:
        return ""
    currency = currency or str(settings.LAVKA_SHOP_CURRENCY)
    return f"{number_format(amount, decimal_pos=2, use_l10n=True)}\u00a0{currency}"


# How many items left counts as "only N left".
FEW_LEFT = 5


def stock_state(product: Any) -> tuple[str, str]:
    """(key, words) for a product's stock: unlimited, sold_out, few_left or in_stock."""
    stock = product.stock
    if stock is None:
        return "unlimited", _("Unlimited")
    if stock <= 0:
        return "sold_out", _("Sold out")
    if stock <= FEW_LEFT:
        return "few_left", ngettext("Only %(count)d left", "Only %(count)d left", stock) % {
            "count": stock
        }
    return "in_stock", _("In stock")
