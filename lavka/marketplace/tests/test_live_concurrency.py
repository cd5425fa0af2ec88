"""Issue 9's concurrency measures through a live server: real HTTP, the server's own
request threads, and buyers each with their own session who log in through the login
form, fill their carts on the product pages and press "Place order" all at once.

The service-level races are in test_order_concurrency.py; these prove the same through
the pages (sessions, CSRF, the checkout token, the views' answers). Card payments go
through the Stripe stand-in, and its webhooks are applied by a real worker process.
Run on both topologies:

    python -m pytest lavka/marketplace/tests/test_live_concurrency.py
    DATABASE_URL=postgres://... python -m pytest ... --create-db
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from lavka.accounts.tests.factories import UserFactory
from lavka.core import sweeping
from lavka.core.roles import Role
from lavka.core.tests.support import wait_until
from lavka.marketplace.models import (
    CartItem,
    Coupon,
    CouponRedemption,
    Order,
    OrderEmail,
    PaymentEvent,
    Product,
    StockReservation,
)
from lavka.marketplace.tests.factories import CouponFactory, ProductFactory
from lavka.marketplace.tests.live_buyers import Buyer, order_id_of, page_text
from lavka.marketplace.tests.orders_helpers import run_in_threads
from lavka.marketplace.tests.stripe_helpers import (
    WEBHOOK_PATH,
    order_session_event,
    post_event,
    stripe_simulator,
)
from services.simulators.stripe.testing import submit_payment_page, wait_idle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def buyers(live_server: Any, count: int) -> list[Buyer]:
    """`count` customers, each logged in through the login form in a session of its own."""
    made = [Buyer(live_server.url, UserFactory().email) for _ in range(count)]
    for buyer in made:
        buyer.log_in()
    return made


@pytest.fixture
def card_shop(settings: Any, live_server: Any) -> Iterator[Any]:
    """The shop with "Card (test mode)" on the Stripe stand-in, whose webhooks reach the
    live server."""
    with stripe_simulator(settings, live_server) as sim:
        yield sim


def settle_payment_events() -> bool:
    """True once every stored webhook event is applied. A cancelling event that came
    while its session's payment was in flight waits a moment and is queued again by the
    kernel's sweeper, which a beat process would run: here the test is that process."""
    sweeping.requeue_lost_work(models=[PaymentEvent])
    return not PaymentEvent.objects.exclude(state="done").exists()


def paid_mails(mail_sink: Any, email: str) -> list[Any]:
    return [m for m in mail_sink(email) if "is paid" in m.subject]


