"""A running simulator and a bare HTTP helper (the adapter is tested in lavka/integrations)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.simulators.mtskassa import Simulator
from services.simulators.mtskassa.testing import new_account, running_simulator


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


def call(
    simulator: Simulator,
    token: str | None,
    method: str,
    path: str,
    body: Any = None,
    timeout: float = 10,
) -> Reply:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(
        simulator.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with running_simulator(fault_seed=3) as simulator:
        yield simulator


@dataclass
class Shop:
    token: str
    unit: int


@pytest.fixture
def shop(sim: Simulator) -> Shop:
    token, units = new_account(sim, "Shop")
    return Shop(token, units[0])


def product(external_id: str, price: str = "100.00", **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": f"Good {external_id}", "price": price, **extra}
