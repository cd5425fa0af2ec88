"""The numbers of a sales report, aggregated by the database in a few GROUP BY queries.

An order is reported in the period it was paid in (the viewer's time zone). One that
was paid and has since been refunded counts as a refund, not as revenue, in that same
period, so a period's numbers add up over the same set of orders. Money is never added
across currencies: every figure is per currency.

Scope is decided here, from the acting user: staff see the whole shop; a creator sees
only their own lines (their line totals less their share of the discount) and the
donations made to them, never another creator's lines of the same order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    Max,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Trunc

from lavka.marketplace.models import CreatorProfile, Donation, Order, OrderLine

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
TOP_PRODUCTS = 10
MONEY: DecimalField[Any, Any] = DecimalField(max_digits=14, decimal_places=2)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")

# Orders that were paid: still paid, refunded since, or archived after either.
SOLD_STATUSES = (Order.Status.PAID, Order.Status.REFUNDED, Order.Status.ARCHIVED)
PAID_DONATION_STATUSES = (Donation.Status.PAID, Donation.Status.ARCHIVED)


@dataclass(frozen=True)
class Scope:
    """Whose sales a report covers: the whole shop (`creator is None`) or one creator's."""

    creator: CreatorProfile | None
    whole_shop: bool

    @property
    def empty(self) -> bool:
        return not self.whole_shop and self.creator is None


def staff_scope(user: Any) -> Scope:
    """The whole shop, for those who may read every order (`view_order`)."""
    allowed = bool(user.is_authenticated and user.has_perm("marketplace.view_order"))
    return Scope(creator=None, whole_shop=allowed)


def creator_scope(user: Any) -> Scope:
    """The user's own sales: their approved creator profile, or nothing."""
    if not user.is_authenticated:
        return Scope(creator=None, whole_shop=False)
    profile = CreatorProfile.objects.filter(user_id=user.pk, status="approved").first()
    return Scope(creator=profile, whole_shop=False)


@dataclass
class PeriodNumbers:
    """One period of one currency."""

    start: date
    revenue: Decimal = ZERO
    orders: int = 0
    refunds: int = 0
    refunded: Decimal = ZERO
    donations: int = 0
    donated: Decimal = ZERO

    @property
    def average_order(self) -> Decimal | None:
        if not self.orders:
            return None
        return (self.revenue / self.orders).quantize(CENT)


@dataclass
class ProductNumbers:
    product_id: int | None
    title: str
    revenue: Decimal
    quantity: int


@dataclass
class CurrencyReport:
    """Everything in one currency: its periods, their sum, and its top products."""

    currency: str
    periods: list[PeriodNumbers]
    total: PeriodNumbers
    top_by_revenue: list[ProductNumbers] = field(default_factory=list)
    top_by_quantity: list[ProductNumbers] = field(default_factory=list)


@dataclass
class Report:
    date_from: date
    date_to: date
    grain: Grain
    time_zone: str
    currencies: list[CurrencyReport]


def period_start(day: date, grain: Grain) -> date:
    """The first day of the period holding `day` (weeks start on Monday, as the
    database's week truncation does)."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def period_starts(date_from: date, date_to: date, grain: Grain) -> Iterator[date]:
    """Every period from the one holding `date_from` to the one holding `date_to`, so a
    chart shows the empty periods too."""
    current = period_start(date_from, grain)
    while current <= date_to:
        yield current
        if grain == "day":
            current += timedelta(days=1)
        elif grain == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)


def _bounds(date_from: date, date_to: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The range as aware instants: from the start of the first day to the start of the
    day after the last one, in the viewer's time zone."""
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def _period(field_name: str, grain: Grain, zone: ZoneInfo, start: datetime, end: datetime) -> Any:
    """The first day of the period an instant falls in, in `zone`, as a date.

    PostgreSQL truncates natively. Django's truncation on SQLite calls a Python function
    per row, seconds for 100,000 orders; there the instant is shifted by the zone's
    offset with SQLite's own date(), one offset per stretch between daylight-saving
    changes, which gives the same days."""
    if connection.vendor == "sqlite":
        return SqliteLocalPeriod(
            F(field_name), grain=grain, offsets=offset_stretches(start, end, zone)
        )
    return Trunc(field_name, grain, output_field=DateField(), tzinfo=zone)


