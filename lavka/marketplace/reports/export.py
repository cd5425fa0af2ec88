"""The report as CSV (the same numbers as the page's tables, one row per currency and
period, written by lavka/core/csv_export.py) and as JSON, the form in which a worker
hands a large report's numbers to its page."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import IO, Any

from django.utils.translation import gettext as _

from lavka.core.csv_export import Row
from lavka.marketplace.reports.selectors import (
    CurrencyReport,
    PeriodNumbers,
    ProductNumbers,
    Report,
)


def header() -> list[str]:
    return [
        _("Currency"),
        _("Period"),
        _("Revenue"),
        _("Orders"),
        _("Average order"),
        _("Refunds"),
        _("Refunded"),
        _("Donations"),
        _("Donated"),
    ]


def csv_rows(report: Report) -> Iterator[Row]:
    """The header, then one row per currency and period; money as Decimal (the writer
    prints it plainly), an average of no orders as an empty cell."""
    yield header()
    for section in report.currencies:
        for numbers in section.periods:
            yield (
                section.currency,
                numbers.start,
                numbers.revenue,
                numbers.orders,
                numbers.average_order,
                numbers.refunds,
                numbers.refunded,
                numbers.donations,
                numbers.donated,
            )


# --- JSON ---------------------------------------------------------------------------------


def _period_json(numbers: PeriodNumbers) -> list[Any]:
    return [
        numbers.start.isoformat(),
        str(numbers.revenue),
        numbers.orders,
        numbers.refunds,
        str(numbers.refunded),
        numbers.donations,
        str(numbers.donated),
    ]


def _period_from(values: list[Any]) -> PeriodNumbers:
    start, revenue, orders, refunds, refunded, donations, donated = values
    return PeriodNumbers(
        start=date.fromisoformat(start),
        revenue=Decimal(revenue),
        orders=int(orders),
        refunds=int(refunds),
        refunded=Decimal(refunded),
        donations=int(donations),
        donated=Decimal(donated),
    )


def _product_json(product: ProductNumbers) -> list[Any]:
    return [product.product_id, product.title, str(product.revenue), product.quantity]


def _product_from(values: list[Any]) -> ProductNumbers:
    product_id, title, revenue, quantity = values
    return ProductNumbers(
        product_id=product_id, title=str(title), revenue=Decimal(revenue), quantity=int(quantity)
    )


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON values; money as decimal strings, never floats."""
    return {
        "date_from": report.date_from.isoformat(),
        "date_to": report.date_to.isoformat(),
        "grain": report.grain,
        "time_zone": report.time_zone,
        "currencies": [
            {
                "currency": section.currency,
                "periods": [_period_json(numbers) for numbers in section.periods],
                "total": _period_json(section.total),
                "top_by_revenue": [_product_json(p) for p in section.top_by_revenue],
                "top_by_quantity": [_product_json(p) for p in section.top_by_quantity],
            }
            for section in report.currencies
        ],
    }


def report_from_json(data: dict[str, Any]) -> Report:
    """The report `report_json` wrote, equal to the one counted."""
    return Report(
        date_from=date.fromisoformat(data["date_from"]),
        date_to=date.fromisoformat(data["date_to"]),
        grain=data["grain"],
        time_zone=data["time_zone"],
        currencies=[
            CurrencyReport(
                currency=section["currency"],
                periods=[_period_from(values) for values in section["periods"]],
                total=_period_from(section["total"]),
                top_by_revenue=[_product_from(values) for values in section["top_by_revenue"]],
                top_by_quantity=[_product_from(values) for values in section["top_by_quantity"]],
            )
            for section in data["currencies"]
        ],
    )


def write_json(
    rows: Iterable[Row], target: IO[str], *, on_batch: Callable[[int], None] | None = None
) -> int:
    """A prepared file's writer for a report page: `rows` is the one document to write."""
    written = 0
    for (document,) in rows:
        json.dump(document, target, ensure_ascii=False, separators=(",", ":"))
        written += 1
    return written
