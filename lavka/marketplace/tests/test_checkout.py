"""The checkout service: one transaction writes the order, its lines, payment details,
stock holds, coupon use and the email row; every refusal writes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from lavka.marketplace.models import (
    Coupon,
    CouponRedemption,
    Order,
    OrderEmail,
    OrderLine,
    OrderPaymentDetails,
    Product,
    StockReservation,
)
from lavka.marketplace.orders import selectors, services
from lavka.marketplace.tests.factories import CouponFactory, CreatorProfileFactory, ProductFactory
from lavka.marketplace.tests.orders_helpers import Line, checkout, line

pytestmark = pytest.mark.django_db


def nothing_written() -> bool:
    return not (
        Order.objects.exists()
        or OrderLine.objects.exists()
        or OrderPaymentDetails.objects.exists()
        or StockReservation.objects.exists()
        or CouponRedemption.objects.exists()
        or OrderEmail.objects.exists()
    )


# --- what a checkout writes ------------------------------------------------------------------


def test_checkout_writes_order_lines_payment_details_holds_and_email_row_at_once(customer):
    book = ProductFactory(price=Decimal("12.50"), stock=4)
    ebook = ProductFactory(price=Decimal("3.00"), kind=Product.Kind.DIGITAL, stock=None)

    order = checkout(customer, [line(book, 2), line(ebook)]).order

    assert order.status == Order.Status.AWAITING_PAYMENT
    assert (order.subtotal, order.discount, order.total) == (
        Decimal("28.00"),
        Decimal("0"),
        Decimal("28.00"),
    )
    assert [(x.title, x.quantity, x.line_total) for x in order.lines.order_by("id")] == [
        (book.title, 2, Decimal("25.00")),
        (ebook.title, 1, Decimal("3.00")),
    ]
    payment = order.payment
    assert (payment.provider, payment.reference, payment.amount, payment.currency) == (
        "bank_transfer",
        order.number,
        Decimal("28.00"),
        "EUR",
    )
    assert payment.status == OrderPaymentDetails.Status.PENDING
    book.refresh_from_db()
    assert book.stock == 2
    assert list(order.reservations.values_list("product_id", "quantity", "state")) == [
        (book.pk, 2, "held")
    ]  # an unlimited product holds nothing
    assert OrderEmail.objects.filter(order=order, kind="received").count() == 1
    assert order.hold_expires_at is not None


def test_the_database_computes_the_same_totals_as_the_snapshot(customer):
    coupon = CouponFactory(code="TEN", value=Decimal("10"))
    products = [ProductFactory(price=Decimal(p)) for p in ("9.99", "0.35", "120.00")]

    order = checkout(customer, [line(p, 3) for p in products], coupon=coupon.code).order
    computed = selectors.with_totals(Order.objects.filter(pk=order.pk)).get()

    assert computed.lines_subtotal == order.subtotal == Decimal("391.02")
    assert computed.lines_discount == order.discount == Decimal("39.10")
    assert computed.lines_total == order.total == Decimal("351.92")


def test_the_same_checkout_token_twice_makes_one_order(customer):
    product = ProductFactory(stock=5)
    token = uuid.uuid4()

    first = checkout(customer, [line(product)], token=token)
    second = checkout(customer, [line(product)], token=token)

    assert first.created and not second.created
    assert second.order.pk == first.order.pk
    assert Order.objects.count() == 1
    product.refresh_from_db()
    assert product.stock == 4


def test_another_customers_checkout_token_is_refused(customer, other_customer):
    product = ProductFactory()
    token = uuid.uuid4()
    checkout(customer, [line(product)], token=token)

    with pytest.raises(services.CheckoutRefused) as refused:
        checkout(other_customer, [line(product)], token=token)

    assert refused.value.code == "token"
    assert Order.objects.count() == 1


# --- bad carts -------------------------------------------------------------------------------


def test_an_empty_cart_is_refused(customer):
    with pytest.raises(services.CheckoutRefused) as refused:
        checkout(customer, [])

    assert refused.value.code == "empty"
    assert "empty" in refused.value.message
    assert nothing_written()


@pytest.mark.parametrize("quantity", [0, -1, 1001, "2", 2.0, True, None])
def test_a_quantity_that_is_not_a_whole_number_from_1_is_refused(customer, quantity):
    product = ProductFactory()

    with pytest.raises(services.CheckoutRefused) as refused:
        checkout(customer, [Line(product.pk, quantity, product.price)])  # type: ignore[arg-type]

    assert refused.value.code == "quantity"
    assert nothing_written()


def test_a_quantity_above_stock_is_refused_and_nothing_is_held(customer):
    plenty = ProductFactory(stock=10)
    scarce = ProductFactory(stock=2)

    with pytest.raises(services.CheckoutRefused) as refused:
        checkout(customer, [line(plenty, 5), line(scarce, 3)])

    assert refused.value.code == "sold_out"
    assert "Only 2" in refused.value.message
    assert nothing_written()
    plenty.refresh_from_db()
    assert plenty.stock == 10  # its hold, taken first, was rolled back


def test_a_sold_out_product_says_so(customer):
    product = ProductFactory(stock=0)

    with pytest.raises(services.CheckoutRefused) as refused:
        checkout(customer, [line(product)])

    assert refused.value.message == f"{product.title} is sold out."


@pytest.mark.parametrize("code", ["stripe", "paypal", ""])
def test_an_unknown_payment_method_is_refused(customer, settings, code):
    settings.LAVKA_PAYMENT_PROVIDERS = ["bank_transfer", "cash_on_delivery"]  # not Stripe
    with pytest.raises(services.CheckoutRefused) as refused:
        checkout(customer, [line(ProductFactory())], provider_code=code)

    assert refused.value.code == "provider"
    assert nothing_written()


@pytest.mark.parametrize(
    "make_unavailable",
    [
        lambda p: Product.objects.filter(pk=p.pk).update(is_active=False),
        lambda p: Product.objects.filter(pk=p.pk).update(archived_at=timezone.now()),
        lambda p: p.delete(),
    ],
    ids=["inactive", "archived", "deleted"],
)
def test_a_product_no_longer_for_sale_must_be_accepted_then_is_left_out(customer, make_unavailable):
    kept = ProductFactory(price=Decimal("5.00"))
    gone = ProductFactory(price=Decimal("7.00"))
    lines, gone_id = [line(kept), line(gone)], gone.pk
    make_unavailable(gone)

    with pytest.raises(services.ChangesToAccept) as refused:
        checkout(customer, lines)
    assert nothing_written()
    assert [(c.product_id, c.unavailable) for c in refused.value.changes] == [(gone_id, True)]

    order = checkout(customer, lines, accepted_changes=refused.value.fingerprint).order
    assert [x.product_id for x in order.lines.all()] == [kept.pk]
    assert order.total == Decimal("5.00")


def test_a_changed_price_must_be_accepted_and_the_order_takes_the_new_price(customer):
    product = ProductFactory(price=Decimal("10.00"))
    in_cart = line(product, 2)
    Product.objects.filter(pk=product.pk).update(price=Decimal("11.00"))

    with pytest.raises(services.ChangesToAccept) as refused:
        checkout(customer, [in_cart])
    (change,) = refused.value.changes
    assert (change.old_price, change.new_price) == (Decimal("10.00"), Decimal("11.00"))

    order = checkout(customer, [in_cart], accepted_changes=refused.value.fingerprint).order
    assert order.total == Decimal("22.00")


def test_a_change_after_the_customer_accepted_is_shown_again(customer):
    product = ProductFactory(price=Decimal("10.00"))
    in_cart = line(product)
    Product.objects.filter(pk=product.pk).update(price=Decimal("11.00"))
    with pytest.raises(services.ChangesToAccept) as seen:
        checkout(customer, [in_cart])
    Product.objects.filter(pk=product.pk).update(price=Decimal("15.00"))

    with pytest.raises(services.ChangesToAccept) as again:
        checkout(customer, [in_cart], accepted_changes=seen.value.fingerprint)

    assert again.value.changes[0].new_price == Decimal("15.00")
    assert nothing_written()


def test_nothing_left_to_buy_is_refused(customer):
    product = ProductFactory()
    lines = [line(product)]
    Product.objects.filter(pk=product.pk).update(is_active=False)
    with pytest.raises(services.ChangesToAccept) as refused:
        checkout(customer, lines)

    with pytest.raises(services.CheckoutRefused) as empty:
        checkout(customer, lines, accepted_changes=refused.value.fingerprint)

    assert empty.value.code == "empty"
    assert nothing_written()


# --- coupons ---------------------------------------------------------------------------------


def refusal_of(customer, coupon_code, lines):
    with pytest.raises(services.CouponRefused) as refused:
        checkout(customer, lines, coupon=coupon_code)
    assert nothing_written() or Order.objects.count() == 1
    return refused.value


def test_coupon_codes_are_case_insensitive_and_unique_that_way(customer):
    CouponFactory(code="Spring")
    product = ProductFactory(price=Decimal("50.00"))

    order = checkout(customer, [line(product)], coupon="  sPRING ").order

    assert (order.discount, order.total, order.coupon_code) == (
        Decimal("5.00"),
        Decimal("45.00"),
        "Spring",
    )
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CouponFactory(code="SPRING")


def test_each_coupon_refusal_gives_its_reason(customer):
    now = timezone.now()
    creator = CreatorProfileFactory()
    cheap = ProductFactory(price=Decimal("10.00"))
    lines = [line(cheap)]
    CouponFactory(code="LATER", valid_from=now + timedelta(days=1))
    CouponFactory(code="OLD", valid_until=now - timedelta(seconds=1))
    CouponFactory(code="GONE", usage_limit=0)
    CouponFactory(code="BIG", minimum_order=Decimal("50"))
    CouponFactory(code="THEIRS", creator=creator)

    reasons = {
        code: refusal_of(customer, code, lines)
        for code in ("NOPE", "LATER", "OLD", "GONE", "BIG", "THEIRS")
    }

    assert {code: r.code for code, r in reasons.items()} == {
        "NOPE": "unknown",
        "LATER": "not_yet_valid",
        "OLD": "expired",
        "GONE": "used_up",
        "BIG": "below_minimum",
        "THEIRS": "not_for_these_products",
    }
    assert "50.00" in reasons["BIG"].message
    assert str(creator) in reasons["THEIRS"].message
    assert nothing_written()


def test_a_per_customer_limit_counts_the_customers_own_uses(customer, other_customer):
    CouponFactory(code="ONE-EACH", per_customer_limit=1)
    product = ProductFactory(stock=10)
    checkout(customer, [line(product)], coupon="one-each")

    again = refusal_of(customer, "one-each", [line(product)])
    someone_else = checkout(other_customer, [line(product)], coupon="one-each").order

    assert again.code == "used_by_you"
    assert someone_else.discount > 0


def test_a_creators_coupon_discounts_only_that_creators_lines(customer):
    creator = CreatorProfileFactory()
    theirs = ProductFactory(creator=creator, price=Decimal("30.00"))
    other = ProductFactory(price=Decimal("70.00"))
    CouponFactory(code="CREATOR", creator=creator, kind=Coupon.Kind.AMOUNT, value=Decimal(50))

    order = checkout(customer, [line(theirs), line(other)], coupon="creator").order

    assert order.discount == Decimal("30.00")  # never more than the lines it applies to
    discounts = dict(order.lines.values_list("product_id", "discount"))
    assert discounts == {theirs.pk: Decimal("30.00"), other.pk: Decimal("0.00")}


def test_a_percent_discount_is_spread_over_lines_to_the_cent(customer):
    products = [ProductFactory(price=Decimal("0.10")) for _ in range(3)]
    CouponFactory(code="THIRD", value=Decimal("33.33"))

    order = checkout(customer, [line(p) for p in products], coupon="third").order

    assert order.discount == Decimal("0.10")
    assert sum(order.lines.values_list("discount", flat=True)) == order.discount


def test_the_coupon_counter_moves_with_each_use(customer, other_customer):
    coupon = CouponFactory(code="COUNT", usage_limit=5)
    product = ProductFactory()

    checkout(customer, [line(product)], coupon="count")
    checkout(other_customer, [line(product)], coupon="count")

    coupon.refresh_from_db()
    assert coupon.times_used == 2
    assert coupon.redemptions.count() == 2


# --- after the checkout ----------------------------------------------------------------------


def test_marking_paid_keeps_the_stock_and_queues_the_paid_email(customer, manager):
    product = ProductFactory(stock=3)
    order = checkout(customer, [line(product, 2)]).order

    services.mark_paid(order=order, confirmed_by=manager)

    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payment.status == "paid" and order.payment.confirmed_by == manager
    assert product.stock == 1
    assert list(order.reservations.values_list("state", flat=True)) == ["taken"]
    assert OrderEmail.objects.filter(order=order, kind="paid").count() == 1
    with pytest.raises(services.OrderStateRefused) as twice:
        services.mark_paid(order=order)
    assert twice.value.code == "paid"
    assert OrderEmail.objects.filter(order=order, kind="paid").count() == 1


def test_cancelling_returns_the_stock_and_the_coupon_use(customer):
    coupon = CouponFactory(code="BACK", usage_limit=1)
    product = ProductFactory(stock=3)
    order = checkout(customer, [line(product, 2)], coupon="back").order

    services.cancel_order(order=order, reason="changed my mind")

    order.refresh_from_db()
    product.refresh_from_db()
    coupon.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.payment.status == "cancelled"
    assert product.stock == 3
    assert coupon.times_used == 0 and not coupon.redemptions.exists()
    assert list(order.reservations.values_list("state", flat=True)) == ["released"]
    with pytest.raises(services.OrderStateRefused):
        services.mark_paid(order=order)


def test_only_finished_orders_are_archived(customer):
    order = checkout(customer, [line(ProductFactory())]).order

    with pytest.raises(services.OrderStateRefused) as refused:
        services.archive_order(order=order)
    assert refused.value.code == "open"

    services.mark_paid(order=order)
    services.archive_order(order=order)
    order.refresh_from_db()
    assert order.status == Order.Status.ARCHIVED
    assert order.paid_at is not None  # archiving keeps the history


def test_expired_holds_are_released_and_paid_or_fresh_orders_are_left_alone(settings, customer):
    settings.LAVKA_STOCK_HOLD_MINUTES = 30
    product = ProductFactory(stock=10)
    past = timezone.now() - timedelta(minutes=31)
    expired = checkout(customer, [line(product, 2)], now=past).order
    paid = checkout(customer, [line(product, 3)], now=past).order
    services.mark_paid(order=paid)
    fresh = checkout(customer, [line(product, 1)]).order

    released = services.release_expired_holds()

    assert released == 1
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {expired.pk: "cancelled", paid.pk: "paid", fresh.pk: "awaiting_payment"}
    assert Order.objects.get(pk=expired.pk).cancel_reason == services.EXPIRED_REASON
    product.refresh_from_db()
    assert product.stock == 10 - 3 - 1
    assert services.release_expired_holds() == 0


def test_customers_are_recorded_with_their_language(user_factory):
    russian = user_factory(language="ru")

    order = checkout(russian, [line(ProductFactory())]).order

    assert order.language == "ru"
