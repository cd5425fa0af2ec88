# ruff: noqa: RUF001 - MoeDelo speaks Russian
"""Helpers for test suites (Lavka's included) and the bench that run the simulator in
their own process."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .faults import Fault
from .server import Config, Simulator


@contextmanager
def running_simulator(
    *, seed_demo: bool = False, fault_seed: int = 0, faults: list[Fault] | None = None
) -> Iterator[Simulator]:
    """A simulator on a free loopback port, in a thread of this process."""
    config = Config(port=0, seed_demo=seed_demo, fault_seed=fault_seed, faults=faults or [])
    simulator = Simulator(config).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def new_account(
    simulator: Simulator,
    *,
    stocks: int = 1,
    cashiers: int = 1,
    goods: list[dict[str, Any]] | None = None,
    generate_goods: int = 0,
    name: str = "",
) -> tuple[str, dict[str, list[int]]]:
    """An account with that many warehouses and cash desks (the first one main) and those
    goods; returns its token and the ids created."""
    token = simulator.create_account({"name": name} if name else {})["token"]
    created = simulator.seed(
        token,
        {
            "stocks": [{"Name": f"Склад {n}", "IsMain": n == 1} for n in range(1, stocks + 1)],
            "cashiers": [{"Name": f"Касса {n}", "IsMain": n == 1} for n in range(1, cashiers + 1)],
            "goods": goods or [],
            "generate_goods": generate_goods,
        },
    )
    return token, created


def control(url: str, path: str, body: Any = None, method: str | None = None) -> Any:
    """Call a simulator's ``/_control`` endpoint over HTTP (one running in another process)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the simulator's own http URL
        url.rstrip("/") + "/_control" + path,
        data=data,
        method=method or ("POST" if data is not None else "GET"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())