@pytest.mark.worker
def test_twenty_buyers_of_five_in_stock_pay_by_card_five_and_fifteen_hear_sold_out(
    live_server: Any, card_shop: Any, celery_worker_process: Any, mail_sink: Any
) -> None:
    product = ProductFactory(title_en="Teapot", stock=5, price=Decimal("19.90"))
    crowd = buyers(live_server, 20)
    pages = []
    for buyer in crowd:
        buyer.add_to_cart(product)
        pages.append(buyer.open_checkout())

    def buy_and_pay(index: int) -> tuple[str, Any]:
        buyer = crowd[index]
        answer = buyer.place_order(pages[index], payment_method="stripe")
        if answer.status_code != 302:
            return "refused", answer
        assert answer.headers["Location"].startswith(card_shop.url + "/c/pay/"), answer.headers
        status, back = submit_payment_page(answer.headers["Location"], "pay")
        assert status == 303, status
        return "paid", buyer.get(back)  # back on the shop: "the payment is being confirmed"

    results = run_in_threads([lambda i=i: buy_and_pay(i) for i in range(20)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    paid = [(crowd[i], r[1]) for i, r in enumerate(results) if r[0] == "paid"]
    refused = [r[1] for r in results if r[0] == "refused"]
    assert len(paid) == 5 and len(refused) == 15
    assert {r.status_code for r in refused} == {400}
    assert all("Teapot is sold out." in page_text(r) for r in refused)
    assert all(page.status_code == 200 and "order-status" in page.text for _b, page in paid)

    wait_idle(card_shop, timeout=30)
    settled = wait_until(
        lambda: (
            settle_payment_events() and Order.objects.filter(status=Order.Status.PAID).count() == 5
        ),
        timeout=90,
    )
    assert settled, celery_worker_process.log_tail()
    assert Order.objects.count() == 5
    assert set(Order.objects.values_list("email", flat=True)) == {b.email for b, _p in paid}
    product.refresh_from_db()
    assert product.stock == 0
    assert StockReservation.objects.filter(state=StockReservation.State.TAKEN).count() == 5
    assert set(PaymentEvent.objects.values_list("outcome", flat=True)) == {"paid"}
    sent = wait_until(lambda: not OrderEmail.objects.exclude(state="done").exists(), timeout=60)
    assert sent, celery_worker_process.log_tail()
    assert OrderEmail.objects.filter(kind=OrderEmail.Kind.PAID).count() == 5
    for buyer, page in paid:
        order_page = buyer.get(f"/shop/orders/{order_id_of(page.url)}/")
        assert re.search(r'data-testid="order-status">paid<', order_page.text)
        assert len(paid_mails(mail_sink, buyer.email)) == 1


def test_ten_checkouts_with_a_single_use_coupon_use_it_once_and_nine_hear_used_up(
    live_server: Any,
) -> None:
    coupon = CouponFactory(code="ONCE", usage_limit=1, kind=Coupon.Kind.AMOUNT, value=Decimal(5))
    # a product each, so that no product's row lock lines the buyers up: only the coupon's
    products = [ProductFactory(stock=1, price=Decimal("20.00")) for _ in range(10)]
    crowd = [Buyer(live_server.url, UserFactory().email) for _ in range(10)]
    for buyer, product in zip(crowd, products, strict=True):
        buyer.add_to_cart(product)  # as a visitor: the cart must survive logging in
    run_in_threads([buyer.log_in for buyer in crowd])  # all at once, too
    pages = [buyer.open_checkout() for buyer in crowd]

    answers = run_in_threads(
        [lambda i=i: crowd[i].place_order(pages[i], coupon="once") for i in range(10)]
    )

    assert not [a for a in answers if isinstance(a, BaseException)], answers
    placed = [a for a in answers if a.status_code == 302]
    refused = [a for a in answers if a.status_code != 302]
    assert len(placed) == 1 and len(refused) == 9
    assert {r.status_code for r in refused} == {400}
    assert all("This coupon has been used up." in page_text(r) for r in refused)
    order = Order.objects.get()
    assert order.pk == order_id_of(placed[0].headers["Location"])
    assert order.discount == Decimal("5.00") and order.total == Decimal("15.00")
    coupon.refresh_from_db()
    assert coupon.times_used == 1
    assert CouponRedemption.objects.filter(coupon=coupon).count() == 1
    assert sum(Product.objects.values_list("stock", flat=True)) == 9  # refused ones hold none


def test_buyers_of_two_products_in_opposite_cart_order_all_get_them_and_staff_mark_each_once(
    live_server: Any,
) -> None:
    """Half the buyers put A then B in the cart, half B then A; all check out at once
    (bank transfer). Then two staff members press "Mark paid" on every order at once."""
    first, second = ProductFactory(stock=50), ProductFactory(stock=50)
    crowd = buyers(live_server, 10)
    pages = []
    for index, buyer in enumerate(crowd):
        for product in (first, second) if index % 2 else (second, first):
            buyer.add_to_cart(product)
        pages.append(buyer.open_checkout())

    # a deadlock would show as a 500 (PostgreSQL breaks it), a request timeout or a
    # thread still stuck when run_in_threads gives up
    answers = run_in_threads([lambda i=i: crowd[i].place_order(pages[i]) for i in range(10)])

    assert not [a for a in answers if isinstance(a, BaseException)], answers
    assert [a.status_code for a in answers] == [302] * 10, [a.text[:500] for a in answers]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stock, second.stock) == (40, 40)
    assert StockReservation.objects.filter(state=StockReservation.State.HELD).count() == 20

    orders = [order_id_of(a.headers["Location"]) for a in answers]
    staff = [UserFactory(roles=[Role.MANAGER]).email for _ in range(2)]
    # a session per click, so that each reads only its own message
    desks = [(Buyer(live_server.url, email), pk) for pk in orders for email in staff]
    for desk, _pk in desks:
        desk.log_in()
    clicks = [
        lambda d=desk, pk=pk: d.post_form(
            f"/shop/staff/orders/{pk}/", f"/shop/staff/orders/{pk}/mark-paid/", {}
        )
        for desk, pk in desks
    ]
    marked = run_in_threads(clicks)

    assert not [m for m in marked if isinstance(m, BaseException)], marked
    assert {m.status_code for m in marked} == {302}
    said = [
        page_text(desk.get(m.headers["Location"]))
        for (desk, _pk), m in zip(desks, marked, strict=True)
    ]
    assert Order.objects.filter(status=Order.Status.PAID).count() == 10
    assert OrderEmail.objects.filter(kind=OrderEmail.Kind.PAID).count() == 10
    assert sum("is now paid." in page for page in said) == 10
    assert sum("This order is paid already." in page for page in said) == 10
    assert StockReservation.objects.filter(state=StockReservation.State.TAKEN).count() == 20


def test_the_same_checkout_sent_twice_at_once_places_one_order_per_buyer(
    live_server: Any,
) -> None:
    """A second tab or a double click: the same form of the same session, posted twice
    at the same moment, by five buyers at once. On PostgreSQL the later of a pair waits
    on the product's lock, then finds the checkout token taken and gives the first's order."""
    product = ProductFactory(stock=10)
    crowd = buyers(live_server, 5)
    calls = []
    for buyer in crowd:
        buyer.add_to_cart(product, 2)
        page = buyer.open_checkout()
        tab = Buyer(live_server.url, buyer.email)
        tab.http.cookies.update(buyer.http.cookies)  # the same browser: the same session
        calls += [lambda b=buyer, p=page: b.place_order(p), lambda t=tab, p=page: t.place_order(p)]

    answers = run_in_threads(calls)

    assert not [a for a in answers if isinstance(a, BaseException)], answers
    assert [a.status_code for a in answers] == [302] * 10, [a.text[:500] for a in answers]
    targets = [order_id_of(a.headers["Location"]) for a in answers]
    assert all(targets[i] == targets[i + 1] for i in range(0, 10, 2)), targets
    assert Order.objects.count() == 5
    assert set(Order.objects.values_list("pk", flat=True)) == set(targets)
    product.refresh_from_db()
    assert product.stock == 0
    assert StockReservation.objects.count() == 5
    assert not CartItem.objects.exists()


@pytest.mark.worker
def test_webhook_storm_through_the_live_server_makes_one_state_change_and_one_email(
    live_server: Any, card_shop: Any, celery_worker_process: Any, mail_sink: Any
) -> None:
    """The same checkout.session.completed 50 times from 20 threads, then a late
    expired, at the live server's webhook while a real worker applies them."""
    product = ProductFactory(title_en="Kettle", stock=1)
    (buyer,) = buyers(live_server, 1)
    buyer.add_to_cart(product)
    answer = buyer.place_order(buyer.open_checkout(), payment_method="stripe")
    assert answer.headers["Location"].startswith(card_shop.url + "/c/pay/")
    order = Order.objects.get()
    webhook = live_server.url + WEBHOOK_PATH
    completed = order_session_event(order, "completed")
    expired = order_session_event(order, "expired")

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _i: post_event(webhook, completed), range(50)))
    assert answers == [200] * 50
    assert post_event(webhook, expired) == 200

    assert wait_until(settle_payment_events, timeout=90), celery_worker_process.log_tail()
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert product.stock == 0
    outcomes = sorted(PaymentEvent.objects.values_list("event_type", "outcome"))
    assert outcomes == [
        ("checkout.session.completed", "paid"),
        ("checkout.session.expired", "ignored"),
    ]
    assert OrderEmail.objects.filter(order=order, kind=OrderEmail.Kind.PAID).count() == 1
    sent = wait_until(
        lambda: not OrderEmail.objects.filter(order=order).exclude(state="done").exists(),
        timeout=60,
    )
    assert sent, celery_worker_process.log_tail()
    mails = paid_mails(mail_sink, buyer.email)
    assert len(mails) == 1
    assert order.number in mails[0].subject
