"""Events and their delivery to the webhook endpoint, signed the way Stripe signs them.

Deliveries run one at a time on their own thread, in the order they fall due, so the
fault knobs (twice, out of order, late, failed) give tests a predictable sequence.
Each copy of an event is retried with exponential backoff until the endpoint answers
2xx or the attempts run out; every attempt is recorded for ``GET /_control/events``.
"""

from __future__ import annotations

import fnmatch
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from .objects import new_id

log = logging.getLogger("stripe_simulator")


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """``Stripe-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">``."""
    signed = str(timestamp).encode() + b"." + payload
    digest = hmac.new(secret.encode(), signed, sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Scheduler:
    """Runs callables on one thread when they fall due; ties run in the order added."""

    def __init__(self, name: str) -> None:
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_at(self, due: float, action: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._queue, (due, next(self._order), action))
            self._wake.notify()

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        self.call_at(time.monotonic() + max(delay, 0.0), action)

    def idle(self) -> bool:
        with self._wake:
            return not self._queue and not self._busy

    def clear(self) -> None:
        with self._wake:
            self._queue.clear()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped:
                    if self._queue and self._queue[0][0] <= time.monotonic():
                        break
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                _, _, action = heapq.heappop(self._queue)
                self._busy = True
            try:
                action()
            except Exception:
                log.exception("scheduled action failed")
            finally:
                with self._wake:
                    self._busy = False


@dataclass
class Faults:
    """What the simulator does wrong on purpose; flipped by CLI flags or ``POST /_control``."""

    duplicate: bool = False
    out_of_order: bool = False
    delay_seconds: float = 0.0
    fail_deliveries: int = 0
    lose_responses: int = 0
    rate_limit_requests: int = 0
    error_requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class WebhookSettings:
    url: str | None = None
    secret: str = "whsec_simulator"  # noqa: S105 - a test-mode default, like the keys it pairs with
    enabled_events: list[str] = field(default_factory=lambda: ["*"])
    max_attempts: int = 5
    retry_base_seconds: float = 1.0
    timeout_seconds: float = 10.0

    def to_json(self) -> dict[str, Any]:
        shown = dict(self.__dict__)
        shown["secret"] = self.secret[:6] + "…" if self.secret else ""
        return shown


@dataclass
class Attempt:
    at: float
    status: int | None
    error: str | None
    sent: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Delivery:
    copy: int
    attempts: list[Attempt] = field(default_factory=list)
    state: str = "pending"  # pending, held, succeeded, failed

    def to_json(self) -> dict[str, Any]:
        return {
            "copy": self.copy,
            "state": self.state,
            "attempts": [a.to_json() for a in self.attempts],
        }


@dataclass
class EventRecord:
    body: dict[str, Any]
    payload: bytes
    deliveries: list[Delivery] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.body["id"],
            "type": self.body["type"],
            "created": self.body["created"],
            "object_id": self.body["data"]["object"].get("id"),
            "deliveries": [d.to_json() for d in self.deliveries],
        }


class Dispatcher:
    """Creates events and hands them to the endpoint, applying the fault knobs."""

    def __init__(self, settings: WebhookSettings, faults: Faults, api_version: str) -> None:
        self.settings = settings
        self.faults = faults
        self.api_version = api_version
        self.events: dict[str, EventRecord] = {}
        self._held: list[tuple[EventRecord, Delivery]] = []
        self._lock = threading.RLock()
        self._deliveries = Scheduler("stripe-simulator-webhooks")

    def publish(
        self,
        event_type: str,
        obj: dict[str, Any],
        created: int,
        request: tuple[str, str | None] | None = None,
    ) -> dict[str, Any]:
        event_id = new_id("evt_")
        body: dict[str, Any] = {
            "id": event_id,
            "object": "event",
            "api_version": self.api_version,
            "created": created,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1 if self.settings.url else 0,
            "request": {
                "id": request[0] if request else None,
                "idempotency_key": request[1] if request else None,
            },
            "type": event_type,
        }
        record = EventRecord(body=body, payload=json.dumps(body, indent=2).encode())
        with self._lock:
            self.events[event_id] = record
            if self.settings.url and self._wanted(event_type):
                self._route(record)
        return body

    def _wanted(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, p) for p in self.settings.enabled_events)

    def _route(self, record: EventRecord) -> None:
        copies = [Delivery(copy=1)]
        if self.faults.duplicate:
            copies.append(Delivery(copy=2))
        record.deliveries.extend(copies)
        delay = max(self.faults.delay_seconds, 0.0)
        if self.faults.out_of_order and not self._held:
            for delivery in copies:
                delivery.state = "held"
                self._held.append((record, delivery))
            return
        for delivery in copies:
            self._schedule(record, delivery, delay)
        self.release_held(delay)

    def release_held(self, delay: float = 0.0) -> None:
        """Send held events now (after the event that overtook them, or on demand)."""
        with self._lock:
            held, self._held = self._held, []
            for record, delivery in held:
                delivery.state = "pending"
                self._schedule(record, delivery, delay)

    def _schedule(self, record: EventRecord, delivery: Delivery, delay: float) -> None:
        self._deliveries.call_later(delay, lambda: self._attempt(record, delivery))

    def _attempt(self, record: EventRecord, delivery: Delivery) -> None:
        settings = self.settings
        with self._lock:
            url = settings.url
            if self.faults.fail_deliveries > 0:
                self.faults.fail_deliveries -= 1
                outcome = Attempt(time.time(), None, "simulated failure: not sent", sent=False)
                self._finish(record, delivery, outcome)
                return
            lose_response = self.faults.lose_responses > 0
            if lose_response:
                self.faults.lose_responses -= 1
        if url is None:
            self._finish(record, delivery, Attempt(time.time(), None, "no endpoint", False))
            return
        status, error = self._post(url, record.payload, settings.secret, settings.timeout_seconds)
        if lose_response:
            error = f"simulated failure: endpoint answered {status}, answer discarded"
            status = None
        self._finish(record, delivery, Attempt(time.time(), status, error, sent=True))

    def _post(
        self, url: str, payload: bytes, secret: str, timeout: float
    ) -> tuple[int | None, str | None]:
        request = urllib.request.Request(  # noqa: S310 - the operator configures the URL
            url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign(payload, secret, int(time.time())),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                response.read(65536)
                return response.status, None
        except urllib.error.HTTPError as error:
            return error.code, f"endpoint answered {error.code}"
        except (OSError, ValueError) as error:
            return None, f"{type(error).__name__}: {error}"[:300]

    def _finish(self, record: EventRecord, delivery: Delivery, attempt: Attempt) -> None:
        with self._lock:
            delivery.attempts.append(attempt)
            if attempt.status is not None and 200 <= attempt.status < 300:
                delivery.state = "succeeded"
                log.info("delivered %s %s", record.body["type"], record.body["id"])
                return
            if len(delivery.attempts) >= self.settings.max_attempts:
                delivery.state = "failed"
                log.warning(
                    "gave up on %s after %d attempts", record.body["id"], len(delivery.attempts)
                )
                return
            backoff = self.settings.retry_base_seconds * 2 ** (len(delivery.attempts) - 1)
        self._schedule(record, delivery, backoff)

    def idle(self) -> bool:
        with self._lock:
            pending = any(d.state == "pending" for r in self.events.values() for d in r.deliveries)
        return not pending and self._deliveries.idle()

    def reset(self) -> None:
        with self._lock:
            self._deliveries.clear()
            self._held.clear()
            self.events.clear()

    def stop(self) -> None:
        self._deliveries.stop()
