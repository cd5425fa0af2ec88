"""A closed shift → the retail report accounting books for it.

What the report holds (as the seed did, and as MoeDelo books retail):

- `revenue`: the shift's takings from the Z-report, which is NET of refunds (sales -
  refunds = cash + card) and includes free sales. It must equal what the receipts add
  up to (sales - refunds); a Z-report that disagrees with its receipts is a partial or
  broken answer and nothing is booked from it (`ShiftProblem`).
- `lines`: the goods sold, from the receipts, one line per good: quantities and totals of
  sales minus refunds. A good refunded as much as or more than it sold in the shift (the
  return of an earlier shift's sale) has no line: accounting takes no line with a count
  of zero or below, and a return is a document of its own that Lavka does not send yet;
  its refund is in the takings all the same.
- `free_sale_total`: free-sale lines (an amount typed in at the register, no product:
  "Свободная продажа") have no good; they are in the takings, not among the lines, as
  the seed left them out of the items.

A receipt that sells a product accounting does not have (one created by hand on the
register, not sent by Lavka) cannot be booked: `UnknownProducts` names each, and the
shift waits for a person (map or create the good in accounting, sync goods, retry the
shift) instead of being retried blindly or booked without it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from lavka.integrations.adapters.base import RetailReport, RetailReportLine, Shift


class ShiftProblem(ValueError):
    """A shift that cannot be booked as it is; the message says why, for the owner."""


class UnknownProducts(ShiftProblem):
    def __init__(self, shift: Shift, unknown: dict[str, str]) -> None:
        self.product_ids = sorted(unknown)
        named = ", ".join(f"{unknown[pid]} (id {pid})" for pid in self.product_ids[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        super().__init__(
            f"Shift {shift.summary.number} sells products the accounting system does not "
            f"have: {named}{more}. Create or link them in accounting, sync goods, then "
            "retry the shift."
        )


@dataclass(frozen=True)
class MappingIds:
    """Where a trade point's shifts go in accounting."""

    cash_desk_id: str
    warehouse_id: str


def retail_report_for(
    shift: Shift,
    mapping_ids: MappingIds,
    number: str,
    *,
    known_goods: Collection[str] | None = None,
) -> RetailReport:
    """The shift's retail report (see the module docstring). `known_goods`: the ids of
    accounting's goods sold here (None: not checked, accounting refuses unknown ones).
    The report's date is the shift's closing time as the register gives it, in its own
    offset (the trade point's local day)."""
    quantities: dict[str, Decimal] = {}
    totals: dict[str, Decimal] = {}
    names: dict[str, str] = {}
    free_sales = receipts_total = Decimal(0)
    for receipt in shift.receipts:
        sign = -1 if receipt.is_refund else 1
        receipts_total += sign * receipt.total
        for line in receipt.lines:
            if not line.product_external_id:
                free_sales += sign * line.total
                continue
            good = line.product_external_id
            quantities[good] = quantities.get(good, Decimal(0)) + sign * line.quantity
            totals[good] = totals.get(good, Decimal(0)) + sign * line.total
            names.setdefault(good, line.name)
    z = shift.z_report
    if receipts_total != z.revenue:
        raise ShiftProblem(
            f"Shift {shift.summary.number}: the Z-report's revenue {z.revenue} differs from "
            f"its receipts' {receipts_total} (sales minus refunds); not booked."
        )
    if known_goods is not None:
        unknown = {good: names[good] for good in quantities if good not in known_goods}
        if unknown:
            raise UnknownProducts(shift, unknown)
    lines = [
        RetailReportLine(good_external_id=good, quantity=quantities[good], total=totals[good])
        for good in sorted(quantities, key=_id_order)
        if quantities[good] > 0 and totals[good] >= 0
    ]
    return RetailReport(
        number=number,
        date=shift.summary.closed_at,
        warehouse_id=mapping_ids.warehouse_id,
        cash_desk_id=mapping_ids.cash_desk_id,
        revenue=z.revenue,
        lines=lines,
        free_sale_total=free_sales,
    )


def _id_order(external_id: str) -> tuple[int, str]:
    return (int(external_id), "") if external_id.isdigit() else (1 << 62, external_id)
