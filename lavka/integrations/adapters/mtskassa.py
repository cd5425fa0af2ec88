"""MTS Kassa (cloud cash registers) as a `PointOfSaleAdapter`.

MTS Kassa publishes no API documentation: every path and field here is inferred from the
calls the seed's client made (`Authorization: Token <hex>`, a tax list to check the
token, trade units, bulk products, shifts whose detail is `data[0].z_report` and
`data[0].documents`) and is what `services/simulators/mtskassa` serves. When a real
account is at hand, this module and the simulator are the two places to correct.

Calls: the shift listing is paged 100 at a time and a shift's detail is one call with
every receipt, so reading N shifts costs N + ⌈N/100⌉ calls.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from lavka.core.http import HttpClient, TransientHttpError, bad_answer
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
    shift_summary_problem,
)

T = TypeVar("T")

# Lavka's VAT codes (base.Good.vat_rate) to the register's tax codes (GET /api/v1/taxes).
TAX_CODES = {
    "none": "none",
    "0": "vat0",
    "5": "vat5",
    "7": "vat7",
    "10": "vat10",
    "20": "vat20",
    "22": "vat22",
}
MEASURES = {"pcs": "pcs", "kg": "kg", "l": "l", "m": "m", "service": "service"}
# How often a listing page may come back holding only shifts already seen (a server
# whose paging lags) before the listing gives up for now, rather than skip a page.
MAX_REPEATED_PAGES = 3


class MtsKassaAdapter(PointOfSaleAdapter):
    system = "mtskassa"
    label = "MTS Kassa"
    batch_size = 100  # products per bulk request; the register refuses more with a 400
    page_size = 100  # shifts per listing page (the most it serves)

    def __init__(self, *, token: str, base_url: str, timeout: float = 20.0) -> None:
        super().__init__(token=token, base_url=base_url)
        self.http = HttpClient(
            base_url,
            headers={"Authorization": f"Token {token}"},
            system=self.system,
            timeout=timeout,
        )

    @property
    def calls(self) -> int:
        """HTTP calls made so far (for the bench)."""
        return self.http.calls

    def account(self) -> Account:
        path = "/api/v1/company"
        data = self._data(path, dict)
        return Account(
            external_id=str(_get(data, "id", int, path)), name=_get(data, "name", str, path)
        )

    def trade_points(self) -> list[ReferenceItem]:
        path = "/api/v1/trade-units"
        return [
            ReferenceItem(
                external_id=str(_get(unit, "id", int, path)),
                name=_get(unit, "name", str, path),
                is_main=bool(unit.get("is_main", False)),
            )
            for unit in _objects(self._data(path, list), path)
        ]

    def refusal(self, product: RegisterProduct) -> str:
        try:
            _product_json(product)
        except ValueError as error:
            return str(error)
        return ""

    def upsert_products(self, trade_point_id: str, products: Sequence[RegisterProduct]) -> None:
        """Sends `batch_size` products per request; more are split into several."""
        path = f"/api/v1/trade-units/{_id(trade_point_id)}/products/bulk"
        rows = [_product_json(product) for product in products]
        for start in range(0, len(rows), self.batch_size):
            answer = self.http.post_json(path, {"products": rows[start : start + self.batch_size]})
            _get(answer, "data", dict, path)

    def archive_products(self, trade_point_id: str, external_ids: Sequence[str]) -> None:
        path = f"/api/v1/trade-units/{_id(trade_point_id)}/products/archive"
        ids = list(external_ids)
        for start in range(0, len(ids), self.batch_size):
            answer = self.http.post_json(
                path, {"external_ids": ids[start : start + self.batch_size]}
            )
            _get(answer, "data", dict, path)

    def closed_shifts(
        self, trade_point_id: str, *, closed_since: datetime
    ) -> Iterator[ShiftSummary]:
        """Page by page, each shift once: a page holding only shifts already yielded
        (a lagging server repeating the page before) is asked for again; one that keeps
        repeating is a `TransientHttpError`, never a skipped page."""
        if closed_since.tzinfo is None:
            raise ValueError("closed_since must be timezone-aware")
        path = f"/api/v1/trade-units/{_id(trade_point_id)}/shifts"
        seen: set[str] = set()
        page, repeats = 1, 0
        while True:
            params = {
                "closed_from": closed_since.isoformat(),
                "page": page,
                "page_size": self.page_size,
            }
            answer = self.http.get_json(path, params)
            rows = _objects(_get(answer, "data", list, path), path)
            pages = _get(_get(answer, "meta", dict, path), "pages", int, path)
            summaries = [_summary(row, path) for row in rows]
            fresh = [s for s in summaries if s.external_id not in seen]
            if page > 1 and summaries and not fresh:
                repeats += 1
                if repeats > MAX_REPEATED_PAGES:
                    raise TransientHttpError(
                        f"{self.system}: page {page} of {path} keeps repeating shifts already read",
                        url=path,
                    )
                continue
            repeats = 0
            for summary in fresh:
                seen.add(summary.external_id)
                yield summary
            if not rows or page >= pages:
                return
            page += 1

    def shift(self, trade_point_id: str, shift_id: str) -> Shift:
        """The detail in the seed's shape, checked whole: a Z-report whose document
        count differs from the documents sent is a partial answer (`BadAnswer`)."""
        path = f"/api/v1/trade-units/{_id(trade_point_id)}/shifts/{_id(shift_id)}"
        entries = _objects(self._data(path, list), path)
        if len(entries) != 1:
            raise bad_answer(
                f"{self.system}: expected one shift in data, got {len(entries)}", url=path
            )
        z = _get(entries[0], "z_report", dict, path)
        documents = _objects(_get(entries[0], "documents", list, path), path)
        summary = _checked(
            ShiftSummary(
                external_id=str(_get(z, "shift_id", int, path)),
                trade_point_id=str(_get(z, "shop_id", int, path)),
                number=_get(z, "shift_number", int, path),
                closed_at=_time(z, "closed_at", path),
            ),
            path,
        )
        if summary.trade_point_id != str(trade_point_id) or summary.external_id != str(shift_id):
            raise bad_answer(
                f"{self.system}: asked for shift {shift_id} of {trade_point_id}, got "
                f"{summary.external_id} of {summary.trade_point_id}",
                url=path,
            )
        receipts = [_receipt(document, path) for document in documents]
        z_report = ZReport(
            revenue=_money(z, "revenue", path),
            refunds=_money(z, "refunds", path),
            cash=_money(z, "cash", path),
            card=_money(z, "card", path),
            receipts_count=_get(z, "documents_count", int, path),
        )
        if z_report.receipts_count != len(receipts):
            raise bad_answer(
                f"{self.system}: shift {shift_id}: the Z-report counts "
                f"{z_report.receipts_count} documents, the answer has {len(receipts)}",
                url=path,
            )
        return Shift(summary=summary, z_report=z_report, receipts=receipts)

    def _data(self, path: str, kind: type[T]) -> T:
        return _get(self.http.get_json(path), "data", kind, path)


def _product_json(product: RegisterProduct) -> dict[str, Any]:
    if product.vat_rate not in TAX_CODES:
        raise ValueError(f"MTS Kassa has no tax for VAT rate {product.vat_rate!r}")
    if product.unit not in MEASURES:
        raise ValueError(f"MTS Kassa has no measure for unit {product.unit!r}")
    return {
        "external_id": product.external_id,
        "name": product.name,
        "price": str(product.price.quantize(Decimal("0.01"))),
        "measure": MEASURES[product.unit],
        "tax": TAX_CODES[product.vat_rate],
        "barcodes": [product.barcode] if product.barcode else [],
    }


def _receipt(document: dict[str, Any], path: str) -> Receipt:
    kind = _get(document, "type", str, path)
    if kind not in ("sale", "refund"):
        raise bad_answer(f"mtskassa: a document of unknown type {kind!r}", url=path)
    paid = {"cash": Decimal(0), "card": Decimal(0)}
    for payment in _objects(_get(document, "payments", list, path), path):
        method = _get(payment, "type", str, path)
        if method not in paid:
            raise bad_answer(f"mtskassa: a payment of unknown type {method!r}", url=path)
        paid[method] += _money(payment, "amount", path)
    lines = []
    for item in _objects(_get(document, "items", list, path), path):
        product = item.get("product")
        if product is not None and not isinstance(product, dict):
            raise bad_answer("mtskassa: an item's product is not an object", url=path)
        lines.append(
            ReceiptLine(
                # A free sale (an amount typed in, "Свободная продажа") has no product.
                product_external_id=_get(product, "external_id", str, path) if product else "",
                name=_get(item, "name", str, path),
                quantity=_money(item, "quantity", path),
                price=_money(item, "price", path),
                total=_money(item, "total", path),
            )
        )
    return Receipt(
        external_id=str(_get(document, "id", object, path)),
        is_refund=kind == "refund",
        total=_money(document, "total", path),
        lines=lines,
        paid_by_card=paid["card"],
        paid_in_cash=paid["cash"],
    )


def _summary(row: dict[str, Any], path: str) -> ShiftSummary:
    return _checked(
        ShiftSummary(
            external_id=str(_get(row, "id", int, path)),
            trade_point_id=str(_get(row, "shop_id", int, path)),
            number=_get(row, "number", int, path),
            closed_at=_time(row, "closed_at", path),
        ),
        path,
    )


def _checked(summary: ShiftSummary, path: str) -> ShiftSummary:
    """A summary Lavka can store, or `BadAnswer`: a negative or huge shift number, or
    an id too long for its column, fails the listing instead of being lost."""
    problem = shift_summary_problem(summary)
    if problem:
        raise bad_answer(f"mtskassa: a shift's {problem}", url=path, excerpt=repr(summary)[:300])
    return summary


def _id(value: str) -> str:
    """Ids go into paths: only digits, so nothing else can be smuggled into the URL."""
    if not str(value).isdigit():
        raise ValueError(f"an MTS Kassa id is a number, not {value!r}")
    return str(value)


def _get(obj: Any, name: str, kind: type[T], path: str) -> T:
    if not isinstance(obj, dict):
        raise bad_answer(f"mtskassa: expected an object holding {name!r}", url=path)
    value = obj.get(name)
    if value is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise bad_answer(
            f"mtskassa: {name!r} is missing or not {getattr(kind, '__name__', kind)}",
            url=path,
            excerpt=repr(obj)[:300],
        )
    return value


def _objects(rows: list[Any], path: str) -> list[dict[str, Any]]:
    if not all(isinstance(row, dict) for row in rows):
        raise bad_answer("mtskassa: expected a list of objects", url=path)
    return rows


def _money(obj: dict[str, Any], name: str, path: str) -> Decimal:
    value = obj.get(name)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            pass
        else:
            if number.is_finite():
                return number
    raise bad_answer(f"mtskassa: {name!r} is not a number", url=path, excerpt=repr(value)[:100])


def _time(obj: dict[str, Any], name: str, path: str) -> datetime:
    text = _get(obj, name, str, path)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise bad_answer(f"mtskassa: {name!r} is not a time with an offset", url=path, excerpt=text)
    return moment
