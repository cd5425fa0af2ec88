"""The HTTP server: MoeDelo's API paths, and ``/_control`` for tests and the bench.

``Simulator(config).start()`` serves on a thread (tests, the bench);
``python -m services.simulators.moedelo`` serves in the foreground.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

from ..common import BodyError, Handler, Serving
from .api import Api, Response, encode, wait
from .errors import ApiError
from .faults import Fault, FaultBook
from .store import Account, Store

log = logging.getLogger("moedelo_simulator")

MAX_BODY = 8 * 1024 * 1024
MAX_GENERATED_GOODS = 200_000
DEMO_TOKEN = "d3m0d3m0-0000-4000-8000-00000000lavka"  # noqa: S105 - the local demo's key


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 19700
    seed_demo: bool = False
    demo_token: str = DEMO_TOKEN
    fault_seed: int = 0
    faults: list[Fault] = field(default_factory=list)


class Simulator(Serving):
    thread_name = "moedelo-simulator"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.listen(config.host, config.port, _Handler)
        self.store = Store()
        self.faults = FaultBook(seed=config.fault_seed)
        self.api = Api(self.store, self.faults)
        self._start_state()

    def _start_state(self) -> None:
        for fault in self.config.faults:
            self.faults.add(Fault(**{**fault.to_json(), "fired": 0}))
        if self.config.seed_demo:
            self.store.seed_demo(self.config.demo_token)

    # /_control, also called directly by tests in the same process

    def control_state(self) -> dict[str, Any]:
        with self.store.lock:
            accounts = [_summary(account) for account in self.store.accounts.values()]
            calls = dict(sorted(self.store.calls.items()))
        return {"accounts": accounts, "faults": self.faults.to_json(), "calls": calls}

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"token", "name", "inn"}
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        for key in ("token", "name", "inn"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise ValueError(f"{key} must be a string")
        account = self.store.create_account(
            body.get("token"), body.get("name") or "", body.get("inn") or ""
        )
        return _summary(account)

    def account_state(self, token: str) -> dict[str, Any]:
        """Everything in an account, as the API shows it (numbers as JSON numbers)."""
        with self.store.lock:
            account = self.store.known(token)
            state = {
                **_summary(account),
                "requisites": account.requisites(),
                "stocks": list(account.stocks.values()),
                "cashiers": list(account.cashiers.values()),
                "goods": list(account.goods.values()),
                "retail_revenues": list(account.revenues.values()),
                "retail_reports": list(account.reports.values()),
            }
            return json.loads(encode(state), parse_float=Decimal)  # type: ignore[no-any-return]

    def seed(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """Add warehouses, cash desks and goods (each validated as the API would), or
        ``generate_goods: N`` numbered goods for the bench."""
        unknown = set(body) - {"stocks", "cashiers", "goods", "generate_goods"}
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        generate = body.get("generate_goods", 0)
        if (
            not isinstance(generate, int)
            or isinstance(generate, bool)
            or not 0 <= generate <= MAX_GENERATED_GOODS
        ):
            raise ValueError(f"generate_goods must be an integer from 0 to {MAX_GENERATED_GOODS}")
        created: dict[str, list[int]] = {"stocks": [], "cashiers": [], "goods": []}
        with self.store.lock:
            account = self.store.known(token)
            savers = {
                "stocks": self.store.save_stock,
                "cashiers": self.store.save_cashier,
                "goods": self.store.save_good,
            }
            try:
                for kind, save in savers.items():
                    items = body.get(kind, [])
                    if not isinstance(items, list):
                        raise ValueError(f"{kind} must be a list")
                    created[kind] += [save(account, item)["Id"] for item in items]
                for index in range(1, generate + 1):
                    good = {
                        "Name": f"Товар {index:06d}",
                        "Article": f"A-{index:06d}",
                        "SalePrice": f"{100 + index % 900}.{index % 100:02d}",
                        "Nds": ("20", "10", "-1")[index % 3],
                    }
                    created["goods"].append(self.store.save_good(account, good)["Id"])
            except ApiError as error:
                raise ValueError(json.dumps(error.body(), ensure_ascii=False)) from None
        return created

    def set_revoked(self, token: str, revoked: bool) -> dict[str, Any]:
        with self.store.lock:
            account = self.store.known(token)
            account.revoked = revoked
            return _summary(account)

    def add_faults(self, body: Any) -> dict[str, Any]:
        faults = [Fault.from_json(item) for item in (body if isinstance(body, list) else [body])]
        for fault in faults:
            self.faults.add(fault)
        return self.control_state()

    def clear_faults(self, seed: int | None = None) -> dict[str, Any]:
        self.faults.clear(seed)
        return self.control_state()

    def reset(self) -> dict[str, Any]:
        """Forget every account, call count, remembered page and fault; then what the
        simulator started with (the demo account, start-up faults) comes back."""
        with self.store.lock:
            self.store.reset()
            self.api.last_pages.clear()
            self.faults.clear(self.config.fault_seed)
            self._start_state()
        return self.control_state()


def _summary(account: Account) -> dict[str, Any]:
    return {
        "token": account.token,
        "firm_id": account.firm_id,
        "name": account.short_name,
        "revoked": account.revoked,
        "stocks": len(account.stocks),
        "cashiers": len(account.cashiers),
        "goods": len(account.goods),
        "retail_revenues": len(account.revenues),
        "retail_reports": len(account.reports),
    }


class _Handler(Handler[Simulator]):
    server_version = "MoeDeloSimulator/1"
    logger = log

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        try:
            response = self._respond(method)
        except Exception:
            self.log_unexpected(method)
            response = Response(
                500,
                encode({"Message": "An error has occurred."}),
                {"Content-Type": "application/json"},
            )
        wait(response)
        self._send(response)

    def _respond(self, method: str) -> Response:
        parts = urlsplit(self.path)
        try:
            body = self.read_body(MAX_BODY)
        except BodyError as error:
            return Response(
                error.status,
                encode(ApiError(error.status, error.message).body()),
                {"Content-Type": "application/json"},
            )
        if parts.path.startswith("/_control"):
            return self._control(method, parts.path, body)
        if parts.path in ("/", "/healthz") and method == "GET":
            return Response(
                200,
                b"MoeDelo simulator: ok\n",
                {"Content-Type": "text/plain; charset=utf-8"},
            )
        headers = {name.lower(): value for name, value in self.headers.items()}
        return self.simulator.api.handle(method, parts.path, parts.query, body, headers)

    def _control(self, method: str, path: str, body: bytes) -> Response:
        sim = self.simulator
        parts = [unquote(part) for part in path.strip("/").split("/")[1:]]
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict | list):
                raise ValueError("send a JSON object")
            obj = payload if isinstance(payload, dict) else {}
            result: Any
            if method == "GET" and parts == []:
                result = sim.control_state()
            elif method == "POST" and parts == ["reset"]:
                result = sim.reset()
            elif method == "POST" and parts == ["accounts"]:
                result = sim.create_account(obj)
            elif method == "GET" and len(parts) == 2 and parts[0] == "accounts":
                result = sim.account_state(parts[1])
            elif method == "POST" and len(parts) == 3 and parts[0] == "accounts":
                action = parts[2]
                if action == "seed":
                    result = sim.seed(parts[1], obj)
                elif action in ("revoke", "restore"):
                    result = sim.set_revoked(parts[1], action == "revoke")
                else:
                    return _control_error(404, "unknown control endpoint")
            elif method == "POST" and parts == ["faults"]:
                result = sim.add_faults(payload)
            elif method == "DELETE" and parts == ["faults"]:
                seed = obj.get("seed")
                if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
                    raise ValueError("seed must be an integer")
                result = sim.clear_faults(seed)
            else:
                return _control_error(404, "unknown control endpoint")
        except (ValueError, TypeError) as error:
            return _control_error(400, str(error))
        return Response(200, encode(result), {"Content-Type": "application/json; charset=utf-8"})

    def _send(self, response: Response) -> None:
        try:
            self.send_answer(response.status, response.headers, response.body)
        except ConnectionError:  # the client gave up (a timeout fault): nobody to tell
            self.close_connection = True


def _control_error(status: int, message: str) -> Response:
    return Response(status, encode({"error": message}), {"Content-Type": "application/json"})
