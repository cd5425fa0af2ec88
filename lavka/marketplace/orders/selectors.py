"""Reads of orders, scoped to the caller: a customer sees their own orders, a creator
only their own lines of the orders that hold their products, staff (`view_order`) all.

Totals are computed by the database from the lines (seed 003's aggregation), next to
the snapshot stored at checkout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from lavka.core.converters import parse_id
from lavka.marketplace.models import CreatorProfile, Order, OrderLine, OrderRefund

MAX_ID = 2**63 - 1
MONEY: DecimalField[Any, Any] = DecimalField(max_digits=14, decimal_places=2)


def with_totals(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Each order with `lines_subtotal` (sum of unit price times quantity), `lines_discount`
    and `lines_total`, computed by the database."""
    subtotal = Coalesce(
        Sum(ExpressionWrapper(F("lines__unit_price") * F("lines__quantity"), output_field=MONEY)),
        Value(0, output_field=MONEY),
        output_field=MONEY,
    )
    discount = Coalesce(Sum("lines__discount"), Value(0, output_field=MONEY), output_field=MONEY)
    return orders.annotate(lines_subtotal=subtotal, lines_discount=discount).annotate(
        lines_total=ExpressionWrapper(F("lines_subtotal") - F("lines_discount"), output_field=MONEY)
    )