def _offset_minutes(instant: datetime, zone: ZoneInfo) -> int:
    offset = instant.astimezone(zone).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def offset_stretches(
    start: datetime, end: datetime, zone: ZoneInfo
) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offset (minutes) over [start, end) as stretches: (until, offset),
    the last one open-ended. A change is looked for day by day and pinned to the second."""
    stretches: list[tuple[datetime | None, int]] = []
    current, moment = _offset_minutes(start, zone), start
    while True:
        probe = min(moment + timedelta(days=1), end - timedelta(seconds=1))
        if probe <= moment:
            break
        if _offset_minutes(probe, zone) == current:
            moment = probe
            continue
        # the change is in (low, high] seconds after `moment`
        low, high = 0, int((probe - moment).total_seconds())
        while high - low > 1:
            middle = (low + high) // 2
            if _offset_minutes(moment + timedelta(seconds=middle), zone) == current:
                low = middle
            else:
                high = middle
        changed_at = moment + timedelta(seconds=high)
        stretches.append((changed_at, current))
        current, moment = _offset_minutes(changed_at, zone), changed_at
    stretches.append((None, current))
    return stretches


class SqliteLocalPeriod(Func):
    """SQLite's date() of an instant shifted by the offset of its stretch, then moved
    to the start of its week (Monday) or month."""

    output_field = DateField()

    def __init__(
        self, expression: Any, *, grain: Grain, offsets: list[tuple[datetime | None, int]]
    ) -> None:
        super().__init__(expression)
        self.grain = grain
        self.offsets = offsets

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        column, column_params = compiler.compile(self.source_expressions[0])
        *changes, (_open_end, last_minutes) = self.offsets
        local = f"date({column}, %s)"
        params: list[Any] = [*column_params, f"{last_minutes:+d} minutes"]
        if changes:
            whens, when_params = [], []
            for until, minutes in changes:
                whens.append(f"WHEN {column} < %s THEN date({column}, %s)")
                until_text = connection.ops.adapt_datetimefield_value(until)
                when_params += [*column_params, until_text, *column_params, f"{minutes:+d} minutes"]
            local = f"CASE {' '.join(whens)} ELSE {local} END"
            params = [*when_params, *params]
        if self.grain == "week":
            return f"date({local}, '-6 days', 'weekday 1')", params
        if self.grain == "month":
            return f"date({local}, 'start of month')", params
        return local, params


def _money(value: Decimal | None) -> Decimal:
    """A sum as cents: SQLite hands decimals back with spurious digits."""
    return ZERO if value is None else Decimal(value).quantize(CENT)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _order_rows(
    scope: Scope, start: datetime, end: datetime, grain: Grain, zone: ZoneInfo
) -> QuerySet[Any, dict[str, Any]]:
    """One row per (period, currency): revenue and orders of orders not refunded,
    refunds (count and amount) of those refunded."""
    refunded = Q(refund__refunded_at__isnull=False)
    if scope.whole_shop:
        orders: QuerySet[Any] = Order.objects.filter(
            status__in=SOLD_STATUSES, paid_at__gte=start, paid_at__lt=end
        )
        amount: Any = F("total")
        order_id = "id"
        refunded_order = refunded
    else:
        orders = OrderLine.objects.filter(
            creator=scope.creator,
            order__status__in=SOLD_STATUSES,
            order__paid_at__gte=start,
            order__paid_at__lt=end,
        )
        amount = ExpressionWrapper(F("line_total") - F("discount"), output_field=MONEY)
        order_id = "order_id"
        refunded_order = Q(order__refund__refunded_at__isnull=False)
    prefix = "" if scope.whole_shop else "order__"
    return (
        orders.annotate(period=_period(f"{prefix}paid_at", grain, zone, start, end))
        .values("period", f"{prefix}currency")
        .annotate(
            revenue=Sum(amount, filter=~refunded_order, output_field=MONEY),
            # a creator's order may hold several of their lines; the shop's is one row
            orders=Count(order_id, filter=~refunded_order, distinct=not scope.whole_shop),
            refunded=Sum(amount, filter=refunded_order, output_field=MONEY),
            refunds=Count(order_id, filter=refunded_order, distinct=not scope.whole_shop),
        )
        .order_by()
    )


def _donation_rows(
    scope: Scope, start: datetime, end: datetime, grain: Grain, zone: ZoneInfo
) -> QuerySet[Any, dict[str, Any]]:
    donations = Donation.objects.filter(
        status__in=PAID_DONATION_STATUSES, paid_at__gte=start, paid_at__lt=end
    )
    if not scope.whole_shop:
        donations = donations.filter(creator=scope.creator)
    return (
        donations.annotate(period=_period("paid_at", grain, zone, start, end))
        .values("period", "currency")
        .annotate(donated=Sum("amount"), donations=Count("id"))
        .order_by()
    )


def _product_rows(scope: Scope, start: datetime, end: datetime) -> list[Any]:
    """Revenue and quantity per product and currency over the range, in one query;
    refunded orders do not count. The title is the one the lines were sold under (a
    deleted product keeps it)."""
    lines = OrderLine.objects.filter(
        order__status__in=SOLD_STATUSES,
        order__paid_at__gte=start,
        order__paid_at__lt=end,
        order__refund__refunded_at__isnull=True,
    )
    if not scope.whole_shop:
        lines = lines.filter(creator=scope.creator)
    return list(
        lines.values("product_id", "order__currency")
        .annotate(
            revenue=Sum(
                ExpressionWrapper(F("line_total") - F("discount"), output_field=MONEY),
                output_field=MONEY,
            ),
            quantity=Sum("quantity"),
            title=Max("title"),
        )
        .order_by()
    )


def _top_per_currency(rows: list[Any], key: str) -> dict[str, list[ProductNumbers]]:
    """The best TOP_PRODUCTS of each currency by `key` (ties by product id)."""
    found: dict[str, list[ProductNumbers]] = defaultdict(list)
    ranked = sorted(rows, key=lambda row: (-(row[key] or 0), row["product_id"] or 0))
    for row in ranked:
        kept = found[row["order__currency"]]
        if len(kept) < TOP_PRODUCTS:
            kept.append(
                ProductNumbers(
                    product_id=row["product_id"],
                    title=row["title"] or "",
                    revenue=_money(row["revenue"]),
                    quantity=row["quantity"] or 0,
                )
            )
    return found


def sales_report(
    scope: Scope, *, date_from: date, date_to: date, grain: Grain, time_zone: str
) -> Report:
    """The report of `scope` over the days `date_from`..`date_to` (both included) in
    `time_zone`; a bounded number of queries whatever the number of orders."""
    zone = ZoneInfo(time_zone)
    report = Report(date_from, date_to, grain, time_zone, currencies=[])
    if scope.empty:
        return report
    start, end = _bounds(date_from, date_to, zone)
    cells: dict[str, dict[date, PeriodNumbers]] = defaultdict(dict)

    def cell(currency: str, period: date | datetime) -> PeriodNumbers:
        day = _as_date(period)
        return cells[currency].setdefault(day, PeriodNumbers(start=day))

    currency_key = "currency" if scope.whole_shop else "order__currency"
    for row in _order_rows(scope, start, end, grain, zone):
        numbers = cell(row[currency_key], row["period"])
        numbers.revenue += _money(row["revenue"])
        numbers.orders += row["orders"]
        numbers.refunded += _money(row["refunded"])
        numbers.refunds += row["refunds"]
    for row in _donation_rows(scope, start, end, grain, zone):
        numbers = cell(row["currency"], row["period"])
        numbers.donated += _money(row["donated"])
        numbers.donations += row["donations"]

    products = _product_rows(scope, start, end)
    top_revenue = _top_per_currency(products, "revenue")
    top_quantity = _top_per_currency(products, "quantity")

    starts = list(period_starts(date_from, date_to, grain))
    for currency in sorted(cells):
        periods = [cells[currency].get(day) or PeriodNumbers(start=day) for day in starts]
        report.currencies.append(
            CurrencyReport(
                currency=currency,
                periods=periods,
                total=_sum(periods, start=starts[0]),
                top_by_revenue=top_revenue.get(currency, []),
                top_by_quantity=top_quantity.get(currency, []),
            )
        )
    return report


def _sum(periods: list[PeriodNumbers], *, start: date) -> PeriodNumbers:
    total = PeriodNumbers(start=start)
    for numbers in periods:
        total.revenue += numbers.revenue
        total.orders += numbers.orders
        total.refunds += numbers.refunds
        total.refunded += numbers.refunded
        total.donations += numbers.donations
        total.donated += numbers.donated
    return total


def orders_in_range(scope: Scope, *, date_from: date, date_to: date, time_zone: str) -> int:
    """The sold orders (paid, refunded since, archived) of `scope` paid in the range: a
    cheap estimate of the report's cost, one indexed count, for choosing between
    computing it in the request and preparing it in the background."""
    if scope.empty:
        return 0
    start, end = _bounds(date_from, date_to, ZoneInfo(time_zone))
    if scope.whole_shop:
        return Order.objects.filter(
            status__in=SOLD_STATUSES, paid_at__gte=start, paid_at__lt=end
        ).count()
    return (
        OrderLine.objects.filter(
            creator=scope.creator,
            order__status__in=SOLD_STATUSES,
            order__paid_at__gte=start,
            order__paid_at__lt=end,
        )
        .values("order_id")
        .distinct()
        .count()
    )
