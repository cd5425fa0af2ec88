"""The HTTP server: ``/v1`` API, the hosted page under ``/c/pay/``, and ``/_control`` for tests.

``Simulator(config).start()`` serves on a thread (tests, or Lavka's own process);
``python -m services.simulators.stripe`` serves in the foreground.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ..common import BodyError, Handler, Serving
from . import page
from .api import Api, Response
from .errors import StripeError
from .store import Store
from .webhooks import Dispatcher, Faults, Scheduler, WebhookSettings

log = logging.getLogger("stripe_simulator")

# The API version stripe-python 16.1 pins; events carry the endpoint's version like this.
DEFAULT_API_VERSION = "2026-10-28.endive"
MAX_BODY = 1024 * 1024
SWEEP_SECONDS = 1.0

CONTROL_FIELDS: dict[str, tuple[str, type]] = {
    "duplicate": ("faults", bool),
    "out_of_order": ("faults", bool),
    "delay_seconds": ("faults", float),
    "fail_deliveries": ("faults", int),
    "lose_responses": ("faults", int),
    "rate_limit_requests": ("faults", int),
    "error_requests": ("faults", int),
    "webhook_url": ("webhook", str),
    "webhook_secret": ("webhook", str),
    "enabled_events": ("webhook", list),
    "max_attempts": ("webhook", int),
    "retry_base_seconds": ("webhook", float),
    "timeout_seconds": ("webhook", float),
    "async_delay_seconds": ("store", float),
}


def valid_webhook_url(url: object) -> bool:
    """Only http(s): urllib would also open file:// and ftp:// URLs."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 12111
    public_url: str | None = None
    api_key: str | None = None
    api_version: str = DEFAULT_API_VERSION
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    faults: Faults = field(default_factory=Faults)
    async_delay_seconds: float = 5.0


