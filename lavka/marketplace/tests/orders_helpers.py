"""Helpers of the order tests: cart lines, a checkout in one call, threads that each
use their own database connection."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connections

from lavka.marketplace.models import Product
from lavka.marketplace.orders import services


@dataclass(frozen=True)
class Line:
    """A cart line as lavka.marketplace.cart.CartLine gives it."""

    product_id: int
    quantity: int
    unit_price: Decimal


def line(product: Product, quantity: int = 1, price: Decimal | None = None) -> Line:
    return Line(product.pk, quantity, product.price if price is None else price)


def details(user: Any) -> services.CustomerDetails:
    return services.CustomerDetails(
        email=user.email, full_name=user.full_name or "Buyer", address="1 Main St"
    )


def checkout(
    user: Any, lines: Sequence[Line], *, coupon: str = "", token: uuid.UUID | None = None, **kw: Any
) -> services.PlacedOrder:
    return services.place_order(
        customer=user,
        lines=lines,
        details=details(user),
        provider_code=kw.pop("provider_code", "bank_transfer"),
        checkout_token=token or uuid.uuid4(),
        coupon_code=coupon,
        **kw,
    )


def run_in_threads(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread (so with its own database connection), all
    released at once; returns each call's result or the exception it raised."""
    results: list[Any] = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except Exception as error:  # the test reads what each buyer was told
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a buyer is stuck (deadlock?)"
    return results
