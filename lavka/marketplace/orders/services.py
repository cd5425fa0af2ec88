"""Writes of orders: coupons checked and redeemed, the checkout, stock held, taken and
given back, order status changes and the order emails.

Concurrency, the rules every write here keeps:

- Product rows are locked one by one in ascending id order (`_lock_products`), in every
  transaction that changes stock, so two checkouts of the same products in a different
  cart order wait for each other instead of deadlocking. A coupon row is locked after
  the products, an order row before them; no transaction takes them in another order.
- Stock is taken with a conditional UPDATE (`stock >= quantity`) under that lock, and the
  database refuses a negative stock: concurrent buyers never take more than there is.
- A coupon's use is a conditional UPDATE of its counter (`times_used < usage_limit`),
  which the database also checks, so a single-use coupon is used once.
- On SQLite every transaction starts with BEGIN IMMEDIATE (settings), which serialises
  writers; `select_for_update` is a no-op there and the conditional UPDATEs still hold.

Everything a checkout writes (order, lines, stock holds, payment details, coupon use,
the "order received" email row) is one transaction: a refusal anywhere writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from lavka.core import background, mail, work
from lavka.core.composer import compose, message_id
from lavka.marketplace import payments
from lavka.marketplace.cache import catalog_changed
from lavka.marketplace.downloads import services as downloads
from lavka.marketplace.invoices import pdf as invoice_pdf
from lavka.marketplace.invoices import selectors as invoice_selectors
from lavka.marketplace.invoices import services as invoices
from lavka.marketplace.models import (
    Coupon,
    CouponRedemption,
    Order,
    OrderEmail,
    OrderLine,
    OrderPaymentDetails,
    OrderRefund,
    Product,
    StockReservation,
)
from lavka.marketplace.recommendations import services as recommendations

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
MAX_QUANTITY = 1000
MAX_LINES = 100


class CartLineLike(Protocol):
    """What the checkout needs of a cart line (lavka.marketplace.cart.CartLine)."""

    @property
    def product_id(self) -> int: ...

    @property
    def quantity(self) -> int: ...

    @property
    def unit_price(self) -> Decimal: ...


# --- refusals -----------------------------------------------------------------------------


class CheckoutRefused(Exception):
    """The checkout wrote nothing; `message` says why, for the customer."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


class CouponRefused(CheckoutRefused):
    """The coupon cannot be used; `code` is one of COUPON_REASONS."""


class OrderStateRefused(CheckoutRefused):
    """A status change that does not apply to the order as it is now."""


@dataclass(frozen=True)
class Change:
    """A difference between the cart and the shop now: a new price, or a product that can
    no longer be bought (inactive, archived, deleted)."""

    product_id: int
    title: str
    old_price: Decimal
    new_price: Decimal | None  # None: no longer for sale

    @property
    def unavailable(self) -> bool:
        return self.new_price is None


class ChangesToAccept(CheckoutRefused):
    """The cart changed since it was filled; the customer must see and accept this."""

    def __init__(self, changes: Sequence[Change]) -> None:
        super().__init__(
            _("Some products changed since you added them. Check and accept the changes."),
            code="changes",
        )
        self.changes = list(changes)
        self.fingerprint = changes_fingerprint(self.changes)


def changes_fingerprint(changes: Iterable[Change]) -> str:
    """What the customer accepted, so a change made after they looked is shown again."""
    text = ";".join(
        f"{c.product_id}:{c.old_price}:{'gone' if c.new_price is None else c.new_price}"
        for c in sorted(changes, key=lambda c: c.product_id)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32] if text else ""


# --- coupons ------------------------------------------------------------------------------


COUPON_REASONS = (
    "unknown",
    "not_yet_valid",
    "expired",
    "used_up",
    "used_by_you",
    "below_minimum",
    "not_for_these_products",
)


def find_coupon(code: str, *, lock: bool = False) -> Coupon | None:
    code = code.strip()
    if not code or len(code) > 40 or "\x00" in code:
        return None
    coupons = Coupon.objects.select_for_update() if lock else Coupon.objects.all()
    return coupons.filter(code__iexact=code).first()


def _money(amount: Decimal) -> str:
    return f"{formats.number_format(amount, 2)} {settings.LAVKA_SHOP_CURRENCY}"


