"""Helpers for test suites (Lavka's included) that run the simulator in their own process."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .server import Config, Simulator


@contextmanager
def running_simulator(*, fault_seed: int = 0) -> Iterator[Simulator]:
    """A simulator on a free loopback port, stopped on exit."""
    simulator = Simulator(Config(port=0, fault_seed=fault_seed)).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def control(simulator: Simulator | str, method: str, path: str, body: Any = None) -> Any:
    """A call to `/_control…` over HTTP, as a bench in another process makes it; raises
    `RuntimeError` with the answer on a non-2xx status."""
    base = simulator if isinstance(simulator, str) else simulator.url
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the simulator's own http URL
        base + "/_control" + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None


def new_account(
    simulator: Simulator | str, name: str = "Test account", trade_points: int = 1
) -> tuple[str, list[int]]:
    """An account with its token and `trade_points` trade units (the first is main)."""
    account = control(simulator, "POST", "/accounts", {"name": name})
    units = [
        control(
            simulator,
            "POST",
            "/trade-units",
            {"account_id": account["id"], "name": f"{name} point {n + 1}", "is_main": n == 0},
        )["id"]
        for n in range(trade_points)
    ]
    return account["token"], units


def close_shift(
    simulator: Simulator | str,
    trade_unit_id: int,
    receipts: list[dict[str, Any]],
    **close: Any,
) -> dict[str, Any]:
    """Open a shift on the trade unit's register, ring up `receipts`, close it (`close`:
    `closed_at` or `late_seconds`); returns the Z-report."""
    control(simulator, "POST", f"/trade-units/{trade_unit_id}/shifts/open", {})
    for receipt in receipts:
        control(simulator, "POST", f"/trade-units/{trade_unit_id}/receipts", receipt)
    return control(simulator, "POST", f"/trade-units/{trade_unit_id}/shifts/close", close)  # type: ignore[no-any-return]
