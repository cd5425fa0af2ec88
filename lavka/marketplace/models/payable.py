"""What an order or a donation tells a payment provider about its lines (here, not in
`payments`, because models must not import the providers that read them)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class PayableItem:
    """One line of what is paid for, as a payment page lists it."""

    name: str
    unit_price: Decimal
    quantity: int = 1
    description: str = ""