def coupon_refusal(
    coupon: Coupon | None,
    *,
    customer: Any,
    eligible_subtotal: Decimal,
    has_eligible_lines: bool,
    now: datetime | None = None,
) -> CouponRefused | None:
    """Why this coupon cannot be used on these lines now, or None if it can."""
    now = now or timezone.now()
    if coupon is None:
        return CouponRefused(_("There is no such coupon."), code="unknown")
    if coupon.valid_from and now < coupon.valid_from:
        return CouponRefused(
            _("This coupon is valid from %(date)s.")
            % {"date": formats.date_format(timezone.localtime(coupon.valid_from))},
            code="not_yet_valid",
        )
    if coupon.valid_until and now >= coupon.valid_until:
        return CouponRefused(_("This coupon has expired."), code="expired")
    if coupon.usage_limit is not None and coupon.times_used >= coupon.usage_limit:
        return CouponRefused(_("This coupon has been used up."), code="used_up")
    if coupon.per_customer_limit is not None and getattr(customer, "pk", None):
        used = CouponRedemption.objects.filter(coupon=coupon, customer_id=customer.pk).count()
        if used >= coupon.per_customer_limit:
            return CouponRefused(
                _("You have used this coupon as often as it allows."), code="used_by_you"
            )
    if not has_eligible_lines:
        return CouponRefused(
            _("This coupon is for %(creator)s's products only, and none are in your cart.")
            % {"creator": coupon.creator},
            code="not_for_these_products",
        )
    if coupon.minimum_order is not None and eligible_subtotal < coupon.minimum_order:
        return CouponRefused(
            _("This coupon needs an order of at least %(amount)s.")
            % {"amount": _money(coupon.minimum_order)},
            code="below_minimum",
        )
    return None


def coupon_discount(coupon: Coupon, eligible_subtotal: Decimal) -> Decimal:
    """The discount on the lines the coupon applies to, never more than they cost."""
    if coupon.kind == Coupon.Kind.PERCENT:
        amount = (eligible_subtotal * coupon.value / 100).quantize(CENT, ROUND_HALF_UP)
    else:
        amount = coupon.value
    return min(amount, eligible_subtotal)


# --- pricing a cart -----------------------------------------------------------------------


@dataclass
class PricedLine:
    product: Product
    quantity: int
    unit_price: Decimal  # the price now, which the order is placed at
    line_total: Decimal
    discount: Decimal = Decimal("0")

    @property
    def title(self) -> str:
        return self.product.title


@dataclass
class Quote:
    """A cart priced as the shop stands now: what a checkout would write."""

    lines: list[PricedLine] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    coupon: Coupon | None = None
    coupon_problem: CouponRefused | None = None
    subtotal: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount

    @property
    def changes_fingerprint(self) -> str:
        return changes_fingerprint(self.changes)

    @property
    def needs_delivery(self) -> bool:
        """A physical product is bought: the customer must say where it goes."""
        return any(line.product.kind == Product.Kind.PHYSICAL for line in self.lines)


def normalised_lines(lines: Iterable[CartLineLike]) -> list[tuple[int, int, Decimal]]:
    """(product id, quantity, price fixed in the cart), one per product, in id order;
    CheckoutRefused for a quantity that is not a whole number from 1 to MAX_QUANTITY."""
    merged: dict[int, tuple[int, Decimal]] = {}
    for line in lines:
        quantity, product_id = line.quantity, line.product_id
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise CheckoutRefused(_("A quantity is not a whole number."), code="quantity")
        if quantity < 1 or quantity > MAX_QUANTITY:
            raise CheckoutRefused(
                _("Each quantity must be between 1 and %(max)d.") % {"max": MAX_QUANTITY},
                code="quantity",
            )
        if isinstance(product_id, bool) or not isinstance(product_id, int) or product_id < 1:
            raise CheckoutRefused(_("The cart names an unknown product."), code="product")
        previous = merged.get(product_id)
        merged[product_id] = (quantity + (previous[0] if previous else 0), line.unit_price)
    if len(merged) > MAX_LINES:
        raise CheckoutRefused(
            _("An order holds at most %(max)d different products.") % {"max": MAX_LINES},
            code="too_many",
        )
    return [(pk, quantity, price) for pk, (quantity, price) in sorted(merged.items())]


