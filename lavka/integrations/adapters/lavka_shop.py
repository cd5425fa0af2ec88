"""Lavka's own online shop as a point of sale, so the marketplace's paid orders are booked
into accounting by the same path as a cash register's shifts.

One trade point per owner, "Online shop". A shift is a calendar day in the site's time
zone (`settings.TIME_ZONE`), closed at the day's last second and listed only once the day
is over (and `DAY_GRACE` has passed, so an order paid at 23:59:59 whose transaction
commits a moment later is still in it); a day with no sale and no refund of the owner's
is no shift. Its receipts:

- a sale receipt per order paid that day, with only the owner's lines of it (an order
  can hold several creators' products);
- a refund receipt per order whose refund was completed that day, with the same lines.

A line's total is what the customer paid for it: its price times its quantity less the
share of the order's coupon discount that the checkout apportioned to it. Lines carry no
accounting good (free-sale lines: name, quantity, price), so the report books them as
takings without goods. The Z-report is computed from the same lines, so it always
agrees with the receipts; it counts everything as card (non-cash) payments.

The shop takes no goods (`takes_goods` is False): the catalogue is Lavka's own. Nothing
here makes an HTTP call: the connection has no token and is never revoked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from lavka.integrations.adapters.base import (
    Account,
    PointOfSaleAdapter,
    Receipt,
    ReceiptLine,
    ReferenceItem,
    RegisterProduct,
    Shift,
    ShiftSummary,
    ZReport,
)
from lavka.marketplace.orders import selectors as orders

TRADE_POINT_PREFIX = "lavka-shop"


def shop_trade_point_id(owner_id: int) -> str:
    """The owner's shop trade point's id: it names the owner, so the report numbers made
    from it (runs.report_number) differ between owners whose tokens reach one firm."""
    return f"{TRADE_POINT_PREFIX}-{owner_id}"


# How long after midnight a day is listed: paid orders are stamped when their
# transaction runs, and one running across midnight commits a moment later.
DAY_GRACE = timedelta(minutes=10)
# The oldest day a listing goes back to, whatever it is asked for.
MAX_DAYS_LISTED = 366


class LavkaShopAdapter(PointOfSaleAdapter):
    system = "lavka_shop"
    label = "Lavka online shop"
    built_in = True  # no token, no base URL: made for an owner (services.adapter_for)
    takes_goods = False

    def __init__(self, *, owner_id: int, token: str = "", base_url: str = "") -> None:
        super().__init__(token=token, base_url=base_url)
        self.owner_id = owner_id

    # --- what every register answers ----------------------------------------------------

    def account(self) -> Account:
        return Account(external_id=str(self.owner_id), name=_("Online shop"))

    def trade_points(self) -> list[ReferenceItem]:
        return [ReferenceItem(external_id=self.trade_point_id, name=_("Online shop"), is_main=True)]

    def upsert_products(self, trade_point_id: str, products: Sequence[RegisterProduct]) -> None:
        raise TypeError("The online shop takes no goods: its catalogue is Lavka's own.")

    def archive_products(self, trade_point_id: str, external_ids: Sequence[str]) -> None:
        raise TypeError("The online shop takes no goods: its catalogue is Lavka's own.")

    def closed_shifts(
        self, trade_point_id: str, *, closed_since: datetime
    ) -> Iterator[ShiftSummary]:
        """The days that are over, closed at or after `closed_since`, with a sale or a
        refund of the owner's, oldest first."""
        self._check_point(trade_point_id)
        zone = self.zone()
        first = max(
            closed_since.astimezone(zone).date(),
            timezone.now().astimezone(zone).date() - timedelta(days=MAX_DAYS_LISTED),
        )
        if day_end(first, zone) < closed_since:
            first += timedelta(days=1)
        over = (timezone.now() - DAY_GRACE).astimezone(zone).date()  # today or later: open
        if first >= over:
            return
        days = orders.creator_sale_days(
            user_id=self.owner_id,
            start=day_start(first, zone),
            end=day_start(over, zone),
            zone=zone,
        )
        for day in sorted(days):
            if first <= day < over:
                yield ShiftSummary(
                    external_id=day.isoformat(),
                    trade_point_id=self.trade_point_id,
                    number=int(day.strftime("%Y%m%d")),
                    closed_at=day_end(day, zone),
                )

    def shift(self, trade_point_id: str, shift_id: str) -> Shift:
        """The day's receipts and their Z-report; a day not over yet is refused (its
        receipts may still change)."""
        self._check_point(trade_point_id)
        try:
            day = date.fromisoformat(shift_id)
        except ValueError:
            raise ValueError(f"The online shop has no shift {shift_id[:40]!r}.") from None
        zone = self.zone()
        start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
        if end + DAY_GRACE > timezone.now():
            raise ValueError(f"The online shop's day {day.isoformat()} is not over yet.")
        paid = orders.creator_lines_paid(user_id=self.owner_id, start=start, end=end)
        refunded = orders.creator_lines_refunded(user_id=self.owner_id, start=start, end=end)
        receipts = receipts_of(paid, is_refund=False) + receipts_of(refunded, is_refund=True)
        sales = sum((r.total for r in receipts if not r.is_refund), Decimal(0))
        refunds = sum((r.total for r in receipts if r.is_refund), Decimal(0))
        summary = ShiftSummary(
            external_id=day.isoformat(),
            trade_point_id=self.trade_point_id,
            number=int(day.strftime("%Y%m%d")),
            closed_at=day_end(day, zone),
        )
        z_report = ZReport(
            revenue=sales - refunds,
            refunds=refunds,
            cash=Decimal(0),
            card=sales - refunds,
            receipts_count=len(receipts),
        )
        return Shift(summary=summary, z_report=z_report, receipts=receipts)

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def zone() -> tzinfo:
        return timezone.get_default_timezone()

    @property
    def trade_point_id(self) -> str:
        return shop_trade_point_id(self.owner_id)

    def _check_point(self, trade_point_id: str) -> None:
        if trade_point_id != self.trade_point_id:
            raise ValueError(f"The online shop has no trade point {trade_point_id[:40]!r}.")


def day_start(day: date, zone: tzinfo) -> datetime:
    """Midnight starting `day` in `zone`, in UTC (compared as instants, not wall time)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def day_end(day: date, zone: tzinfo) -> datetime:
    """The day's last second, in `zone`: a report dated by it falls on the same day."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


def receipts_of(lines: Sequence[orders.SoldLine], *, is_refund: bool) -> list[Receipt]:
    """One receipt per order, its lines in the order given (free-sale lines: no good)."""
    by_order: dict[int, list[orders.SoldLine]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line)
    receipts = []
    for order_lines in by_order.values():
        number = order_lines[0].order_number
        receipt_lines = [
            ReceiptLine(
                product_external_id="",
                name=line.title,
                quantity=Decimal(line.quantity),
                price=line.unit_price,
                total=line.amount,
            )
            for line in order_lines
        ]
        total = sum((line.total for line in receipt_lines), Decimal(0))
        receipts.append(
            Receipt(
                external_id=f"{number}-refund" if is_refund else number,
                is_refund=is_refund,
                total=total,
                lines=receipt_lines,
                paid_by_card=total,
            )
        )
    return receipts
