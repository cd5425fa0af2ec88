"""The simulator's state: accounts and their tokens, trade units (trade points) with
their products, and shifts with their receipts. One lock guards it all.

A closed shift is frozen: its detail answer is encoded once and kept, so a bench that
reads thousands of shifts measures Lavka, not this simulator.
"""

from __future__ import annotations

import bisect
import json
import random
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

MOSCOW = timezone(timedelta(hours=3), "MSK")
FREE_SALE_NAME = "Свободная продажа"
BULK_LIMIT = 100
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
CENT = Decimal("0.01")
# Codes of the taxes a product may carry, as `GET /api/v1/taxes` lists them.
TAXES = (
    {"code": "none", "name": "Без НДС", "rate": None},
    {"code": "vat0", "name": "НДС 0%", "rate": "0"},
    {"code": "vat5", "name": "НДС 5%", "rate": "5"},
    {"code": "vat7", "name": "НДС 7%", "rate": "7"},
    {"code": "vat10", "name": "НДС 10%", "rate": "10"},
    {"code": "vat20", "name": "НДС 20%", "rate": "20"},
    {"code": "vat22", "name": "НДС 22%", "rate": "22"},
)
TAX_CODES = frozenset(str(tax["code"]) for tax in TAXES)
MEASURES = frozenset({"pcs", "kg", "l", "m", "service"})


class ApiError(Exception):
    """An error answer: status, a stable code and a message (and optional details)."""

    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def iso(moment: datetime) -> str:
    return moment.astimezone(MOSCOW).isoformat(timespec="seconds")


def parse_time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "validation_error", f"{name} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ApiError(400, "validation_error", f"{name} needs a UTC offset")
    return moment


def parse_decimal(value: object, name: str, *, places: int = 2) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ApiError(400, "validation_error", f"{name} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ApiError(400, "validation_error", f"{name} must be a number") from None
    if not number.is_finite() or number < 0:
        raise ApiError(400, "validation_error", f"{name} must be zero or more")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise ApiError(400, "validation_error", f"{name} has more than {places} decimal places")
    return number


@dataclass
class Account:
    id: int
    name: str
    inn: str


@dataclass
class Product:
    id: int
    external_id: str
    name: str
    price: Decimal
    measure: str
    tax: str
    barcodes: list[str]
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "external_id": self.external_id,
            "name": self.name,
            "price": money(self.price),
            "measure": self.measure,
            "tax": self.tax,
            "barcodes": list(self.barcodes),
            "archived": self.archived,
        }


@dataclass
class Shift:
    id: int
    trade_unit_id: int
    number: int
    opened_at: datetime
    closed_at: datetime | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)
    detail: bytes = b""  # the encoded answer, once closed

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "shop_id": self.trade_unit_id,
            "number": self.number,
            "opened_at": iso(self.opened_at),
            "closed_at": iso(self.closed_at) if self.closed_at else None,
        }


@dataclass
class TradeUnit:
    id: int
    account_id: int
    name: str
    address: str
    is_main: bool
    products: dict[str, Product] = field(default_factory=dict)
    shifts_by_close: list[tuple[datetime, int]] = field(default_factory=list)  # sorted
    open_shift: Shift | None = None
    shift_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "address": self.address, "is_main": self.is_main}