def price_lines(
    wanted: Sequence[tuple[int, int, Decimal]],
    products: dict[int, Product],
    *,
    coupon_code: str = "",
    customer: Any = None,
    lock_coupon: bool = False,
) -> Quote:
    """Price the wanted lines at today's prices, list what changed since the cart was
    filled, and apply the coupon (its refusal is kept on the quote, not raised)."""
    on_sale = set(
        Product.objects.on_sale().filter(pk__in=list(products)).values_list("pk", flat=True)
    )
    quote = Quote()
    for product_id, quantity, cart_price in wanted:
        product = products.get(product_id)
        if product is None or product_id not in on_sale:
            title = product.title if product is not None else _("A product no longer in the shop")
            quote.changes.append(Change(product_id, title, cart_price, None))
            continue
        if product.price != cart_price:
            quote.changes.append(Change(product_id, product.title, cart_price, product.price))
        total = product.price * quantity
        quote.lines.append(PricedLine(product, quantity, product.price, total))
        quote.subtotal += total
    code = coupon_code.strip()
    if code:
        coupon = find_coupon(code, lock=lock_coupon)
        eligible = [
            line
            for line in quote.lines
            if coupon is not None
            and (coupon.creator_id is None or line.product.creator_id == coupon.creator_id)
        ]
        eligible_subtotal = sum((line.line_total for line in eligible), Decimal("0"))
        quote.coupon_problem = coupon_refusal(
            coupon,
            customer=customer,
            eligible_subtotal=eligible_subtotal,
            has_eligible_lines=bool(eligible),
        )
        if quote.coupon_problem is None and coupon is not None:
            quote.coupon = coupon
            quote.discount = coupon_discount(coupon, eligible_subtotal)
            _spread_discount(quote.discount, eligible, eligible_subtotal)
    return quote


def _spread_discount(discount: Decimal, lines: list[PricedLine], subtotal: Decimal) -> None:
    """Each line's share of the discount, by its price; the last takes the rounding."""
    if not lines or subtotal <= 0:
        return
    left = discount
    for line in lines[:-1]:
        share = (discount * line.line_total / subtotal).quantize(CENT, ROUND_DOWN)
        line.discount = share
        left -= share
    lines[-1].discount = left


def quote_cart(lines: Iterable[CartLineLike], *, coupon_code: str = "", customer: Any) -> Quote:
    """The checkout page's summary (reads only)."""
    wanted = normalised_lines(lines)
    products = Product.objects.select_related("creator").in_bulk([pk for pk, _q, _p in wanted])
    return price_lines(wanted, products, coupon_code=coupon_code, customer=customer)


# --- checkout -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerDetails:
    email: str
    full_name: str
    phone: str = ""
    address: str = ""  # the delivery address, needed (and kept) for physical products only
    note: str = ""


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    created: bool  # False: this checkout token placed the order before (a second submit)


def _lock_products(product_ids: Iterable[int]) -> dict[int, Product]:
    """Lock the products' rows one at a time in ascending id order (see the module
    docstring) and return them as they are now; missing ids are left out."""
    locked: dict[int, Product] = {}
    for product_id in sorted(set(product_ids)):
        product = (
            Product.objects.select_for_update(of=("self",))
            .select_related("creator")
            .filter(pk=product_id)
            .first()
        )
        if product is not None:
            locked[product_id] = product
    return locked


def _existing_order(token: uuid.UUID, customer: Any) -> Order | None:
    order = Order.objects.filter(checkout_token=token).first()
    if order is not None and order.customer_id != customer.pk:
        raise CheckoutRefused(
            _("This checkout form was already used. Reload the page."), code="token"
        )
    return order