class Simulator(Serving):
    thread_name = "stripe-simulator"
    server_class = ThreadingHTTPServer

    def __init__(self, config: Config) -> None:
        if config.webhook.url is not None and not valid_webhook_url(config.webhook.url):
            raise ValueError(
                f"the webhook URL must be http:// or https://, not {config.webhook.url!r}"
            )
        self.config = config
        self.listen(config.host, config.port, _Handler)
        self.faults = copy.deepcopy(config.faults)
        self.dispatcher = Dispatcher(copy.deepcopy(config.webhook), self.faults, config.api_version)
        self.store = Store(self.dispatcher, config.public_url or self.url)
        self.store.async_delay_seconds = config.async_delay_seconds
        self.timers = Scheduler("stripe-simulator-timers")
        self.store.schedule = self.timers.call_later
        self.api = Api(self.store, self.faults, config.api_key, config.api_version)
        self.timers.call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        self.store.expire_due()
        self.timers.call_later(SWEEP_SECONDS, self._sweep)

    def stop(self) -> None:
        super().stop()
        self.timers.stop()
        self.dispatcher.stop()

    # /_control

    def control_state(self) -> dict[str, Any]:
        return {
            "faults": self.faults.to_json(),
            "webhook": self.dispatcher.settings.to_json(),
            "async_delay_seconds": self.store.async_delay_seconds,
            "clock_offset_seconds": self.store.clock.offset,
        }

    def control_update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validate every change first, then apply them together."""
        checked: list[tuple[str, str, Any]] = []
        for name, value in changes.items():
            if name not in CONTROL_FIELDS:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(CONTROL_FIELDS)}")
            target, kind = CONTROL_FIELDS[name]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if name == "webhook_url" and value is None:
                kind = type(None)
            elif name == "webhook_url" and not valid_webhook_url(value):
                raise ValueError("webhook_url must be an http:// or https:// URL")
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValueError(f"{name} must be {kind.__name__}")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{name} must not be negative")
            if isinstance(value, list) and not all(isinstance(v, str) for v in value):
                raise ValueError("enabled_events must list strings")
            checked.append((target, name, value))
        with self.store.lock:
            for target, name, value in checked:
                if target == "faults":
                    setattr(self.faults, name, value)
                elif target == "webhook":
                    setattr(self.dispatcher.settings, name.removeprefix("webhook_"), value)
                else:
                    self.store.async_delay_seconds = value
            if not self.faults.out_of_order:
                self.dispatcher.release_held()
        return self.control_state()

    def control_events(self) -> dict[str, Any]:
        with self.store.lock:
            events = [record.to_json() for record in self.dispatcher.events.values()]
            idle = self.dispatcher.idle() and self.store.pending_settlements == 0
        return {"data": events, "idle": idle}

    def control_clock(self, body: dict[str, Any]) -> dict[str, Any]:
        seconds = body.get("advance_seconds")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise ValueError("advance_seconds must be a non-negative number")
        with self.store.lock:
            self.store.clock.offset += seconds
            self.store.expire_due()
        return self.control_state()

    def control_reset(self) -> dict[str, Any]:
        with self.store.lock:
            self.dispatcher.reset()
            self.store.reset()
            self.api.idempotent.clear()
            self.faults.__dict__.update(copy.deepcopy(self.config.faults).__dict__)
            self.dispatcher.settings.__dict__.update(copy.deepcopy(self.config.webhook).__dict__)
            self.store.async_delay_seconds = self.config.async_delay_seconds
        return self.control_state()


class _Handler(Handler[Simulator]):
    server_version = "StripeSimulator/1"
    logger = log
    tcp_nodelay = False

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        try:
            self._respond(method)
        except Exception:
            self.log_unexpected(method)
            error = StripeError(
                500, "An unknown error occurred in the simulator.", type="api_error"
            )
            self._send(
                Response(
                    500, json.dumps(error.body()).encode(), {"Content-Type": "application/json"}
                )
            )

    def _respond(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        try:
            body = self.read_body(MAX_BODY)
        except BodyError as bad:
            error = StripeError(bad.status, bad.message)
            self._send(
                Response(
                    error.status,
                    json.dumps(error.body()).encode(),
                    {"Content-Type": "application/json"},
                )
            )
            return
        sim = self.simulator
        if path.startswith("/v1/"):
            headers = {name.title(): value for name, value in self.headers.items()}
            response = sim.api.handle(method, path, parts.query, body, headers)
            response.headers["Content-Type"] = "application/json"
        elif path.startswith("/c/pay/") and method in ("GET", "POST"):
            session_id = path.removeprefix("/c/pay/").strip("/")
            if method == "GET":
                response = page.show(sim.store, session_id)
            else:
                response = page.submit(sim.store, session_id, body)
        elif path.startswith("/_control"):
            response = self._control(method, path, body)
        elif path in ("/", "/healthz") and method == "GET":
            response = Response(
                200,
                b"Stripe simulator: ok (test mode, no real money)\n",
                {"Content-Type": "text/plain; charset=utf-8"},
            )
        else:
            response = Response(404, b"not found\n", {"Content-Type": "text/plain; charset=utf-8"})
        self._send(response)

    def _control(self, method: str, path: str, body: bytes) -> Response:
        sim = self.simulator
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("send a JSON object")
            if path == "/_control" and method == "GET":
                result = sim.control_state()
            elif path == "/_control" and method == "POST":
                result = sim.control_update(payload)
            elif path == "/_control/events" and method == "GET":
                result = sim.control_events()
            elif path == "/_control/clock" and method == "POST":
                result = sim.control_clock(payload)
            elif path == "/_control/release" and method == "POST":
                sim.dispatcher.release_held()
                result = sim.control_state()
            elif path == "/_control/reset" and method == "POST":
                result = sim.control_reset()
            else:
                return Response(
                    404,
                    b'{"error": "unknown control endpoint"}',
                    {"Content-Type": "application/json"},
                )
        except ValueError as error:
            return Response(
                400,
                json.dumps({"error": str(error)}).encode(),
                {"Content-Type": "application/json"},
            )
        return Response(
            200, json.dumps(result, indent=2).encode(), {"Content-Type": "application/json"}
        )

    def _send(self, response: Response) -> None:
        self.send_answer(response.status, response.headers, response.body)
