"""TEMP cart stub: only what the checkout reads, until the real cart (marketplace-cart)
lands. Drop this commit at merge; the real module has the same names."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

SESSION_KEY = "lavka_orders_stub_cart"


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: int
    unit_price: Decimal  # the price fixed when the product was added


def cart_lines(request: Any) -> list[CartLine]:
    raw = request.session.get(SESSION_KEY, [])
    return [CartLine(int(e["product_id"]), int(e["quantity"]), Decimal(e["price"])) for e in raw]


def clear_cart(request: Any) -> None:
    request.session.pop(SESSION_KEY, None)
