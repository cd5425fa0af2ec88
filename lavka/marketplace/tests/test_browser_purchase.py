"""Issue 9's purchase, whole, in Debian's Chromium against a live server and a real
worker: a visitor fills a cart, logs in (the cart survives), applies a coupon and checks
out by bank transfer; a manager marks the order paid; the customer receives "order
received" and "order paid". Then the same customer pays by card through the Stripe
stand-in's hosted page, and the signed webhook marks that order paid.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from lavka.core.tests.support import wait_until
from lavka.marketplace.models import Order
from lavka.marketplace.tests.browser_helpers import add_to_cart, fill_checkout, log_in
from lavka.marketplace.tests.factories import CouponFactory, ProductFactory
from lavka.marketplace.tests.stripe_helpers import stripe_simulator

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.worker]


@pytest.fixture
def card_payments(settings: Any, live_server: Any) -> Iterator[Any]:
    """The Stripe stand-in, delivering signed webhooks to the live server."""
    with stripe_simulator(settings, live_server) as sim:
        yield sim


def mail_subjects(mail_sink: Any, address: str) -> list[str]:
    return [str(message.subject) for message in mail_sink(address)]


def wait_for_subjects(mail_sink: Any, address: str, *words: str, worker: Any) -> list[str]:
    def all_received() -> list[str] | None:
        subjects = mail_subjects(mail_sink, address)
        return subjects if all(any(w in s for s in subjects) for w in words) else None

    found = wait_until(all_received, timeout=60)
    assert found, f"{words} not all in {mail_subjects(mail_sink, address)}\n{worker.log_tail()}"
    return found


def test_cart_login_coupon_bank_transfer_staff_mark_paid_then_card_through_the_stand_in(
    browser_page: Any,
    card_payments: Any,
    customer: Any,
    manager: Any,
    celery_worker_process: Any,
    mail_sink: Any,
) -> None:
    page = browser_page
    mug = ProductFactory(title_en="Blue mug", price=Decimal("12.50"), stock=5)
    print_ = ProductFactory(title_en="Forest print", price=Decimal("30.00"), stock=3)
    CouponFactory(code="WELCOME10", value=Decimal("10"))

    # A visitor fills the cart, then logs in: the cart is still there.
    add_to_cart(page, mug, 2)
    add_to_cart(page, print_)
    assert page.locator("[data-testid=cart-count]").inner_text() == "3"
    log_in(page, customer.email)
    assert page.locator("[data-testid=cart-count]").inner_text() == "3"

    # A wrong coupon is refused with the reason; the right one takes 10 % off 55.00.
    fill_checkout(page, "bank_transfer")
    page.fill("input[name=coupon_code]", "NOSUCHCODE")
    page.click("[data-testid=apply-coupon]")
    assert page.locator("[data-testid=coupon-problem]").is_visible()
    page.fill("input[name=coupon_code]", "welcome10")
    page.click("[data-testid=apply-coupon]")
    assert page.locator("[data-testid=checkout-discount]").inner_text().startswith("\u22125.50")
    assert page.locator("[data-testid=checkout-total]").inner_text().startswith("49.50")
    page.fill("input[name=full_name]", "Anna Buyer")
    page.fill("textarea[name=address]", "1 Harbour Street\nPortsmouth PO1 1AA")
    page.click("[data-testid=place-order]")
    page.wait_for_url("**/shop/orders/*/")
    order = Order.objects.get(customer=customer)
    assert (order.total, order.status) == (Decimal("49.50"), Order.Status.AWAITING_PAYMENT)
    assert order.number in page.locator("[data-testid=payment-instructions]").inner_text()
    assert page.locator("[data-testid=cart-count]").count() == 0  # the cart was emptied

    # A manager marks it paid on the staff page.
    page.context.clear_cookies()
    log_in(page, manager.email)
    page.goto(f"/shop/staff/orders/{order.pk}/")
    page.click("[data-testid=mark-paid]")
    page.wait_for_url(f"**/shop/staff/orders/{order.pk}/")
    assert page.locator("[data-testid=order-status]").inner_text() == "paid"

    # The worker sent both emails to the customer.
    subjects = wait_for_subjects(
        mail_sink, customer.email, "received", "is paid", worker=celery_worker_process
    )
    assert len(subjects) == 2, subjects
    assert all(order.number in subject for subject in subjects), subjects

    # The same customer pays by card ("test mode") on the stand-in's hosted page.
    page.context.clear_cookies()
    log_in(page, customer.email)
    add_to_cart(page, print_)
    fill_checkout(page, "stripe")
    assert "test mode" in page.locator("main form").inner_text()
    page.click("[data-testid=place-order]")
    page.wait_for_url(f"{card_payments.url}/**")  # a form-action CSP would stop it here
    page.click("button[value=pay]")
    page.wait_for_url("**/shop/orders/*/**")
    card_order = Order.objects.exclude(pk=order.pk).get(customer=customer)
    paid = wait_until(
        lambda: Order.objects.filter(pk=card_order.pk, status=Order.Status.PAID).exists(),
        timeout=60,
    )
    assert paid, celery_worker_process.log_tail()
    page.reload()
    assert page.locator("[data-testid=order-status]").inner_text() == "paid"
    wait_for_subjects(
        mail_sink, customer.email, f"{card_order.number} is paid", worker=celery_worker_process
    )
    print_.refresh_from_db()
    assert print_.stock == 1  # 3, less one per order
