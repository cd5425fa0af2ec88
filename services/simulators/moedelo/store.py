# ruff: noqa: RUF001, RUF003 - MoeDelo speaks Russian
"""The simulated accounts and everything in them, in memory behind one lock.

Each account (one API key, one firm) has its own warehouses, cash desks, goods, retail
revenue documents and retail reports; an id of another account's object is a 404, as if
it did not exist. Ids are integers from one counter, as MoeDelo's look.

Objects are kept as the JSON the API shows (PascalCase, MoeDelo's field names), money as
Decimal.
"""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import Validation, not_found

Json = dict[str, Any]

NDS_RATES = ("-1", "0", "10", "20", "110", "120")  # -1: without VAT; 110/120: 10/110, 20/120
GOOD_TYPES = (0, 1)  # 0 good, 1 material
NDS_POSITION_TYPES = (1, 2, 3)  # 1 no VAT, 2 VAT on top, 3 VAT included
MAX_NAME = 255
MAX_NUMBER = 30
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass
class Account:
    token: str
    firm_id: int
    short_name: str
    inn: str
    revoked: bool = False
    stocks: dict[int, Json] = field(default_factory=dict)
    cashiers: dict[int, Json] = field(default_factory=dict)
    goods: dict[int, Json] = field(default_factory=dict)
    revenues: dict[int, Json] = field(default_factory=dict)
    reports: dict[int, Json] = field(default_factory=dict)

    def requisites(self) -> Json:
        return {
            "Id": self.firm_id,
            "Inn": self.inn,
            "ShortName": self.short_name,
            "FullName": self.short_name,
        }


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self._ids = itertools.count(100_001)
        self.calls: dict[str, int] = {}

    def new_id(self) -> int:
        return next(self._ids)

    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()
            self.calls.clear()

    def count_call(self, route: str) -> None:
        with self.lock:
            self.calls[route] = self.calls.get(route, 0) + 1

    # Accounts

    def create_account(self, token: str | None = None, name: str = "", inn: str = "") -> Account:
        with self.lock:
            token = token or str(uuid.uuid4())
            if not isinstance(token, str) or not token.strip() or len(token) > 200:
                raise ValueError("token must be a non-empty string")
            if token in self.accounts:
                raise ValueError("an account with this token exists already")
            firm_id = self.new_id()
            account = Account(
                token=token,
                firm_id=firm_id,
                short_name=name or f"ООО «Фирма {firm_id}»",
                inn=inn or f"77{firm_id:08d}",
            )
            self.accounts[token] = account
            return account

    def account(self, token: str | None) -> Account | None:
        """The account of a live token; None for an unknown or revoked one."""
        account = self.accounts.get(token or "")
        return None if account is None or account.revoked else account

    def known(self, token: str) -> Account:
        account = self.accounts.get(token)
        if account is None:
            raise ValueError(f"no account with token {token!r}")
        return account

    # Warehouses (stocks) and cash desks (cashiers)

    def save_stock(self, account: Account, data: Any, stock_id: int | None = None) -> Json:
        check = Validation()
        name = _name(data, check)
        is_main = _bool(data, "IsMain", check)
        check.raise_if_any()
        stock_id = stock_id or self.new_id()
        stock = {"Id": stock_id, "Name": name, "IsMain": is_main, "StockType": 0}
        _only_one_main(account.stocks, stock)
        account.stocks[stock_id] = stock
        return stock

    def save_cashier(self, account: Account, data: Any, cashier_id: int | None = None) -> Json:
        check = Validation()
        name = _name(data, check)
        is_main = _bool(data, "IsMain", check)
        check.raise_if_any()
        cashier_id = cashier_id or self.new_id()
        cashier = {"Id": cashier_id, "Name": name, "IsMain": is_main}
        _only_one_main(account.cashiers, cashier)
        account.cashiers[cashier_id] = cashier
        return cashier

    # Goods

    def save_good(self, account: Account, data: Any, good_id: int | None = None) -> Json:
        check = Validation()
        name = _name(data, check)
        body = data if isinstance(data, dict) else {}
        price = _money(body.get("SalePrice"), "SalePrice", check, required=True)
        nds = str(body.get("Nds", "-1"))
        if nds not in NDS_RATES:
            check.add("Nds", f"Недопустимая ставка НДС; допустимы {', '.join(NDS_RATES)}")
        kind = body.get("Type", 0)
        if kind not in GOOD_TYPES or isinstance(kind, bool):
            check.add("Type", "Тип: 0 — товар, 1 — материал")
        position = body.get("NdsPositionType", 1)
        if position not in NDS_POSITION_TYPES or isinstance(position, bool):
            check.add("NdsPositionType", "Тип начисления НДС: 1, 2 или 3")
        unit = body.get("UnitOfMeasurement") or "шт"
        article = body.get("Article") or ""
        producer = body.get("Producer") or ""
        for key, value in (
            ("UnitOfMeasurement", unit),
            ("Article", article),
            ("Producer", producer),
        ):
            if not isinstance(value, str) or len(value) > MAX_NAME:
                check.add(key, f"Строка не длиннее {MAX_NAME} символов")
        archived = _bool(body, "IsArchived", check)
        check.raise_if_any()
        good_id = good_id or self.new_id()
        good = {
            "Id": good_id,
            "NomenclatureId": account.firm_id,
            "Name": name,
            "Article": article,
            "UnitOfMeasurement": unit,
            "Nds": nds,
            "SalePrice": price,
            "Type": kind,
            "NdsPositionType": position,
            "Producer": producer,
            "IsArchived": archived,
        }
        account.goods[good_id] = good
        return good

    # Retail revenue: a cash desk's incoming document for a day's (a Z-report's) takings

    def save_revenue(
        self, account: Account, cashier_id: int, data: Any, revenue_id: int | None = None
    ) -> Json:
        if cashier_id not in account.cashiers:
            raise not_found("Касса", cashier_id)
        check = Validation()
        body = data if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            check.add("", "Ожидается объект JSON")
        doc_date = _date(body.get("DocDate"), "DocDate", check, required=True)
        total = _money(body.get("Sum"), "Sum", check, required=True)
        by_card = _money(body.get("PayByCard"), "PayByCard", check)
        if total is not None and by_card is not None and by_card > total:
            check.add("PayByCard", "Оплата картой больше суммы документа")
        z_number = body.get("ZReportNumber") or ""
        description = body.get("Description") or ""
        for key, value, limit in (
            ("ZReportNumber", z_number, MAX_NUMBER),
            ("Description", description, 1000),
        ):
            if not isinstance(value, str) or len(value) > limit:
                check.add(key, f"Строка не длиннее {limit} символов")
        check.raise_if_any()
        revenue_id = revenue_id or self.new_id()
        revenue = {
            "Id": revenue_id,
            "CashierId": cashier_id,
            "DocDate": doc_date,
            "Sum": total,
            "PayByCard": by_card,
            "ZReportNumber": z_number,
            "Description": description,
        }
        account.revenues[revenue_id] = revenue
        return revenue

    # Retail reports (ОРП, «Отчёт о розничной продаже»)

    def save_report(self, account: Account, data: Any, report_id: int | None = None) -> Json:
        """Validate and store a report. Numbers need not be unique: MoeDelo, like most
        Russian accounting services, lets two documents share a number (a user may mean
        it), so a client that must not send twice looks its number up first."""
        check = Validation()
        body = data if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            check.add("", "Ожидается объект JSON")
        number = body.get("Number")
        if not isinstance(number, str) or not number.strip():
            check.add("Number", "Укажите номер документа")
        elif len(number) > MAX_NUMBER:
            check.add("Number", f"Номер не длиннее {MAX_NUMBER} символов")
        doc_date = _date(body.get("DocDate"), "DocDate", check, required=True)
        start = _date(body.get("StartDate"), "StartDate", check) or doc_date
        end = _date(body.get("EndDate"), "EndDate", check) or doc_date
        if start and end and start > end:
            check.add("EndDate", "Конец периода раньше его начала")
        stock_id = body.get("StockId")
        if not isinstance(stock_id, int) or isinstance(stock_id, bool):
            check.add("StockId", "Укажите склад")
        elif stock_id not in account.stocks:
            check.add("StockId", f"Склад с Id {stock_id} не найден")
        items = self._report_items(account, body.get("Items", []), check)
        reasons = self._reasons(account, body.get("ReasonRevenues"), report_id, check)
        check.raise_if_any()
        assert isinstance(number, str) and doc_date is not None
        report_id = report_id or self.new_id()
        if reasons is None:  # on update, null keeps the links (as MoeDelo's DTO says)
            reasons = account.reports.get(report_id, {}).get("ReasonRevenues", [])
        report = {
            "Id": report_id,
            "Number": number,
            "DocDate": doc_date,
            "StartDate": start,
            "EndDate": end,
            "StockId": stock_id,
            "Items": items,
            "ReasonRevenues": reasons,
            "Sum": sum((item["Sum"] for item in items), Decimal("0")),
        }
        account.reports[report_id] = report
        return report

    def _report_items(self, account: Account, items: Any, check: Validation) -> list[Json]:
        if not isinstance(items, list):
            check.add("Items", "Ожидается список позиций")
            return []
        result = []
        for index, item in enumerate(items):
            where = f"Items[{index}]"
            if not isinstance(item, dict):
                check.add(where, "Ожидается объект")
                continue
            product_id = item.get("StockProductId")
            name = item.get("Name")
            if product_id is not None:
                good = account.goods.get(product_id) if isinstance(product_id, int) else None
                if good is None:
                    check.add(f"{where}.StockProductId", f"Товар с Id {product_id} не найден")
                else:
                    name = name or good["Name"]
            if product_id is None and (not isinstance(name, str) or not name.strip()):
                check.add(f"{where}.Name", "Укажите наименование позиции или товар")
            count = _money(item.get("Count"), f"{where}.Count", check, required=True)
            if count is not None and count <= 0:
                check.add(f"{where}.Count", "Количество должно быть больше нуля")
            price = _money(item.get("Price"), f"{where}.Price", check)
            total = _money(item.get("Sum"), f"{where}.Sum", check, required=True)
            result.append(
                {
                    "Id": self.new_id(),
                    "StockProductId": product_id,
                    "Name": name,
                    "Count": count,
                    "Unit": item.get("Unit") or "шт",
                    "Price": price,
                    "Sum": total,
                }
            )
        return result

    def _reasons(
        self, account: Account, reasons: Any, report_id: int | None, check: Validation
    ) -> list[Json] | None:
        if reasons is None:
            return None
        if not isinstance(reasons, list):
            check.add("ReasonRevenues", "Ожидается список")
            return []
        result = []
        for index, reason in enumerate(reasons):
            where = f"ReasonRevenues[{index}]"
            if not isinstance(reason, dict):
                check.add(where, "Ожидается объект")
                continue
            cashier_id = reason.get("CashierId")
            revenue_id = reason.get("RetailRevenueId")
            revenue = account.revenues.get(revenue_id) if isinstance(revenue_id, int) else None
            if cashier_id not in account.cashiers:
                check.add(f"{where}.CashierId", f"Касса с Id {cashier_id} не найдена")
            elif revenue is None or revenue["CashierId"] != cashier_id:
                check.add(
                    f"{where}.RetailRevenueId",
                    f"Документ розничной выручки с Id {revenue_id} не найден в кассе {cashier_id}",
                )
            else:
                linked = [
                    other["Number"]
                    for other in account.reports.values()
                    if other["Id"] != report_id
                    and any(r["RetailRevenueId"] == revenue_id for r in other["ReasonRevenues"])
                ]
                if linked:
                    check.add(
                        f"{where}.RetailRevenueId",
                        f"Выручка {revenue_id} уже учтена в отчёте № {linked[0]}",
                    )
                result.append({"CashierId": cashier_id, "RetailRevenueId": revenue_id})
        return result

    # Demo data

    def seed_demo(self, token: str) -> Account:
        with self.lock:
            account = self.create_account(token, "ИП Демо (Лавка)", "770000000001")
            self.save_stock(account, {"Name": "Основной склад", "IsMain": True})
            self.save_cashier(account, {"Name": "Касса магазина", "IsMain": True})
            for name, price, nds in (
                ("Кофе зерновой 250 г", "450.00", "20"),
                ("Чай чёрный 100 г", "210.00", "20"),
                ("Круассан", "95.00", "10"),
                ("Вода питьевая 0,5 л", "60.00", "20"),
                ("Открытка ручной работы", "150.00", "-1"),
            ):
                self.save_good(
                    account,
                    {"Name": name, "SalePrice": price, "Nds": nds, "NdsPositionType": 3},
                )
            return account


