"""A running simulator and a small HTTP helper speaking MoeDelo's header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from services.simulators.moedelo import Simulator
from services.simulators.moedelo.testing import new_account, running_simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with running_simulator() as simulator:
        yield simulator


class Client:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        return requests.request(
            method,
            self.url + path,
            json=body,
            params=params,
            headers={"md-api-key": self.token},
            timeout=5,
        )


@pytest.fixture
def account(sim: Simulator) -> tuple[Client, dict[str, list[int]]]:
    token, ids = new_account(
        sim,
        goods=[
            {"Name": "Кофе", "SalePrice": 450, "Nds": "20"},
            {"Name": "Чай", "SalePrice": "210.50", "Nds": "10"},
        ],
    )
    return Client(sim.url, token), ids
