"""Concurrent checkouts, each buyer in its own thread with its own database connection
(PostgreSQL: real row locks; SQLite: BEGIN IMMEDIATE). Run on both topologies:

    python -m pytest lavka/marketplace/tests/test_order_concurrency.py
    DATABASE_URL=postgres://... python -m pytest ... --create-db
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from lavka.accounts.tests.factories import UserFactory
from lavka.marketplace.models import Coupon, CouponRedemption, Order, Product, StockReservation
from lavka.marketplace.orders import services
from lavka.marketplace.tests.factories import CouponFactory, ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line, run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_twenty_buyers_of_five_in_stock_make_five_paid_orders_and_the_rest_hear_sold_out() -> None:
    product = ProductFactory(stock=5)
    buyers = [UserFactory() for _ in range(20)]

    results = run_in_threads([lambda b=b: checkout(b, [line(product)]) for b in buyers])
    placed = [r for r in results if isinstance(r, services.PlacedOrder)]
    refused = [r for r in results if not isinstance(r, services.PlacedOrder)]
    for result in placed:
        services.mark_paid(order=result.order)

    assert len(placed) == 5
    assert all(isinstance(r, services.CheckoutRefused) for r in refused), refused
    assert {r.code for r in refused} == {"sold_out"}
    assert all("sold out" in r.message for r in refused)
    assert Order.objects.filter(status=Order.Status.PAID).count() == 5
    assert Order.objects.count() == 5
    product.refresh_from_db()
    assert product.stock == 0
    assert StockReservation.objects.filter(state=StockReservation.State.TAKEN).count() == 5


def test_ten_checkouts_with_a_single_use_coupon_use_it_exactly_once() -> None:
    coupon = CouponFactory(code="ONCE", usage_limit=1, kind=Coupon.Kind.AMOUNT, value=Decimal(5))
    # a product each, so that no product's row lock lines the buyers up: only the coupon's
    products = [ProductFactory(stock=1, price=Decimal("20.00")) for _ in range(10)]
    buyers = [UserFactory() for _ in range(10)]

    results = run_in_threads(
        [
            lambda b=b, p=p: checkout(b, [line(p)], coupon="once")
            for b, p in zip(buyers, products, strict=True)
        ]
    )
    placed = [r for r in results if isinstance(r, services.PlacedOrder)]
    refused = [r for r in results if not isinstance(r, services.PlacedOrder)]

    assert len(placed) == 1
    assert placed[0].order.discount == Decimal("5.00")
    assert all(isinstance(r, services.CouponRefused) and r.code == "used_up" for r in refused)
    coupon.refresh_from_db()
    assert coupon.times_used == 1
    assert CouponRedemption.objects.filter(coupon=coupon).count() == 1
    assert Order.objects.count() == 1
    assert sum(Product.objects.values_list("stock", flat=True)) == 9  # refused ones hold none


def test_buyers_of_the_same_two_products_in_opposite_order_do_not_deadlock() -> None:
    first, second = ProductFactory(stock=50), ProductFactory(stock=50)
    buyers = [UserFactory() for _ in range(10)]

    def buy(index: int) -> services.PlacedOrder:
        pair = [line(first), line(second)]
        return checkout(buyers[index], pair if index % 2 else pair[::-1])

    results = run_in_threads([lambda i=i: buy(i) for i in range(10)])

    assert all(isinstance(r, services.PlacedOrder) for r in results), results
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stock, second.stock) == (40, 40)


def test_cancelling_and_buying_at_once_never_loses_or_invents_stock() -> None:
    product = ProductFactory(stock=3)
    holders = [UserFactory() for _ in range(3)]
    held = [checkout(h, [line(product)]).order for h in holders]
    buyers = [UserFactory() for _ in range(6)]

    calls = [lambda o=o: services.cancel_order(order=o, reason="test") for o in held]
    calls += [lambda b=b: checkout(b, [line(product)]) for b in buyers]
    results = run_in_threads(calls)

    bought = [r for r in results[3:] if isinstance(r, services.PlacedOrder)]
    product.refresh_from_db()
    assert all(isinstance(r, Order) for r in results[:3]), results[:3]
    assert product.stock == 3 - len(bought)
    assert Product.objects.get(pk=product.pk).stock >= 0


def test_two_tabs_checking_out_the_same_cart_at_once_both_get_its_one_order() -> None:
    """Five buyers each submit the same checkout twice at once, for stock that covers
    one order each. On PostgreSQL the later of a pair checks the token before the
    earlier commits, then waits on the product's lock and finds the stock gone: it must
    answer with the order its token placed, not "sold out"."""
    product = ProductFactory(stock=10)
    buyers = [UserFactory() for _ in range(5)]
    tokens = [uuid.uuid4() for _ in buyers]

    calls = [
        lambda b=b, t=t: checkout(b, [line(product, 2)], token=t)
        for b, t in zip(buyers, tokens, strict=True)
        for _tab in range(2)
    ]
    results = run_in_threads(calls)

    assert all(isinstance(r, services.PlacedOrder) for r in results), results
    for first, second in zip(results[::2], results[1::2], strict=True):
        assert first.order.pk == second.order.pk
        assert sorted([first.created, second.created]) == [False, True]
    assert Order.objects.count() == 5
    product.refresh_from_db()
    assert product.stock == 0