def z_report(shift: Shift) -> dict[str, Any]:
    """The closing totals, from the receipts: net revenue = sales - refunds = cash + card."""
    sales = refunds = cash = card = Decimal(0)
    sales_count = refunds_count = 0
    for document in shift.documents:
        sign = 1 if document["type"] == "sale" else -1
        total = Decimal(document["total"])
        if sign > 0:
            sales += total
            sales_count += 1
        else:
            refunds += total
            refunds_count += 1
        for payment in document["payments"]:
            amount = Decimal(payment["amount"]) * sign
            if payment["type"] == "cash":
                cash += amount
            else:
                card += amount
    assert shift.closed_at is not None
    return {
        "shop_id": shift.trade_unit_id,
        "shift_id": shift.id,
        "shift_number": shift.number,
        "opened_at": iso(shift.opened_at),
        "closed_at": iso(shift.closed_at),
        "currency": "RUB",
        "sales": money(sales),
        "refunds": money(refunds),
        "revenue": money(sales - refunds),
        "cash": money(cash),
        "card": money(card),
        "sales_count": sales_count,
        "refunds_count": refunds_count,
        "documents_count": len(shift.documents),
    }


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.accounts: dict[int, Account] = {}
            self.tokens: dict[str, int] = {}
            self.revoked: set[str] = set()
            self.trade_units: dict[int, TradeUnit] = {}
            self.shifts: dict[int, Shift] = {}
            self._next_id = {"account": 1, "trade_unit": 101, "product": 1, "shift": 5001}
            self._next_document = 1

    def _new_id(self, kind: str) -> int:
        value = self._next_id[kind]
        self._next_id[kind] = value + 1
        return value

    # Accounts and tokens (control side)

    def create_account(self, name: str, token: object = None) -> tuple[Account, str]:
        token = token or secrets.token_hex(20)
        if (
            not isinstance(token, str)
            or len(token) < 16
            or not all(c in "0123456789abcdef" for c in token)
        ):
            raise ApiError(400, "validation_error", "a token is at least 16 lowercase hex digits")
        with self.lock:
            if token in self.tokens or token in self.revoked:
                raise ApiError(409, "conflict", "this token is already in use")
            account = Account(self._new_id("account"), name, f"77{random.randrange(10**8):08d}")
            self.accounts[account.id] = account
            self.tokens[token] = account.id
            return account, token

    def issue_token(self, account_id: int) -> str:
        with self.lock:
            self._account(account_id)
            token = secrets.token_hex(20)
            self.tokens[token] = account_id
            return token

    def revoke(self, token: str) -> None:
        with self.lock:
            if self.tokens.pop(token, None) is None:
                raise ApiError(404, "not_found", "no such token")
            self.revoked.add(token)

    def _account(self, account_id: int) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise ApiError(404, "not_found", f"no account {account_id}")
        return account

    def authenticate(self, header: str | None) -> Account:
        scheme, _, token = (header or "").partition(" ")
        if scheme != "Token" or not token.strip():
            raise ApiError(401, "unauthorized", "send Authorization: Token <token>")
        with self.lock:
            if token.strip() in self.revoked:
                raise ApiError(401, "token_revoked", "this token has been revoked")
            account_id = self.tokens.get(token.strip())
            if account_id is None:
                raise ApiError(401, "unauthorized", "unknown token")
            return self.accounts[account_id]

    def create_trade_unit(
        self, account_id: int, name: str, address: str = "", is_main: bool = False
    ) -> TradeUnit:
        with self.lock:
            self._account(account_id)
            unit = TradeUnit(self._new_id("trade_unit"), account_id, name, address, is_main)
            self.trade_units[unit.id] = unit
            return unit

    # The API, scoped to the calling account

    def trade_units_of(self, account: Account) -> list[TradeUnit]:
        with self.lock:
            return [u for u in self.trade_units.values() if u.account_id == account.id]

    def trade_unit(self, account: Account | None, unit_id: str | int) -> TradeUnit:
        """Another account's trade unit is as unknown as a missing one."""
        unit = self.trade_units.get(int(unit_id)) if str(unit_id).isdigit() else None
        if unit is None or (account is not None and unit.account_id != account.id):
            raise ApiError(404, "not_found", f"no trade unit {unit_id}")
        return unit

    def upsert_products(self, unit: TradeUnit, payload: object) -> dict[str, int]:
        items = _list_field(payload, "products")
        if len(items) > BULK_LIMIT:
            raise ApiError(
                400,
                "too_many_products",
                f"at most {BULK_LIMIT} products per request, not {len(items)}",
            )
        checked = [self._checked_product(index, item) for index, item in enumerate(items)]
        seen: set[str] = set()
        for index, fresh in enumerate(checked):
            if fresh.external_id in seen:
                raise ApiError(
                    400,
                    "validation_error",
                    "an external_id appears twice in one request",
                    [{"index": index, "field": "external_id", "message": "duplicate"}],
                )
            seen.add(fresh.external_id)
        created = updated = unchanged = 0
        with self.lock:
            for fresh in checked:
                product = unit.products.get(fresh.external_id)
                if product is None:
                    fresh.id = self._new_id("product")
                    created += 1
                else:
                    fresh.id = product.id  # and on sale again, if it was archived
                    if fresh == product:
                        unchanged += 1
                        continue
                    updated += 1
                unit.products[fresh.external_id] = fresh
        return {"created": created, "updated": updated, "unchanged": unchanged}

    @staticmethod
    def _checked_product(index: int, item: object) -> Product:
        """The product an item describes, with id 0 until it is stored."""

        def bad(name: str, message: str) -> ApiError:
            return ApiError(
                400,
                "validation_error",
                f"products[{index}].{name}: {message}",
                [{"index": index, "field": name, "message": message}],
            )

        if not isinstance(item, dict):
            raise bad("", "must be an object")
        unknown = set(item) - {"external_id", "name", "price", "measure", "tax", "barcodes"}
        if unknown:
            raise bad(sorted(unknown)[0], "unknown field")
        external_id, name = item.get("external_id"), item.get("name")
        if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > 64:
            raise bad("external_id", "a non-empty string of at most 64 characters")
        if not isinstance(name, str) or not name.strip() or len(name) > 128:
            raise bad("name", "a non-empty string of at most 128 characters")
        try:
            price = parse_decimal(item.get("price"), "price")
        except ApiError as error:
            raise bad("price", error.message) from None
        measure, tax = item.get("measure", "pcs"), item.get("tax", "none")
        if measure not in MEASURES:
            raise bad("measure", f"one of {', '.join(sorted(MEASURES))}")
        if tax not in TAX_CODES:
            raise bad("tax", f"one of {', '.join(sorted(TAX_CODES))}")
        barcodes = item.get("barcodes", [])
        if not isinstance(barcodes, list) or not all(
            isinstance(b, str) and b.isdigit() and 8 <= len(b) <= 14 for b in barcodes
        ):
            raise bad("barcodes", "a list of 8 to 14 digit strings")
        return Product(0, external_id, name.strip(), price, str(measure), str(tax), list(barcodes))

    def archive_products(self, unit: TradeUnit, payload: object) -> dict[str, Any]:
        ids = _list_field(payload, "external_ids")
        if len(ids) > BULK_LIMIT:
            raise ApiError(
                400, "too_many_products", f"at most {BULK_LIMIT} ids per request, not {len(ids)}"
            )
        if not all(isinstance(i, str) and i for i in ids):
            raise ApiError(400, "validation_error", "external_ids must be non-empty strings")
        archived, unknown = 0, []
        with self.lock:
            for external_id in ids:
                product = unit.products.get(external_id)
                if product is None:
                    unknown.append(external_id)
                elif not product.archived:
                    product.archived = True
                    archived += 1
        return {"archived": archived, "unknown": unknown}

    def closed_shifts(
        self, unit: TradeUnit, closed_from: datetime | None, page: int, page_size: int
    ) -> tuple[list[dict[str, Any]], int]:
        with self.lock:
            start = 0
            if closed_from is not None:
                start = bisect.bisect_left(unit.shifts_by_close, (closed_from, 0))
            matching = unit.shifts_by_close[start:]
            chunk = matching[(page - 1) * page_size : page * page_size]
            return [self.shifts[shift_id].summary() for _, shift_id in chunk], len(matching)

    def shift_detail(self, unit: TradeUnit, shift_id: str) -> bytes:
        with self.lock:
            shift = self.shifts.get(int(shift_id)) if shift_id.isdigit() else None
            if shift is None or shift.trade_unit_id != unit.id:
                raise ApiError(404, "not_found", f"no shift {shift_id}")
            if shift.closed_at is None:
                raise ApiError(409, "shift_open", f"shift {shift_id} is still open")
            return shift.detail

    # The register (control side)

    def open_shift(self, unit: TradeUnit, opened_at: datetime | None = None) -> Shift:
        with self.lock:
            if unit.open_shift is not None:
                raise ApiError(409, "shift_open", f"shift {unit.open_shift.id} is still open")
            unit.shift_count += 1
            shift = Shift(
                self._new_id("shift"), unit.id, unit.shift_count, opened_at or datetime.now(UTC)
            )
            self.shifts[shift.id] = shift
            unit.open_shift = shift
            return shift

    def ring_up(self, unit: TradeUnit, payload: object) -> dict[str, Any]:
        """A receipt on the open shift: `type` sale or refund, `payment` cash or card,
        `items` each either {"external_id", "quantity", ["price"]} or {"free": true,
        "price", ["quantity", "name"]}."""
        if not isinstance(payload, dict):
            raise ApiError(400, "validation_error", "send a JSON object")
        kind = payload.get("type", "sale")
        payment = payload.get("payment", "cash")
        if kind not in ("sale", "refund"):
            raise ApiError(400, "validation_error", "type is sale or refund")
        if payment not in ("cash", "card"):
            raise ApiError(400, "validation_error", "payment is cash or card")
        items = _list_field(payload, "items")
        if not items:
            raise ApiError(400, "validation_error", "a receipt needs at least one item")
        with self.lock:
            shift = unit.open_shift
            if shift is None:
                raise ApiError(409, "no_open_shift", "open a shift first")
            lines = [self._line(unit, index, item) for index, item in enumerate(items)]
            document = self._document(shift, str(kind), str(payment), lines, datetime.now(UTC))
            shift.documents.append(document)
            return document

    def _line(self, unit: TradeUnit, index: int, item: object) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise ApiError(400, "validation_error", f"items[{index}] must be an object")
        quantity = parse_decimal(item.get("quantity", 1), f"items[{index}].quantity", places=3)
        if quantity == 0:
            raise ApiError(400, "validation_error", f"items[{index}].quantity must be above 0")
        if item.get("free"):
            price = parse_decimal(item.get("price"), f"items[{index}].price")
            return _line_json(None, str(item.get("name") or FREE_SALE_NAME), quantity, price)
        product = unit.products.get(str(item.get("external_id")))
        if product is None:
            raise ApiError(
                400, "validation_error", f"items[{index}]: no product {item.get('external_id')!r}"
            )
        if product.archived:
            raise ApiError(400, "validation_error", f"items[{index}]: product is archived")
        price = (
            parse_decimal(item["price"], f"items[{index}].price")
            if "price" in item
            else product.price
        )
        return _line_json(product, product.name, quantity, price)

    def _document(
        self,
        shift: Shift,
        kind: str,
        payment: str,
        lines: list[dict[str, Any]],
        created_at: datetime,
    ) -> dict[str, Any]:
        total = sum((Decimal(line["total"]) for line in lines), Decimal(0))
        number = self._next_document
        self._next_document += 1
        return {
            "id": f"{shift.id}-{len(shift.documents) + 1}",
            "number": number,
            "type": kind,
            "created_at": iso(created_at),
            "total": money(total),
            "payments": [{"type": payment, "amount": money(total)}],
            "items": lines,
        }

    def close_shift(
        self, unit: TradeUnit, closed_at: datetime | None = None, *, number: int | None = None
    ) -> Shift:
        """`closed_at` in the past is a late close: the shift shows up in listings now,
        under a closing time a client's cursor may already have passed. `number`
        overrides the shift's number (a fault knob: any whole number, even a wrong one)."""
        with self.lock:
            shift = unit.open_shift
            if shift is None:
                raise ApiError(409, "no_open_shift", "no shift is open")
            if number is not None:
                shift.number = number
            now = datetime.now(UTC)
            closed_at = closed_at or now
            if closed_at > now:
                raise ApiError(400, "validation_error", "closed_at is in the future")
            # The register was offline: everything it did happened that much earlier.
            shift.opened_at -= now - closed_at
            for document in shift.documents:
                created = datetime.fromisoformat(document["created_at"]) - (now - closed_at)
                document["created_at"] = iso(created)
            unit.open_shift = None
            self._freeze(unit, shift, closed_at)
            return shift

    def _freeze(self, unit: TradeUnit, shift: Shift, closed_at: datetime) -> None:
        shift.closed_at = closed_at
        detail = {
            "data": [
                {
                    "shift": shift.summary(),
                    "z_report": z_report(shift),
                    "documents": shift.documents,
                }
            ]
        }
        shift.detail = json.dumps(detail, ensure_ascii=False).encode()
        bisect.insort(unit.shifts_by_close, (closed_at, shift.id))

    def generate(self, unit: TradeUnit, payload: object) -> dict[str, Any]:
        """Many closed shifts at once, for benches: `shifts` times `receipts`, each receipt
        one to three lines of the trade unit's products (or free sales when it has
        none); every `free_sale_every`-th receipt adds a free-sale line and every
        `refund_every`-th receipt is a refund. Shifts close an hour apart, ending now."""
        if not isinstance(payload, dict):
            raise ApiError(400, "validation_error", "send a JSON object")
        counts = {}
        for name, default in (
            ("shifts", 10),
            ("receipts", 20),
            ("free_sale_every", 10),
            ("refund_every", 25),
            ("seed", 1),
        ):
            value = payload.get(name, default)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ApiError(400, "validation_error", f"{name} must be a whole number")
            counts[name] = value
        if counts["shifts"] > 100_000 or counts["receipts"] > 1000:
            raise ApiError(400, "validation_error", "at most 100,000 shifts of 1,000 receipts")
        rng = random.Random(counts["seed"])
        with self.lock:
            if unit.open_shift is not None:
                raise ApiError(409, "shift_open", "close the open shift first")
            products = [p for p in unit.products.values() if not p.archived]
            now = datetime.now(UTC)
            revenue, ids = Decimal(0), []
            for n in range(counts["shifts"]):
                closed_at = now - timedelta(hours=counts["shifts"] - n)
                unit.shift_count += 1
                shift = Shift(
                    self._new_id("shift"),
                    unit.id,
                    unit.shift_count,
                    closed_at - timedelta(minutes=50),
                )
                self.shifts[shift.id] = shift
                for r in range(1, counts["receipts"] + 1):
                    lines = []
                    for product in rng.sample(products, min(len(products), rng.randint(1, 3))):
                        lines.append(
                            _line_json(
                                product, product.name, Decimal(rng.randint(1, 3)), product.price
                            )
                        )
                    if not lines or (
                        counts["free_sale_every"] and r % counts["free_sale_every"] == 0
                    ):
                        price = Decimal(rng.randint(50, 500))
                        lines.append(_line_json(None, FREE_SALE_NAME, Decimal(1), price))
                    refund = bool(counts["refund_every"]) and r % counts["refund_every"] == 0
                    document = self._document(
                        shift,
                        "refund" if refund else "sale",
                        rng.choice(("cash", "card")),
                        lines,
                        shift.opened_at + timedelta(seconds=r),
                    )
                    shift.documents.append(document)
                    revenue += -Decimal(document["total"]) if refund else Decimal(document["total"])
                self._freeze(unit, shift, closed_at)
                ids.append(shift.id)
        return {"shift_ids": ids, "revenue": money(revenue)}

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "accounts": [
                    {
                        "id": a.id,
                        "name": a.name,
                        "tokens": sorted(t for t, owner in self.tokens.items() if owner == a.id),
                    }
                    for a in self.accounts.values()
                ],
                "trade_units": [
                    {
                        **u.to_json(),
                        "account_id": u.account_id,
                        "products": len(u.products),
                        "active_products": sum(not p.archived for p in u.products.values()),
                        "closed_shifts": len(u.shifts_by_close),
                        "open_shift": u.open_shift.id if u.open_shift else None,
                    }
                    for u in self.trade_units.values()
                ],
                "revoked_tokens": len(self.revoked),
            }


def _line_json(
    product: Product | None, name: str, quantity: Decimal, price: Decimal
) -> dict[str, Any]:
    return {
        "product": None
        if product is None
        else {"id": product.id, "external_id": product.external_id},
        "name": name,
        "quantity": str(quantity.quantize(Decimal("0.001"))),
        "price": money(price),
        "total": money(quantity * price),
        "tax": product.tax if product else "none",
    }


def _list_field(payload: object, name: str) -> list[Any]:
    if not isinstance(payload, dict) or not isinstance(payload.get(name), list):
        raise ApiError(400, "validation_error", f"send a JSON object with a list {name!r}")
    return payload[name]  # type: ignore[no-any-return]