def place_order(
    *,
    customer: Any,
    lines: Iterable[CartLineLike],
    details: CustomerDetails,
    provider_code: str,
    checkout_token: uuid.UUID,
    coupon_code: str = "",
    accepted_changes: str = "",
    now: datetime | None = None,
) -> PlacedOrder:
    """Place an order for the customer's cart lines, in one transaction.

    Refusals (CheckoutRefused and its kinds) write nothing. A second call with the same
    `checkout_token` returns the order the first one placed. `accepted_changes` is the
    fingerprint of the changes the customer saw and accepted (ChangesToAccept carries
    it); any other difference is refused again.
    """
    try:
        provider = payments.provider(provider_code)
    except payments.UnknownProvider:
        raise CheckoutRefused(_("Choose a payment method."), code="provider") from None
    wanted = normalised_lines(lines)
    try:
        with transaction.atomic():
            existing = _existing_order(checkout_token, customer)
            if existing is not None:
                return PlacedOrder(existing, created=False)
            if not wanted:
                raise CheckoutRefused(_("Your cart is empty."), code="empty")
            order = _write_order(
                customer=customer,
                wanted=wanted,
                details=details,
                provider=provider,
                checkout_token=checkout_token,
                coupon_code=coupon_code,
                accepted_changes=accepted_changes,
                now=now or timezone.now(),
            )
    except (IntegrityError, CheckoutRefused):
        # Another tab placed an order with this token meanwhile (PostgreSQL; SQLite
        # serialises the two): that one stands, and everything written here is undone.
        # This attempt ran into the token's unique index, or first into what that order
        # took (waiting on the products' locks, it found the stock gone).
        existing = _existing_order(checkout_token, customer)
        if existing is None:
            raise
        return PlacedOrder(existing, created=False)
    return PlacedOrder(order, created=True)


def _write_order(
    *,
    customer: Any,
    wanted: list[tuple[int, int, Decimal]],
    details: CustomerDetails,
    provider: payments.PaymentProvider,
    checkout_token: uuid.UUID,
    coupon_code: str,
    accepted_changes: str,
    now: datetime,
) -> Order:
    products = _lock_products(pk for pk, _q, _p in wanted)
    quote = price_lines(
        wanted, products, coupon_code=coupon_code, customer=customer, lock_coupon=True
    )
    if quote.changes and quote.changes_fingerprint != accepted_changes:
        raise ChangesToAccept(quote.changes)
    if not quote.lines:
        raise CheckoutRefused(_("Nothing in your cart can be bought any more."), code="empty")
    if quote.coupon_problem is not None:
        raise quote.coupon_problem
    address = (
        details.address.replace("\r\n", "\n").replace("\r", "\n").strip()
        if quote.needs_delivery
        else ""
    )
    if quote.needs_delivery and not address:
        raise CheckoutRefused(
            _("Give a delivery address: your order holds products we send by post."),
            code="address",
        )
    for line in quote.lines:
        _take_stock(line.product, line.quantity)
    if quote.coupon is not None:
        _use_coupon(quote.coupon)

    order = Order.objects.create(
        customer=customer,
        email=details.email.strip(),
        full_name=details.full_name.strip(),
        phone=details.phone.strip(),
        address=address,
        note=details.note.strip(),
        language=getattr(customer, "language", "") or translation.get_language() or "en",
        currency=settings.LAVKA_SHOP_CURRENCY,
        subtotal=quote.subtotal,
        discount=quote.discount,
        total=quote.total,
        coupon=quote.coupon,
        coupon_code=quote.coupon.code if quote.coupon else "",
        checkout_token=checkout_token,
        hold_expires_at=now + timedelta(minutes=settings.LAVKA_STOCK_HOLD_MINUTES),
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=line.product,
            creator_id=line.product.creator_id,
            title=line.title[:200],
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.line_total,
            discount=line.discount,
        )
        for line in quote.lines
    )
    StockReservation.objects.bulk_create(
        StockReservation(order=order, product=line.product, quantity=line.quantity, created_at=now)
        for line in quote.lines
        if line.product.stock is not None
    )
    OrderPaymentDetails.objects.create(
        order=order,
        provider=provider.code,
        reference=provider.reference_for(order),
        amount=order.total,
        currency=order.currency,
    )
    if quote.coupon is not None:
        CouponRedemption.objects.create(
            coupon=quote.coupon, order=order, customer=customer, amount=quote.discount
        )
    _queue_email(order, OrderEmail.Kind.RECEIVED)
    return order


def _take_stock(product: Product, quantity: int) -> None:
    """Hold `quantity` units (the row is locked); refused when fewer are left."""
    if product.stock is None:
        return
    taken = Product.objects.filter(pk=product.pk, stock__gte=quantity).update(
        stock=F("stock") - quantity
    )
    if taken:
        catalog_changed()  # the lists show stock ("only 2 left", "sold out")
    if not taken:
        left = Product.objects.values_list("stock", flat=True).get(pk=product.pk) or 0
        if left <= 0:
            message = _("%(title)s is sold out.") % {"title": product.title}
        else:
            message = _("Only %(left)d of %(title)s left; lower the quantity.") % {
                "left": left,
                "title": product.title,
            }
        raise CheckoutRefused(message, code="sold_out")


