# ruff: noqa: RUF001, RUF002 - MoeDelo speaks Russian
"""MoeDelo (restapi.moedelo.org), the accounting side: the firm, its warehouses and cash
desks, its goods, and retail sales reports sent to it.

Shapes are those of MoeDelo's public REST API as far as they are known (docs/
integrations.md and services/simulators/moedelo/README.md say which are documented and
which inferred). The key goes in the `md-api-key` header. Lists are paged with
`pageNo`/`pageSize` and answer `{"ResourceList": [...], "TotalCount": n}`.

A retail report is sent as MoeDelo books one: the shift's takings first become a retail
revenue document at the cash desk (`/accounting/api/v1/cashier/{id}/retailRevenue`), then
the retail report ("отчёт о розничной продаже": goods sold, from the warehouse) is created
and linked to it through `ReasonRevenues`. MoeDelo accepts two documents with one number,
so each step looks its number up before creating: a retry after a lost answer finds what
the first attempt made instead of booking the takings twice. A first attempt (`fresh`:
the caller knows nothing was sent yet) skips the takings' look-up, so a shift costs the
least the API allows with the report's look-up: its detail, the look-up, two creates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from lavka.core.http import BadAnswer, HttpClient, TransientHttpError, bad_answer
from lavka.integrations.adapters.base import (
    Account,
    AccountingAdapter,
    Good,
    ReferenceItem,
    RetailReport,
)

REQUISITES = "/requisites/api/v1/requisites"
STOCKS = "/stock/api/v1/stock"
GOODS = "/stock/api/v1/good"
CASHIERS = "/accounting/api/v1/cashier"
REVENUES = "/accounting/api/v1/cashier/{cashier_id}/retailRevenue"
REPORTS = "/accounting/api/v1/sales/retailreport"

# MoeDelo's `Nds` codes → Lavka's. 110 and 120 are the "calculated" rates (10/110, 20/120)
# of the same 10 % and 20 %.
VAT_RATES = {"-1": "none", "0": "0", "10": "10", "20": "20", "110": "10", "120": "20"}
NDS_NOT_CHARGED = 1  # NdsPositionType 1: the firm charges no VAT on this good
MATERIAL = 1  # Type 1: a material (used up, not sold), Type 0: a good
UNITS = {"шт": "pcs", "шт.": "pcs", "кг": "kg", "г": "g", "л": "l", "м": "m", "упак": "pack"}
MAX_PAGE_REPEATS = 3


class MoeDeloAdapter(AccountingAdapter):
    system = "moedelo"
    label = "MoeDelo"
    default_base_url = "https://restapi.moedelo.org"
    page_size = 1000  # goods per page (the simulator allows up to 5000, as MoeDelo seems to)
    reference_page_size = 100  # warehouses, cash desks, documents looked up by number
    timeout = 20.0

    def __init__(self, *, token: str, base_url: str) -> None:
        super().__init__(token=token, base_url=base_url or self.default_base_url)
        self.http = HttpClient(
            self.base_url, headers={"md-api-key": token}, system=self.system, timeout=self.timeout
        )

    @property
    def calls(self) -> int:
        """HTTP calls made so far (for the bench)."""
        return self.http.calls

    def account(self) -> Account:
        firm = self.http.get_json(REQUISITES)
        if not isinstance(firm, dict) or "Id" not in firm:
            raise bad_answer("MoeDelo: the firm's requisites have no Id", url=REQUISITES)
        name = firm.get("ShortName") or firm.get("FullName") or f"#{firm['Id']}"
        return Account(external_id=str(firm["Id"]), name=str(name))

    def cash_desks(self) -> list[ReferenceItem]:
        return [_reference(item) for item in self._listing(CASHIERS, self.reference_page_size)]

    def warehouses(self) -> list[ReferenceItem]:
        return [_reference(item) for item in self._listing(STOCKS, self.reference_page_size)]

    def goods(self) -> Iterator[Good]:
        """Goods (not materials), archived ones included. Barcodes stay empty: MoeDelo
        keeps them in a sub-resource, one more call per good."""
        for item in self._listing(GOODS, self.page_size):
            if item.get("Type", 0) != MATERIAL:
                yield _good(item)

    def find_retail_report(self, number: str) -> str | None:
        """Looks the number up with the `number` filter (inferred), checking each answer's
        Number itself: were the filter ignored, this still finds it, page by page."""
        for item in self._listing(REPORTS, self.reference_page_size, {"number": number}):
            if item.get("Number") == number:
                return _id(item, REPORTS)
        return None

    def create_retail_report(
        self,
        report: RetailReport,
        *,
        fresh: bool = False,
        between_documents: Callable[[], None] | None = None,
    ) -> str:
        """Books the takings at the cash desk (once), then the report linked to them.
        Free-sale lines have no good: they are in the takings, not among the report's
        items (as the seed did). The report's date is taken as given: pass it in the trade
        point's time zone."""
        if report.revenue < 0:
            raise bad_answer(f"MoeDelo: retail report {report.number} has negative takings")
        day = report.date.date().isoformat()
        cash_desk_id = _int(report.cash_desk_id)
        body: dict[str, Any] = {
            "Number": report.number,
            "DocDate": day,
            "StartDate": day,
            "EndDate": day,
            "StockId": _int(report.warehouse_id),
            "Items": [
                {
                    "StockProductId": _int(line.good_external_id),
                    "Count": _number(line.quantity),
                    "Sum": _number(line.total),
                }
                for line in report.lines
            ],
            "ReasonRevenues": [],
        }
        try:
            if report.revenue > 0:
                revenue_id = self._revenue(report, cash_desk_id, day, look_up=not fresh)
                body["ReasonRevenues"] = [
                    {"CashierId": cash_desk_id, "RetailRevenueId": revenue_id}
                ]
                if between_documents is not None:
                    between_documents()
            created = self.http.post_json(REPORTS, body)
        except BadAnswer as error:
            if error.status not in (400, 404):
                raise
            raise BadAnswer(
                f"MoeDelo refused retail report {report.number}: {refusal(error.excerpt)}",
                status=error.status,
                url=error.url,
                excerpt=error.excerpt,
            ) from error
        return _id(created, REPORTS)

    def _revenue(self, report: RetailReport, cash_desk_id: int, day: str, *, look_up: bool) -> int:
        path = REVENUES.format(cashier_id=cash_desk_id)
        if look_up:
            params = {"afterDate": day, "beforeDate": day, "zReportNumber": report.number}
            for item in self._listing(path, self.reference_page_size, params):
                if item.get("ZReportNumber") == report.number:
                    return int(_id(item, path))
        body = {
            "DocDate": day,
            "Sum": _number(report.revenue),
            "ZReportNumber": report.number,
            "Description": f"Lavka: {report.number}",
        }
        return int(_id(self.http.post_json(path, body), path))

    def _listing(
        self, path: str, page_size: int, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every object of a paged list, each once.

        A page the server has already given (a lagging replica answering the previous
        page again) is asked for again. Objects added or removed while the pages are read
        shift them, so one could be skipped: a TotalCount that changes on the way, or a
        listing that ends short of it, is a transient error, and a caller never takes a
        partial listing for the whole one (and archives goods that were only skipped)."""
        seen: set[str] = set()
        first_total: int | None = None
        page_no, repeats = 1, 0
        while True:
            query = {**(params or {}), "pageNo": page_no, "pageSize": page_size}
            items, total = _page(self.http.get_json(path, query), path)
            if first_total is None:
                first_total = total
            elif total != first_total:
                raise _changed(path, f"{first_total} objects, then {total}")
            fresh = [item for item in items if _id(item, path) not in seen]
            if items and not fresh:
                repeats += 1
                if repeats > MAX_PAGE_REPEATS:
                    raise TransientHttpError(
                        f"MoeDelo: {path} keeps answering an old page", url=path
                    )
                continue
            repeats = 0
            for item in fresh:
                seen.add(_id(item, path))
                yield item
            if len(items) < page_size or page_no * page_size >= total:
                break
            page_no += 1
        if len(seen) < total:
            raise _changed(path, f"{len(seen)} of {total} read")


def _changed(path: str, detail: str) -> TransientHttpError:
    return TransientHttpError(f"MoeDelo: {path} changed while it was read ({detail})", url=path)


def refusal(excerpt: str) -> str:
    """The messages of MoeDelo's refusal (`Message`, and `ModelState`'s per field)."""
    try:
        body = json.loads(excerpt)
    except ValueError:
        return excerpt or "no reason given"
    if not isinstance(body, dict):
        return excerpt
    state = body.get("ModelState")
    if isinstance(state, dict) and state:
        parts = []
        for field, messages in state.items():
            text = "; ".join(
                str(m) for m in (messages if isinstance(messages, list) else [messages])
            )
            name = str(field).removeprefix("model.")
            parts.append(f"{name}: {text}" if name else text)
        return " / ".join(parts)
    return str(body.get("Message") or excerpt)


def _page(answer: Any, path: str) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(answer, dict) or not isinstance(answer.get("ResourceList"), list):
        raise bad_answer(f"MoeDelo: {path} answered without a ResourceList", url=path)
    items = answer["ResourceList"]
    if not all(isinstance(item, dict) for item in items):
        raise bad_answer(f"MoeDelo: {path} listed something that is not an object", url=path)
    total = answer.get("TotalCount", len(items))
    if not isinstance(total, int) or isinstance(total, bool):
        raise bad_answer(f"MoeDelo: {path} answered a TotalCount that is not a number", url=path)
    return items, total


def _id(item: Any, path: str) -> str:
    value = item.get("Id") if isinstance(item, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_answer(f"MoeDelo: {path} answered an object without an Id", url=path)
    return str(value)


def _reference(item: dict[str, Any]) -> ReferenceItem:
    return ReferenceItem(
        external_id=_id(item, "reference"),
        name=str(item.get("Name") or ""),
        is_main=item.get("IsMain") is True,
    )


def _good(item: dict[str, Any]) -> Good:
    good_id = _id(item, GOODS)
    name = item.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise bad_answer(f"MoeDelo: good {good_id} has no name", url=GOODS)
    nds = str(item.get("Nds", "-1"))
    if nds not in VAT_RATES:
        raise bad_answer(
            f"MoeDelo: good {good_id} ({name}) has a VAT rate Lavka does not know: {nds}", url=GOODS
        )
    vat_rate = "none" if item.get("NdsPositionType") == NDS_NOT_CHARGED else VAT_RATES[nds]
    unit = str(item.get("UnitOfMeasurement") or "шт").strip()
    return Good(
        external_id=good_id,
        name=name.strip(),
        price=_decimal(item.get("SalePrice"), f"good {good_id} SalePrice"),
        unit=UNITS.get(unit.lower(), unit),
        vat_rate=vat_rate,
        archived=item.get("IsArchived") is True,
    )


def _decimal(value: Any, what: str) -> Decimal:
    if value is None:
        return Decimal("0")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise bad_answer(f"MoeDelo: {what} is not a number", url=GOODS)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise bad_answer(f"MoeDelo: {what} is not a number", url=GOODS) from None
    if not number.is_finite():
        raise bad_answer(f"MoeDelo: {what} is not a number", url=GOODS)
    return number


def _int(external_id: str) -> int:
    """MoeDelo's ids are integers; Lavka keeps them as strings."""
    if not external_id.isdigit():
        raise bad_answer(f"MoeDelo: {external_id!r} is not a MoeDelo id")
    return int(external_id)


def _number(value: Decimal) -> int | float:
    """Money and quantities as JSON numbers: MoeDelo's API takes no strings there."""
    return int(value) if value == value.to_integral_value() else float(value)
