# ruff: noqa: RUF001 - MoeDelo speaks Russian
"""The API under MoeDelo's paths: route, faults before the call, key check, the call,
faults after it.

Which shapes are MoeDelo's documented ones and which are inferred is listed in README.md.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from .errors import ApiError, no_route, not_found, unauthorized
from .faults import BEFORE, FaultBook
from .store import Account, Json, Store, in_dates, page

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 5000


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to hold the answer (the timeout fault)


@dataclass
class Call:
    account: Account
    ids: tuple[int, ...]
    query: dict[str, str]
    body: Any


Handler = Callable[[Store, Call], tuple[int, Any]]


def encode(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, default=_number).encode()


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _error(error: ApiError) -> Response:
    headers = {"Content-Type": "application/json; charset=utf-8", **error.headers}
    return Response(error.status, encode(error.body()), headers)


class Api:
    def __init__(self, store: Store, faults: FaultBook) -> None:
        self.store = store
        self.faults = faults
        self.last_pages: dict[tuple[str, str], bytes] = {}
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        for method, template, handler in ROUTES:
            pattern = "^" + template.replace("{id}", r"(\d{1,18})") + "/?$"
            self.routes.append((method, re.compile(pattern, re.IGNORECASE), template, handler))

    def handle(
        self, method: str, path: str, query: str, body: bytes, headers: Mapping[str, str]
    ) -> Response:
        try:
            return self._handle(method, path, query, body, headers)
        except ApiError as error:
            return _error(error)

    def _route(self, method: str, path: str) -> tuple[str, Handler, tuple[int, ...]]:
        for route_method, pattern, template, handler in self.routes:
            match = pattern.match(path)
            if match and route_method == method:
                return f"{method} {template}", handler, tuple(int(g) for g in match.groups())
        raise no_route(method, path)

    def _handle(
        self, method: str, path: str, query: str, body: bytes, headers: Mapping[str, str]
    ) -> Response:
        route, handler, ids = self._route(method, path)
        self.store.count_call(route)
        token = headers.get("md-api-key", "")
        fault = self.faults.take(BEFORE, method, path, token)
        if fault is not None and fault.kind == "rate_limit":
            raise ApiError(
                429,
                "Превышен лимит запросов. Повторите позже.",
                headers={"Retry-After": f"{fault.retry_after:g}"},
            )
        if fault is not None:
            raise ApiError(500, "An error has occurred.")
        if self.store.account(token) is None:  # the key is checked before the body is read
            raise unauthorized()
        parsed: Any = None
        if method in ("POST", "PUT"):
            try:
                parsed = json.loads(body or b"null", parse_float=Decimal)
            except ValueError:
                raise ApiError(400, "Тело запроса не является корректным JSON.") from None
        params = {name.lower(): value for name, value in parse_qsl(query, keep_blank_values=True)}
        with self.store.lock:
            account = self.store.account(token)
            if account is None:
                raise unauthorized()
            status, obj = handler(self.store, Call(account, ids, params, parsed))
            response = Response(
                status, encode(obj), {"Content-Type": "application/json; charset=utf-8"}
            )
            if handler in LISTS:
                self._maybe_repeat(response, method, path, token)
        after = self.faults.take(("timeout", "truncate"), method, path, token)
        if after is not None and after.kind == "truncate":
            response.body = response.body[: len(response.body) // 2]
        elif after is not None:
            response.delay = after.sleep_seconds
        return response

    def _maybe_repeat(self, response: Response, method: str, path: str, token: str) -> None:
        """Remember the page given; answer the one remembered instead if the fault fires."""
        key = (token, path.lower().rstrip("/"))
        previous = self.last_pages.get(key)
        if previous is not None and self.faults.take(("repeat_page",), method, path, token):
            response.body = previous
        self.last_pages[key] = response.body


def wait(response: Response) -> None:
    if response.delay:
        time.sleep(response.delay)


# Helpers for handlers


def _paging(call: Call) -> tuple[int, int]:
    errors = {}
    values = []
    for name, default, top in (
        ("pageno", 1, 10**9),
        ("pagesize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    ):
        text = call.query.get(name, str(default))
        if not text.isdigit() or not 1 <= int(text) <= top:
            errors[name] = [f"Ожидается целое число от 1 до {top}"]
            values.append(default)
        else:
            values.append(int(text))
    if errors:
        raise ApiError(400, "The request is invalid.", model_state=errors)
    return values[0], values[1]


def _dates(call: Call) -> tuple[str | None, str | None]:
    after, before = call.query.get("afterdate"), call.query.get("beforedate")
    for name, value in (("afterDate", after), ("beforeDate", before)):
        if value is not None and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
            raise ApiError(
                400, "The request is invalid.", model_state={name: ["Дата в формате ГГГГ-ММ-ДД"]}
            )
    return (after[:10] + "T00:00:00" if after else None), (
        before[:10] + "T23:59:59" if before else None
    )


def _listed(
    objects: dict[int, Json], call: Call, keep: Callable[[Json], bool] = lambda o: True
) -> Json:
    page_no, page_size = _paging(call)
    return page([o for _, o in sorted(objects.items()) if keep(o)], page_no, page_size)


def _get(objects: dict[int, Json], what: str, object_id: int) -> Json:
    if object_id not in objects:
        raise not_found(what, object_id)
    return objects[object_id]


# Handlers


def requisites(store: Store, call: Call) -> tuple[int, Any]:
    return 200, call.account.requisites()


def stock_list(store: Store, call: Call) -> tuple[int, Any]:
    return 200, _listed(call.account.stocks, call)


def stock_get(store: Store, call: Call) -> tuple[int, Any]:
    return 200, _get(call.account.stocks, "Склад", call.ids[0])


def stock_create(store: Store, call: Call) -> tuple[int, Any]:
    return 201, store.save_stock(call.account, call.body)


def stock_update(store: Store, call: Call) -> tuple[int, Any]:
    _get(call.account.stocks, "Склад", call.ids[0])
    return 200, store.save_stock(call.account, call.body, call.ids[0])


def stock_delete(store: Store, call: Call) -> tuple[int, Any]:
    stock = _get(call.account.stocks, "Склад", call.ids[0])
    if any(report["StockId"] == stock["Id"] for report in call.account.reports.values()):
        raise ApiError(400, "Склад используется в документах и не может быть удалён.")
    del call.account.stocks[stock["Id"]]
    return 200, None


def good_list(store: Store, call: Call) -> tuple[int, Any]:
    name = call.query.get("name", "").lower()
    return 200, _listed(call.account.goods, call, lambda good: name in good["Name"].lower())


def good_get(store: Store, call: Call) -> tuple[int, Any]:
    return 200, _get(call.account.goods, "Товар", call.ids[0])


def good_create(store: Store, call: Call) -> tuple[int, Any]:
    return 201, store.save_good(call.account, call.body)


def good_update(store: Store, call: Call) -> tuple[int, Any]:
    _get(call.account.goods, "Товар", call.ids[0])
    return 200, store.save_good(call.account, call.body, call.ids[0])


def good_delete(store: Store, call: Call) -> tuple[int, Any]:
    _get(call.account.goods, "Товар", call.ids[0])
    del call.account.goods[call.ids[0]]
    return 200, None


def cashier_list(store: Store, call: Call) -> tuple[int, Any]:
    return 200, _listed(call.account.cashiers, call)


def cashier_get(store: Store, call: Call) -> tuple[int, Any]:
    return 200, _get(call.account.cashiers, "Касса", call.ids[0])


def _revenue_of(call: Call) -> Json:
    _get(call.account.cashiers, "Касса", call.ids[0])
    revenue = call.account.revenues.get(call.ids[1])
    if revenue is None or revenue["CashierId"] != call.ids[0]:
        raise not_found("Документ розничной выручки", call.ids[1])
    return revenue


def revenue_list(store: Store, call: Call) -> tuple[int, Any]:
    cashier_id = call.ids[0]
    _get(call.account.cashiers, "Касса", cashier_id)
    after, before = _dates(call)
    number = call.query.get("zreportnumber")
    return 200, _listed(
        call.account.revenues,
        call,
        lambda revenue: (
            revenue["CashierId"] == cashier_id
            and in_dates(revenue["DocDate"], after, before)
            and (number is None or revenue["ZReportNumber"] == number)
        ),
    )


def revenue_get(store: Store, call: Call) -> tuple[int, Any]:
    return 200, _revenue_of(call)


def revenue_create(store: Store, call: Call) -> tuple[int, Any]:
    return 201, store.save_revenue(call.account, call.ids[0], call.body)


def revenue_update(store: Store, call: Call) -> tuple[int, Any]:
    _revenue_of(call)
    return 200, store.save_revenue(call.account, call.ids[0], call.body, call.ids[1])


def revenue_delete(store: Store, call: Call) -> tuple[int, Any]:
    revenue = _revenue_of(call)
    for report in call.account.reports.values():
        if any(r["RetailRevenueId"] == revenue["Id"] for r in report["ReasonRevenues"]):
            raise ApiError(
                400, f"Выручка учтена в отчёте о розничной продаже № {report['Number']}."
            )
    del call.account.revenues[revenue["Id"]]
    return 200, None


def _report_summary(report: Json) -> Json:
    return {key: report[key] for key in ("Id", "Number", "DocDate", "StockId", "Sum")}


def report_list(store: Store, call: Call) -> tuple[int, Any]:
    after, before = _dates(call)
    number = call.query.get("number")
    listed = _listed(
        call.account.reports,
        call,
        lambda report: (
            in_dates(report["DocDate"], after, before)
            and (number is None or report["Number"] == number)
        ),
    )
    listed["ResourceList"] = [_report_summary(report) for report in listed["ResourceList"]]
    return 200, listed


def report_get(store: Store, call: Call) -> tuple[int, Any]:
    return 200, _get(call.account.reports, "Отчёт о розничной продаже", call.ids[0])


def report_create(store: Store, call: Call) -> tuple[int, Any]:
    return 201, store.save_report(call.account, call.body)


def report_update(store: Store, call: Call) -> tuple[int, Any]:
    _get(call.account.reports, "Отчёт о розничной продаже", call.ids[0])
    return 200, store.save_report(call.account, call.body, call.ids[0])


def report_delete(store: Store, call: Call) -> tuple[int, Any]:
    _get(call.account.reports, "Отчёт о розничной продаже", call.ids[0])
    del call.account.reports[call.ids[0]]
    return 200, None


LISTS = {stock_list, good_list, cashier_list, revenue_list, report_list}
_REVENUE = "/accounting/api/v1/cashier/{id}/retailRevenue"
ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/requisites/api/v1/requisites", requisites),
    ("GET", "/stock/api/v1/stock", stock_list),
    ("POST", "/stock/api/v1/stock", stock_create),
    ("GET", "/stock/api/v1/stock/{id}", stock_get),
    ("PUT", "/stock/api/v1/stock/{id}", stock_update),
    ("DELETE", "/stock/api/v1/stock/{id}", stock_delete),
    ("GET", "/stock/api/v1/good", good_list),
    ("POST", "/stock/api/v1/good", good_create),
    ("GET", "/stock/api/v1/good/{id}", good_get),
    ("PUT", "/stock/api/v1/good/{id}", good_update),
    ("DELETE", "/stock/api/v1/good/{id}", good_delete),
    ("GET", "/accounting/api/v1/cashier", cashier_list),
    ("GET", "/accounting/api/v1/cashier/{id}", cashier_get),
    ("GET", _REVENUE, revenue_list),
    ("POST", _REVENUE, revenue_create),
    ("GET", _REVENUE + "/{id}", revenue_get),
    ("PUT", _REVENUE + "/{id}", revenue_update),
    ("DELETE", _REVENUE + "/{id}", revenue_delete),
    ("GET", "/accounting/api/v1/sales/retailreport", report_list),
    ("POST", "/accounting/api/v1/sales/retailreport", report_create),
    ("GET", "/accounting/api/v1/sales/retailreport/{id}", report_get),
    ("PUT", "/accounting/api/v1/sales/retailreport/{id}", report_update),
    ("DELETE", "/accounting/api/v1/sales/retailreport/{id}", report_delete),
]