def _use_coupon(coupon: Coupon) -> None:
    used = (
        Coupon.objects.filter(pk=coupon.pk)
        .filter(Q(usage_limit__isnull=True) | Q(times_used__lt=F("usage_limit")))
        .update(times_used=F("times_used") + 1)
    )
    if not used:
        raise CouponRefused(_("This coupon has been used up."), code="used_up")


def _queue_email(order: Order, kind: str) -> None:
    email, created = OrderEmail.objects.get_or_create(order=order, kind=kind)
    if created:
        work.mark_queued(OrderEmail.objects.filter(pk=email.pk))
        background.start("marketplace.send_order_email", email.pk)


# --- status changes -----------------------------------------------------------------------


def _locked_order(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def _refuse_unless_open(order: Order) -> None:
    if order.status == Order.Status.PAID:
        raise OrderStateRefused(_("This order is paid already."), code="paid")
    if order.status != Order.Status.AWAITING_PAYMENT:
        raise OrderStateRefused(
            _("This order is %(status)s; it can no longer change.")
            % {"status": order.get_status_display()},
            code="closed",
        )


@transaction.atomic
def mark_paid(
    *, order: Order, confirmed_by: Any = None, reference: str = "", now: datetime | None = None
) -> Order:
    """The payment arrived: the held stock is kept for good, the invoice is issued (its
    number taken in this transaction, so a rollback leaves no gap), the customer is told,
    and the order's products are counted as bought together (a task after the commit).

    Refused for an order that is not awaiting payment (paid already by another staff
    tab, cancelled, expired)."""
    locked = _locked_order(order.pk)
    _refuse_unless_open(locked)
    now = now or timezone.now()
    StockReservation.objects.filter(order=locked, state=StockReservation.State.HELD).update(
        state=StockReservation.State.TAKEN, settled_at=now
    )
    locked.status, locked.paid_at, locked.hold_expires_at = Order.Status.PAID, now, None
    locked.save(update_fields=["status", "paid_at", "hold_expires_at", "updated_at"])
    payment_fields: dict[str, Any] = {
        "status": OrderPaymentDetails.Status.PAID,
        "paid_at": now,
        "confirmed_by": confirmed_by if getattr(confirmed_by, "pk", None) else None,
        "updated_at": now,
    }
    if reference:
        payment_fields["reference"] = reference[:200]
    OrderPaymentDetails.objects.filter(order=locked).update(**payment_fields)
    invoices.issue_invoice(order=locked, now=now)
    _queue_email(locked, OrderEmail.Kind.PAID)
    recommendations.record_after_commit(locked)
    return locked


def _return_stock(order: Order, state: str, now: datetime) -> None:
    """Put the order's reservations in `state` (held by an unpaid order, taken by a
    paid one) back on sale, products locked in id order, and mark them released; a
    reservation is released once, so stock never comes back twice."""
    reservations = list(
        StockReservation.objects.filter(order=order, state=state).order_by("product_id")
    )
    _lock_products(r.product_id for r in reservations)
    for reservation in reservations:
        Product.objects.filter(pk=reservation.product_id, stock__isnull=False).update(
            stock=F("stock") + reservation.quantity
        )
    if reservations:
        catalog_changed()
    StockReservation.objects.filter(pk__in=[r.pk for r in reservations]).update(
        state=StockReservation.State.RELEASED, settled_at=now
    )


@transaction.atomic
def cancel_order(*, order: Order, reason: str) -> Order:
    """Cancel an unpaid order: its held stock goes back on sale and its coupon use is
    given back (products locked in id order, then the coupon)."""
    locked = _locked_order(order.pk)
    _refuse_unless_open(locked)
    now = timezone.now()
    _return_stock(locked, StockReservation.State.HELD, now)
    redemption = CouponRedemption.objects.filter(order=locked).first()
    if redemption is not None:
        Coupon.objects.select_for_update().filter(pk=redemption.coupon_id).first()
        Coupon.objects.filter(pk=redemption.coupon_id, times_used__gt=0).update(
            times_used=F("times_used") - 1
        )
        redemption.delete()
    locked.status, locked.cancelled_at = Order.Status.CANCELLED, now
    locked.cancel_reason, locked.hold_expires_at = reason[:200], None
    locked.save(
        update_fields=["status", "cancelled_at", "cancel_reason", "hold_expires_at", "updated_at"]
    )
    OrderPaymentDetails.objects.filter(order=locked).update(
        status=OrderPaymentDetails.Status.CANCELLED, updated_at=now
    )
    return locked


@transaction.atomic
def archive_order(*, order: Order) -> Order:
    """Put a finished order (paid, cancelled or refunded) out of the staff's lists."""
    locked = _locked_order(order.pk)
    if locked.status == Order.Status.ARCHIVED:
        raise OrderStateRefused(_("This order is archived already."), code="archived")
    if locked.status == Order.Status.AWAITING_PAYMENT:
        raise OrderStateRefused(
            _("This order is awaiting payment: cancel it before archiving it."), code="open"
        )
    if OrderRefund.objects.filter(order=locked, state__in=work.OPEN_STATES).exists():
        raise OrderStateRefused(
            _("A refund of this order is under way; archive it once it is done."),
            code="refund_under_way",
        )
    locked.status, locked.archived_at = Order.Status.ARCHIVED, timezone.now()
    locked.save(update_fields=["status", "archived_at", "updated_at"])
    return locked


EXPIRED_REASON = "The stock hold ran out before the payment arrived."


def release_expired_holds(*, now: datetime | None = None, limit: int = 500) -> int:
    """Cancel unpaid orders whose hold ran out, returning their stock; each order in its
    own transaction, so one that was paid meanwhile is simply left alone."""
    now = now or timezone.now()
    due = list(
        Order.objects.filter(
            status=Order.Status.AWAITING_PAYMENT, hold_expires_at__lt=now
        ).values_list("pk", flat=True)[:limit]
    )
    released = 0
    for order_id in due:
        try:
            cancel_order(order=Order(pk=order_id), reason=EXPIRED_REASON)
        except OrderStateRefused:
            continue
        released += 1
    return released


# --- refunds ------------------------------------------------------------------------------

REFUND_REASON_MAX = 500


def _refuse_unless_refundable(order: Order, existing: OrderRefund | None) -> None:
    """Refused: an order refunded already, or whose refund is under way. A refund that
    did not go through (refused, given up, or discarded on the work page) may be asked
    for again."""
    if order.status == Order.Status.REFUNDED or (
        existing is not None and existing.refunded_at is not None
    ):
        raise OrderStateRefused(_("This order is refunded already."), code="refunded")
    if existing is not None and existing.state in work.OPEN_STATES:
        raise OrderStateRefused(
            _("A refund of this order is under way already."), code="refund_under_way"
        )
    if order.status != Order.Status.PAID:
        raise OrderStateRefused(
            _("Only a paid order can be refunded; this one is %(status)s.")
            % {"status": order.get_status_display()},
            code="not_paid",
        )


def request_refund(
    *, order: Order, requested_by: Any, reason: str, reference: str = ""
) -> OrderRefund:
    """Refund a paid order in full, once.

    A manual payment was given back by staff out of band: the order is refunded now
    (`_settle_refund`), with what staff noted as `reference`. A provider's payment is
    refunded by the `marketplace.refund_order` task after this transaction commits:
    the call out never runs inside it, and the order stays paid until the provider has
    confirmed. The order's row is locked first, so of two staff (or two clicks) the
    second waits and is refused; the refund row's unique order holds even so.
    """
    reason = reason.strip()
    if not reason or len(reason) > REFUND_REASON_MAX or "\x00" in reason:
        raise OrderStateRefused(
            _("Give the reason for the refund (at most %(max)d characters).")
            % {"max": REFUND_REASON_MAX},
            code="reason",
        )
    try:
        with transaction.atomic():
            locked = _locked_order(order.pk)
            existing = OrderRefund.objects.filter(order=locked).first()
            _refuse_unless_refundable(locked, existing)
            payment = OrderPaymentDetails.objects.get(order=locked)
            provider = payments.any_provider(payment.provider)
            if provider is None:
                raise OrderStateRefused(
                    _("This order's payment method is unknown; refund it by hand."),
                    code="provider",
                )
            asked = {
                "provider": payment.provider,
                "amount": payment.amount,
                "currency": payment.currency,
                "reason": reason,
                "reference": reference.strip()[:200] if provider.confirmed_by_staff else "",
                "requested_by": requested_by if getattr(requested_by, "pk", None) else None,
                "requested_at": timezone.now(),
            }
            if existing is None:
                refund = OrderRefund.objects.create(order=locked, **asked)
            else:  # asked again after a refund that did not go through
                OrderRefund.objects.filter(pk=existing.pk).update(
                    **asked,
                    state=work.WorkState.PENDING,
                    state_changed_at=timezone.now(),
                    not_before=None,
                    attempts=0,
                    last_error="",
                    lease_owner="",
                    lease_expires_at=None,
                )
                refund = OrderRefund.objects.get(pk=existing.pk)
            if provider.confirmed_by_staff:
                _settle_refund(locked, refund, reference=refund.reference)
                OrderRefund.objects.filter(pk=refund.pk).update(**work.done_fields())
            else:
                work.mark_queued(OrderRefund.objects.filter(pk=refund.pk))
                background.start("marketplace.refund_order", refund.pk)
    except IntegrityError:
        raise OrderStateRefused(
            _("A refund of this order is under way already."), code="refund_under_way"
        ) from None
    refund.refresh_from_db()
    return refund


def record_refund_made_elsewhere(*, order: Order, reference: str, reason: str) -> OrderRefund:
    """The provider says a paid order's money went back in full (a refund made in
    Stripe's dashboard, or ours reported before our task recorded it); the order's row
    is locked by the caller. Settled like one of ours: refunded, stock back on sale, the
    customer told. A refund row of ours, whatever its state, becomes this refund (a
    task still holding it finds it done and stops)."""
    payment = OrderPaymentDetails.objects.get(order=order)
    refund = OrderRefund.objects.filter(order=order).first()
    if refund is None:
        refund = OrderRefund.objects.create(
            order=order,
            provider=payment.provider,
            amount=payment.amount,
            currency=payment.currency,
            reason=reason[:REFUND_REASON_MAX],
            **work.done_fields(),
        )
    else:
        OrderRefund.objects.filter(pk=refund.pk).update(**work.done_fields())
    _settle_refund(order, refund, reference=reference)
    return refund


def _settle_refund(order: Order, refund: OrderRefund, *, reference: str) -> None:
    """The money is back with the customer (the order's row is locked): the order is
    refunded, the physical stock it took goes back on sale (products locked in id
    order) and the customer is told.

    The coupon use is kept, unlike when an unpaid order is cancelled: the coupon was
    used on a sale that happened, and giving it back would let a single-use code be
    used again by buying and refunding (and per-customer limits count its uses)."""
    now = timezone.now()
    _return_stock(order, StockReservation.State.TAKEN, now)
    order.status = Order.Status.REFUNDED
    order.save(update_fields=["status", "updated_at"])
    OrderPaymentDetails.objects.filter(order=order).update(
        status=OrderPaymentDetails.Status.REFUNDED, updated_at=now
    )
    OrderRefund.objects.filter(pk=refund.pk).update(reference=reference[:200], refunded_at=now)
    _queue_email(order, OrderEmail.Kind.REFUNDED)


def process_refund(*, refund_id: int, take_over: bool = False) -> bool:
    """Ask the provider for one refund row's refund, outside any transaction, then
    settle the order with the row's "done" in one transaction.

    The provider refunds once however often this runs (its idempotency key is the
    order's). Busy or unreachable: retried with the kernel's backoff. Refused: the row
    waits for a person (`attention`), its error shown on the staff order page."""
    row = work.claim_one(OrderRefund.objects.filter(pk=refund_id), take_over=take_over)
    if row is None:
        return False
    order = Order.objects.select_related("payment").get(pk=row.order_id)
    provider = payments.any_provider(row.provider)
    with work.attempt(row, what="refund") as asking:
        try:
            if provider is None:
                raise payments.PaymentError(_("This order's payment method is unknown."))
            reference = provider.refund(order, known_reference=row.reference)
        except payments.AlreadyRefunded:
            reference = row.reference
        except payments.PaymentRetryLater as error:
            if error.reference:
                OrderRefund.objects.filter(pk=row.pk).update(reference=error.reference[:200])
            retry_after = work.retry_after_delay(error.retry_after)
            work.record_failure(row, error=str(error), retry_after=retry_after)
            return False
        except payments.PaymentError as error:
            work.record_failure(row, error=str(error), needs_attention=True)
            return False
    if not asking.succeeded:
        return False
    # A transient error here: the next try asks the provider again, with the same key,
    # and gets the same refund back.
    with work.attempt_to_done(row, what="recording of refund") as settling:
        locked = _locked_order(row.order_id)
        if locked.status != Order.Status.REFUNDED:
            _settle_refund(locked, row, reference=reference)
    return settling.succeeded


# --- emails -------------------------------------------------------------------------------

EMAIL_TEMPLATES = {
    OrderEmail.Kind.RECEIVED: ("marketplace/email/order_received.txt", "order-received"),
    OrderEmail.Kind.PAID: ("marketplace/email/order_paid.txt", "order-paid"),
    OrderEmail.Kind.REFUNDED: ("marketplace/email/order_refunded.txt", "order-refunded"),
}


def order_message(*, order: Order, kind: str) -> EmailMultiAlternatives:
    """The email in the customer's language (their account's, else the one they
    ordered in), with a Message-ID that a resend keeps."""
    language = order.customer.language if order.customer else order.language
    template, id_kind = EMAIL_TEMPLATES[OrderEmail.Kind(kind)]
    with translation.override(language):
        subjects = {
            OrderEmail.Kind.RECEIVED: _("We received your order %(number)s"),
            OrderEmail.Kind.PAID: _("Your order %(number)s is paid"),
            OrderEmail.Kind.REFUNDED: _("Your order %(number)s is refunded"),
        }
        subject = subjects[OrderEmail.Kind(kind)] % {"number": order.number}
        provider = payments.any_provider(order.payment.provider)
        next_step = ""
        if kind == OrderEmail.Kind.RECEIVED and provider is not None:
            next_step = provider.instructions(order)
        invoice, invoice_file = None, None
        if kind == OrderEmail.Kind.PAID:
            invoice, invoice_file = _invoice_attachment(order)
        context = {
            "order": order,
            "lines": list(order.lines.all()),
            "site_url": settings.SITE_URL,
            "next_step": next_step,
            "downloads": downloads.links_for(order) if kind == OrderEmail.Kind.PAID else [],
            "download_days": settings.LAVKA_DOWNLOAD_LINK_DAYS,
            "invoice": invoice,
            "invoice_attached": invoice_file is not None,
        }
        message = compose(
            to=order.email,
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
            text_body=render_to_string(template, context),
            stable_id=message_id(id_kind, order.pk),
        )
    if invoice is not None and invoice_file is not None:
        message.attach(invoice.filename, invoice_file, "application/pdf")
    return message


def _invoice_attachment(order: Order) -> tuple[Any, bytes | None]:
    """The paid order's invoice and its PDF; without the PDF when it cannot be made
    here (the email then links to the order page, where it can be downloaded later),
    the reason logged."""
    invoice = invoice_selectors.invoice_of(order)
    if invoice is None:
        logger.warning("order %s: paid without an invoice; the email goes without it", order.pk)
        return None, None
    invoice.order = order
    try:
        return invoice, invoice_pdf.render(invoice)
    except invoice_pdf.InvoiceUnavailable as error:
        logger.warning(
            "order %s: invoice %s not attached, the email links to the order page: %s",
            order.pk,
            invoice.number,
            error,
        )
        return invoice, None


def send_order_email(*, order_email_id: int, take_over: bool = False) -> bool:
    """Send one order email row; a duplicate or late message finds it claimed or done."""
    row = work.claim_one(OrderEmail.objects.filter(pk=order_email_id), take_over=take_over)
    if row is None:
        return False
    order = (
        Order.objects.select_related("customer", "payment")
        .prefetch_related("lines")
        .get(pk=row.order_id)
    )
    if not mail.send_for(
        row, lambda: order_message(order=order, kind=row.kind), what="order email"
    ):
        return False
    with transaction.atomic():
        if work.complete(row):
            OrderEmail.objects.filter(pk=row.pk).update(sent_at=timezone.now())
    return True