def _with_related(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("payment", "customer").prefetch_related("lines")


def can_see_all_orders(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and user.has_perm("marketplace.view_order")
    )


def orders_of(user: Any) -> QuerySet[Order]:
    """The user's own orders, newest first."""
    if not getattr(user, "is_authenticated", False):
        return Order.objects.none()
    return _with_related(Order.objects.filter(customer_id=user.pk))


def own_order(user: Any, pk: int) -> Order | None:
    if not 0 < pk <= MAX_ID:
        return None
    return orders_of(user).filter(pk=pk).first()


def orders_visible_to(user: Any) -> QuerySet[Order]:
    """Staff see every order; anyone else their own (the API's scope)."""
    if can_see_all_orders(user):
        return _with_related(Order.objects.all())
    return orders_of(user)


@dataclass(frozen=True)
class StaffFilter:
    status: str = ""
    provider: str = ""
    query: str = ""  # an email, a name or an order number (L-000123 or 123)


def staff_orders(wanted: StaffFilter) -> QuerySet[Order]:
    """Every order for the staff list; archived ones only when asked for by status."""
    orders = staff_orders_matching(wanted).select_related("payment", "customer")
    return with_totals(orders).order_by("-created_at", "-id")


def staff_orders_matching(wanted: StaffFilter) -> QuerySet[Order]:
    """The orders of the staff list's filter, without its joins and totals: what the
    list shows and its CSV export holds are the same rows."""
    orders = Order.objects.all()
    if wanted.status:
        orders = orders.filter(status=wanted.status)
    else:
        orders = orders.exclude(status=Order.Status.ARCHIVED)
    if wanted.provider:
        orders = orders.filter(payment__provider=wanted.provider)
    query = wanted.query.strip()
    if query:
        match = Q(email__icontains=query) | Q(full_name__icontains=query)
        number = parse_id(query.upper().removeprefix("L-").lstrip("0"))
        if number is not None:
            match |= Q(pk=number)
        orders = orders.filter(match)
    return orders.order_by("-created_at", "-id")


def staff_order(pk: int) -> Order | None:
    if not 0 < pk <= MAX_ID:
        return None
    return (
        with_totals(Order.objects.filter(pk=pk))
        .select_related("payment", "payment__confirmed_by", "customer", "coupon")
        .prefetch_related("lines", "reservations")
        .first()
    )


def refund_of(order: Order) -> OrderRefund | None:
    """The order's refund (requested, done or failed), with who asked for it."""
    return OrderRefund.objects.select_related("requested_by").filter(order=order).first()


def creator_profile(user: Any) -> CreatorProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return CreatorProfile.objects.filter(user_id=user.pk, status="approved").first()


def sales_of(profile: CreatorProfile) -> QuerySet[Order]:
    """Orders holding the creator's products, each with only the creator's own lines
    (`own_lines`) and their sum computed by the database (`own_total`)."""
    own_lines = OrderLine.objects.filter(creator=profile).order_by("id")
    return (
        Order.objects.filter(lines__creator=profile)
        .annotate(
            own_total=Sum(
                ExpressionWrapper(
                    F("lines__unit_price") * F("lines__quantity") - F("lines__discount"),
                    output_field=MONEY,
                ),
                filter=Q(lines__creator=profile),
            )
        )
        .prefetch_related(Prefetch("lines", queryset=own_lines, to_attr="own_lines"))
        .order_by("-created_at", "-id")
    )


def creator_sale_lines(profile: CreatorProfile) -> QuerySet[OrderLine]:
    """The creator's own lines of every order in `sales_of`, newest order first and
    grouped by order: what their sales export is made of."""
    return OrderLine.objects.filter(creator=profile).order_by(
        "-order__created_at", "-order_id", "id"
    )


def sale_of(profile: CreatorProfile, pk: int) -> Order | None:
    if not 0 < pk <= MAX_ID:
        return None
    return sales_of(profile).filter(pk=pk).first()


# --- a creator's shop sales, for bookkeeping --------------------------------------------


@dataclass(frozen=True)
class SoldLine:
    """One of a creator's lines of a paid (or refunded) order: `amount` is what the
    customer paid for it, its price times quantity less its share of the order's
    discount (apportioned at checkout)."""

    order_id: int
    order_number: str
    title: str
    quantity: int
    unit_price: Decimal
    amount: Decimal
    at: datetime  # when the order was paid (or refunded)


def _sold_lines(lines: QuerySet[OrderLine], moment: str) -> list[SoldLine]:
    rows = lines.order_by(moment, "order_id", "id").values_list(
        "order_id", "title", "quantity", "unit_price", "discount", moment
    )
    return [
        SoldLine(
            order_id=order_id,
            order_number=f"L-{order_id:06d}",
            title=title,
            quantity=quantity,
            unit_price=unit_price,
            amount=unit_price * quantity - discount,
            at=at,
        )
        for order_id, title, quantity, unit_price, discount, at in rows
    ]


def creator_lines_paid(*, user_id: int, start: datetime, end: datetime) -> list[SoldLine]:
    """The creator's lines of orders paid in [start, end) — refunded or archived since
    included: they were paid then."""
    lines = OrderLine.objects.filter(
        creator__user_id=user_id, order__paid_at__gte=start, order__paid_at__lt=end
    )
    return _sold_lines(lines, "order__paid_at")


def creator_lines_refunded(*, user_id: int, start: datetime, end: datetime) -> list[SoldLine]:
    """The creator's lines of orders whose refund was completed in [start, end)."""
    lines = OrderLine.objects.filter(
        creator__user_id=user_id,
        order__paid_at__isnull=False,
        order__refund__refunded_at__gte=start,
        order__refund__refunded_at__lt=end,
    )
    return _sold_lines(lines, "order__refund__refunded_at")


def creator_sale_days(*, user_id: int, start: datetime, end: datetime, zone: tzinfo) -> set[date]:
    """The days (in `zone`) within [start, end) on which an order holding the creator's
    products was paid or refunded."""
    lines = OrderLine.objects.filter(creator__user_id=user_id)
    paid = lines.filter(order__paid_at__gte=start, order__paid_at__lt=end).annotate(
        day=TruncDate("order__paid_at", tzinfo=zone)
    )
    refunded = lines.filter(
        order__paid_at__isnull=False,
        order__refund__refunded_at__gte=start,
        order__refund__refunded_at__lt=end,
    ).annotate(day=TruncDate("order__refund__refunded_at", tzinfo=zone))
    days = set(paid.values_list("day", flat=True).distinct())
    return days | set(refunded.values_list("day", flat=True).distinct())
