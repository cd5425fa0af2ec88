"""A running simulator, a real webhook endpoint that records what it gets, and stripe-python."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from services.simulators.stripe import Simulator
from services.simulators.stripe.testing import running_simulator, wait_idle

WEBHOOK_SECRET = "whsec_simulator_tests"
API_KEY = "sk_test_simulator_tests"


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Endpoint:
    """A webhook endpoint on loopback: answers the next queued statuses, then 200."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.event for r in self.received]

    def types(self) -> list[str]:
        return [e["type"] for e in self.events()]


class _EndpointHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        endpoint: Endpoint = self.server.endpoint  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with endpoint.lock:
            endpoint.received.append(Received(body, dict(self.headers.items())))
            status = endpoint.statuses.pop(0) if endpoint.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self) -> None:
        """The shop's success and cancel pages, for the browser test."""
        body = f"<!doctype html><title>Shop</title><h1>Back at the shop: {self.path}</h1>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EndpointHandler)
    server.daemon_threads = True
    state = Endpoint(url=f"http://127.0.0.1:{server.server_address[1]}/shop/stripe/webhook/")
    server.endpoint = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def simulator(endpoint: Endpoint) -> Iterator[Simulator]:
    with running_simulator(webhook_url=endpoint.url, webhook_secret=WEBHOOK_SECRET) as sim:
        yield sim


@pytest.fixture
def client(simulator: Simulator) -> stripe.StripeClient:
    """stripe-python as Lavka will configure it, without its own retries unless a test asks."""
    return stripe.StripeClient(
        API_KEY, base_addresses={"api": simulator.url}, max_network_retries=0
    )


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def control(sim: Simulator, path: str = "/_control", body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sim.url + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def settled(sim: Simulator) -> dict[str, Any]:
    """The event log once every delivery has finished (succeeded or given up)."""
    wait_idle(sim)
    return sim.control_events()


def new_session(
    client: stripe.StripeClient, options: stripe.RequestOptions | None = None, **extra: Any
) -> Any:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 1250,
                    "product_data": {"name": "Clay mug"},
                },
                "quantity": 2,
            }
        ],
        "success_url": "http://127.0.0.1:9/shop/paid/?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:9/shop/cart/",
    }
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params, options=options or {})


def post_form(url: str, fields: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """A form post that does not follow redirects, as a browser's first hop."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    data = urllib.parse.urlencode(fields).encode()
    try:
        with opener.open(urllib.request.Request(url, data=data, method="POST"), timeout=5) as r:
            return r.status, dict(r.headers.items()), r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read().decode()


def get_page(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
