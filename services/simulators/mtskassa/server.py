"""The HTTP server: the API under ``/api/v1`` and ``/_control`` for tests, benches and
the demo register.

``Simulator(config).start()`` serves on a thread (tests); ``python -m
services.simulators.mtskassa`` serves in the foreground.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..common import BodyError, Handler, Serving
from .faults import Faults, rule_from_json
from .store import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    TAXES,
    Account,
    ApiError,
    Store,
    parse_time,
)

log = logging.getLogger("mtskassa_simulator")

MAX_BODY = 2 * 1024 * 1024
JSON = "application/json; charset=utf-8"


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 19800
    fault_seed: int = 0


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


def answer(status: int, payload: Any, **headers: str) -> Answer:
    return Answer(status, json.dumps(payload, ensure_ascii=False).encode(), headers)


def error_answer(error: ApiError) -> Answer:
    return answer(error.status, error.body())


# (method, pattern, route name); the route name keys the call statistics.
API_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), n)
    for m, p, n in (
        ("GET", r"/api/v1/company", "company"),
        ("GET", r"/api/v1/taxes", "taxes"),
        ("GET", r"/api/v1/trade-units", "trade_units"),
        ("GET", r"/api/v1/trade-units/(?P<unit>[^/]+)/products", "products.list"),
        ("POST", r"/api/v1/trade-units/(?P<unit>[^/]+)/products/bulk", "products.bulk"),
        ("POST", r"/api/v1/trade-units/(?P<unit>[^/]+)/products/archive", "products.archive"),
        ("GET", r"/api/v1/trade-units/(?P<unit>[^/]+)/shifts", "shifts.list"),
        ("GET", r"/api/v1/trade-units/(?P<unit>[^/]+)/shifts/(?P<shift>[^/]+)", "shifts.detail"),
    )
]


class Simulator(Serving):
    thread_name = "mtskassa-simulator"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store()
        self.faults = Faults(config.fault_seed)
        self.calls: Counter[str] = Counter()
        self.calls_lock = threading.Lock()
        self.listen(config.host, config.port, _Handler)
        self._stopping = threading.Event()
        self._background: list[threading.Thread] = []

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def every(self, seconds: float, action: Callable[[], None], name: str) -> None:
        """Run `action` every `seconds` until stop (the demo register)."""

        def loop() -> None:
            while not self._stopping.wait(seconds):
                try:
                    action()
                except Exception:
                    log.exception("%s failed", name)

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        self._background.append(thread)

    # The API

    def api(self, method: str, path: str, query: str, body: bytes, auth: str | None) -> Answer:
        found = _match(method, path)
        if found is None:
            return error_answer(ApiError(404, "not_found", f"no endpoint {method} {path}"))
        route, args = found
        with self.calls_lock:
            self.calls[route] += 1
        account = self.store.authenticate(auth)
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        return self._route(route, account, args, params, body)

    def _route(
        self,
        name: str,
        account: Account,
        args: dict[str, str],
        params: dict[str, str],
        body: bytes,
    ) -> Answer:
        store = self.store
        if name == "company":
            return answer(
                200, {"data": {"id": account.id, "name": account.name, "inn": account.inn}}
            )
        if name == "taxes":
            return answer(200, {"data": list(TAXES)})
        if name == "trade_units":
            return answer(200, {"data": [u.to_json() for u in store.trade_units_of(account)]})
        unit = store.trade_unit(account, args["unit"])
        if name == "products.list":
            page, size = _paging(params)
            with store.lock:
                products = sorted(unit.products.values(), key=lambda p: p.id)
                chunk = [p.to_json() for p in products[(page - 1) * size : page * size]]
            return answer(200, {"data": chunk, "meta": _meta(page, size, len(products))})
        if name in ("products.bulk", "products.archive"):
            payload = _json_body(body)
            if name == "products.bulk":
                return answer(200, {"data": store.upsert_products(unit, payload)})
            return answer(200, {"data": store.archive_products(unit, payload)})
        if name == "shifts.list":
            page, size = _paging(params)
            closed_from = params.get("closed_from")
            since = parse_time(closed_from, "closed_from") if closed_from else None
            shifts, total = store.closed_shifts(unit, since, page, size)
            return answer(200, {"data": shifts, "meta": _meta(page, size, total)})
        detail = store.shift_detail(unit, args["shift"])
        return Answer(200, detail, {})

    # /_control

    def control(self, method: str, path: str, body: bytes) -> Answer:
        store = self.store
        payload = _json_body(body) if body else {}
        if not isinstance(payload, dict):
            raise ApiError(400, "validation_error", "send a JSON object")
        parts = path.strip("/").split("/")[1:]  # after "_control"
        if (method, *parts) == ("GET",):
            return answer(200, {"faults": self.faults.to_json(), "calls": dict(self.calls)})
        if (method, *parts) == ("GET", "state"):
            return answer(200, {**store.state(), "calls": dict(self.calls)})
        if (method, *parts) == ("POST", "faults"):
            try:
                self.faults.add(rule_from_json(payload))
            except ValueError as error:
                raise ApiError(400, "validation_error", str(error)) from None
            return answer(200, {"faults": self.faults.to_json()})
        if (method, *parts) == ("POST", "faults", "clear"):
            self.faults.clear()
            return answer(200, {"faults": []})
        if (method, *parts) == ("POST", "reset"):
            store.reset()
            self.faults.clear()
            with self.calls_lock:
                self.calls.clear()
            return answer(200, {})
        if (method, *parts) == ("POST", "accounts"):
            account, token = store.create_account(
                _text(payload, "name", "Demo account"), payload.get("token")
            )
            return answer(201, {"id": account.id, "name": account.name, "token": token})
        if method == "POST" and len(parts) == 3 and parts[0::2] == ["accounts", "tokens"]:
            return answer(201, {"token": store.issue_token(_int(parts[1]))})
        if (method, *parts) == ("POST", "revoke"):
            store.revoke(_text(payload, "token", ""))
            return answer(200, {"revoked": True})
        if (method, *parts) == ("POST", "trade-units"):
            unit = store.create_trade_unit(
                _int(payload.get("account_id")),
                _text(payload, "name", "Trade point"),
                _text(payload, "address", ""),
                bool(payload.get("is_main", False)),
            )
            return answer(201, unit.to_json())
        if len(parts) < 3 or parts[0] != "trade-units":
            raise ApiError(404, "not_found", f"no control endpoint {method} {path}")
        unit = store.trade_unit(None, parts[1])
        action = "/".join(parts[2:])
        if (method, action) == ("GET", "products"):
            with store.lock:
                products = [p.to_json() for p in unit.products.values()]
            return answer(200, {"data": products})
        if (method, action) == ("POST", "shifts/open"):
            opened_at = payload.get("opened_at")
            shift = store.open_shift(
                unit, parse_time(opened_at, "opened_at") if opened_at else None
            )
            return answer(201, shift.summary())
        if (method, action) == ("POST", "receipts"):
            return answer(201, store.ring_up(unit, payload))
        if (method, action) == ("POST", "shifts/close"):
            closed_at = _close_time(payload)
            shift = store.close_shift(unit, closed_at, number=_shift_number(payload))
            return answer(200, json.loads(shift.detail)["data"][0]["z_report"])
        if (method, action) == ("POST", "generate"):
            return answer(201, store.generate(unit, payload))
        raise ApiError(404, "not_found", f"no control endpoint {method} {path}")


def _match(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route_method, pattern, route in API_ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return route, match.groupdict()
    return None


def _shift_number(payload: dict[str, Any]) -> int | None:
    """A fault knob: `number` on close gives the shift that number as is (negative or
    past 2^31 too), as a misbehaving register would report it."""
    number = payload.get("number")
    if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
        raise ApiError(400, "validation_error", "number must be a whole number")
    return number


def _close_time(payload: dict[str, Any]) -> datetime | None:
    if payload.get("closed_at"):
        return parse_time(str(payload["closed_at"]), "closed_at")
    late = payload.get("late_seconds")
    if late is None:
        return None
    if not isinstance(late, (int, float)) or isinstance(late, bool) or late < 0:
        raise ApiError(400, "validation_error", "late_seconds must be zero or more")
    return datetime.now(UTC) - timedelta(seconds=late)


def _paging(params: dict[str, str]) -> tuple[int, int]:
    page, size = params.get("page", "1"), params.get("page_size", str(DEFAULT_PAGE_SIZE))
    if not page.isdigit() or int(page) < 1:
        raise ApiError(400, "validation_error", "page is a whole number from 1")
    if not size.isdigit() or not 1 <= int(size) <= MAX_PAGE_SIZE:
        raise ApiError(400, "validation_error", f"page_size is from 1 to {MAX_PAGE_SIZE}")
    return int(page), int(size)


def _meta(page: int, size: int, total: int) -> dict[str, int]:
    return {"page": page, "page_size": size, "total": total, "pages": math.ceil(total / size)}


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None


def _text(payload: dict[str, Any], name: str, default: str) -> str:
    value = payload.get(name, default)
    if not isinstance(value, str):
        raise ApiError(400, "validation_error", f"{name} must be a string")
    return value


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ApiError(400, "validation_error", "an id must be a whole number")


class _Handler(Handler[Simulator]):
    server_version = "MtsKassaSimulator/1"
    logger = log

    def dispatch(self, method: str) -> None:
        try:
            self._respond(method)
        except Exception:
            self.log_unexpected(method)
            self._send(error_answer(ApiError(500, "internal_error", "simulator error")))

    def _respond(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, sim = parts.path.rstrip("/") or "/", self.simulator
        try:
            body = self._body()
            if path.startswith("/api/"):
                self._api(method, path, parts.query, body)
                return
            if path.startswith("/_control"):
                result = sim.control(method, path, body)
            elif path in ("/", "/healthz") and method == "GET":
                result = Answer(200, b"MTS Kassa simulator: ok\n", {"Content-Type": "text/plain"})
            else:
                result = error_answer(ApiError(404, "not_found", "not found"))
        except ApiError as error:
            result = error_answer(error)
        self._send(result)

    def _api(self, method: str, path: str, query: str, body: bytes) -> None:
        sim = self.simulator
        page = parse_qs(query).get("page", ["1"])[-1]
        listing = path.endswith(("/shifts", "/products")) and page.isdigit() and int(page) > 1
        fault = sim.faults.pick(method, path, repeatable=listing)
        kind = fault[0] if fault else ""
        if kind == "rate_limit":
            assert fault is not None
            error = ApiError(429, "rate_limited", "too many requests, slow down")
            self._send(answer(429, error.body(), **{"Retry-After": str(fault[1].retry_after)}))
            return
        if kind == "server_error":
            self._send(error_answer(ApiError(500, "internal_error", "something went wrong")))
            return
        if kind == "timeout":
            assert fault is not None
            time.sleep(fault[1].delay_seconds)
            self.close_connection = True  # no answer at all
            return
        if kind == "repeat_page":
            # A lagging server: the page before the one asked for, labelled as asked.
            query = re.sub(r"(^|&)page=\d+", rf"\g<1>page={int(page) - 1}", query)
        try:
            result = sim.api(method, path, query, body, self.headers.get("Authorization"))
        except ApiError as error:
            result = error_answer(error)
        if kind == "repeat_page" and result.status == 200:
            payload = json.loads(result.body)
            payload["meta"]["page"] = int(page)
            result = answer(200, payload)
        if kind == "partial" and result.status == 200 and path.rsplit("/", 2)[-2] == "shifts":
            payload = json.loads(result.body)  # a shift detail that lost its last document
            del payload["data"][0]["documents"][-1:]
            result = answer(200, payload)
        if kind == "truncated" and result.status == 200:
            result = Answer(200, result.body[: max(1, len(result.body) // 2)], result.headers)
        self._send(result)

    def _body(self) -> bytes:
        try:
            return self.read_body(MAX_BODY)
        except BodyError as error:
            if error.status == 413:
                raise ApiError(413, "too_large", f"at most {MAX_BODY} bytes") from None
            raise ApiError(400, "bad_request", "send a Content-Length") from None

    def _send(self, result: Answer) -> None:
        self.send_answer(result.status, {"Content-Type": JSON, **result.headers}, result.body)