def _name(data: Any, check: Validation) -> str:
    name = data.get("Name") if isinstance(data, dict) else None
    if not isinstance(data, dict):
        check.add("", "Ожидается объект JSON")
    elif not isinstance(name, str) or not name.strip():
        check.add("Name", "Укажите наименование")
    elif len(name) > MAX_NAME:
        check.add("Name", f"Наименование не длиннее {MAX_NAME} символов")
    return name.strip() if isinstance(name, str) else ""


def _bool(data: Any, key: str, check: Validation) -> bool:
    value = data.get(key, False) if isinstance(data, dict) else False
    if not isinstance(value, bool):
        check.add(key, "Ожидается true или false")
        return False
    return value


def _money(value: Any, key: str, check: Validation, *, required: bool = False) -> Decimal | None:
    if value is None:
        if required:
            check.add(key, "Обязательное поле")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        check.add(key, "Ожидается число")
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        check.add(key, "Ожидается число")
        return None
    if not number.is_finite() or number < 0 or number >= Decimal("1e12"):
        check.add(key, "Число вне допустимого диапазона")
        return None
    return number


def _date(value: Any, key: str, check: Validation, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            check.add(key, "Укажите дату")
        return None
    match = _DATE.match(value) if isinstance(value, str) else None
    try:
        day = date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        day = None
    if day is None:
        check.add(key, "Дата в формате ГГГГ-ММ-ДД")
        return None
    return datetime(day.year, day.month, day.day).isoformat()


def _only_one_main(objects: dict[int, Json], saved: Json) -> None:
    if saved["IsMain"]:
        for other in objects.values():
            if other["Id"] != saved["Id"]:
                other["IsMain"] = False


def page(objects: list[Json], page_no: int, page_size: int) -> Json:
    start = (page_no - 1) * page_size
    return {
        "PageNo": page_no,
        "PageSize": page_size,
        "TotalCount": len(objects),
        "ResourceList": objects[start : start + page_size],
    }


def in_dates(doc_date: str, after: str | None, before: str | None) -> bool:
    return (after is None or doc_date >= after) and (before is None or doc_date <= before)
