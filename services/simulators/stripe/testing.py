"""Helpers for test suites (Lavka's included) that run the simulator in their own process."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .server import Config, Simulator
from .webhooks import Faults, WebhookSettings


@contextmanager
def running_simulator(
    *,
    webhook_url: str | None = None,
    webhook_secret: str = "whsec_simulator",  # noqa: S107 - test mode
    api_key: str | None = None,
    **faults: Any,
) -> Iterator[Simulator]:
    """A simulator on a free loopback port with quick retries and instant bank debits."""
    config = Config(
        port=0,
        api_key=api_key,
        webhook=WebhookSettings(
            url=webhook_url, secret=webhook_secret, max_attempts=5, retry_base_seconds=0.05
        ),
        faults=Faults(**faults),
        async_delay_seconds=0.0,
    )
    simulator = Simulator(config).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def wait_idle(simulator: Simulator, timeout: float = 10.0) -> None:
    """Until every event has been delivered or given up on (held events count as pending)."""
    deadline = time.monotonic() + timeout
    while not simulator.control_events()["idle"]:
        if time.monotonic() > deadline:
            raise TimeoutError("the Stripe simulator still has events to deliver")
        time.sleep(0.02)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def submit_payment_page(session_url: str, action: str = "pay", email: str = "") -> tuple[int, str]:
    """What a payer's click does: ``action`` is pay, decline, debit_succeeds, debit_fails or
    cancel. Returns the status and the redirect target (empty when there is none)."""
    data = urllib.parse.urlencode({"action": action, "email": email}).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(session_url, data=data, method="POST")  # noqa: S310
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", "")
