"""Both stand-ins running for a test, and the site pointed at them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.simulators.moedelo import Simulator as MoeDeloSimulator
from services.simulators.moedelo import testing as moedelo_testing
from services.simulators.mtskassa import testing as mtskassa_testing
from services.simulators.mtskassa.server import Simulator as MtsKassaSimulator


@pytest.fixture
def moedelo(settings: Any) -> Iterator[MoeDeloSimulator]:
    with moedelo_testing.running_simulator() as simulator:
        settings.LAVKA_MOEDELO_URL = simulator.url
        yield simulator


@pytest.fixture
def mtskassa(settings: Any) -> Iterator[MtsKassaSimulator]:
    with mtskassa_testing.running_simulator() as simulator:
        settings.LAVKA_MTSKASSA_URL = simulator.url
        yield simulator


@pytest.fixture
def moedelo_token(moedelo: MoeDeloSimulator) -> str:
    """A firm with two warehouses and two cash desks (the first of each main)."""
    token, _ = moedelo_testing.new_account(moedelo, stocks=2, cashiers=2, name="Firm One")
    return token


@pytest.fixture
def mtskassa_token(mtskassa: MtsKassaSimulator) -> str:
    """An account with two trade points."""
    token, _ = mtskassa_testing.new_account(mtskassa, name="Shop One", trade_points=2)
    return token
