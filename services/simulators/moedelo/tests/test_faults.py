# ruff: noqa: RUF001 - MoeDelo speaks Russian
"""Fault knobs: which calls they hit, what the client sees, and whether the call ran."""

from __future__ import annotations

import time

import pytest
import requests

from services.simulators.moedelo import Fault, Simulator
from services.simulators.moedelo.testing import control, new_account

from .conftest import Client

GOODS = "/stock/api/v1/good"
STOCKS = "/stock/api/v1/stock"


def test_a_rate_limit_answers_429_with_retry_after_and_does_not_run_the_call(
    sim: Simulator, account
) -> None:
    client, _ = account
    sim.add_faults({"kind": "rate_limit", "count": 1, "retry_after": 7, "method": "POST"})
    assert client.call("GET", GOODS).status_code == 200  # a GET does not match
    refused = client.call("POST", GOODS, {"Name": "Икра", "SalePrice": 1})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "7"
    assert refused.json()["Message"]
    assert len(sim.account_state(client.token)["goods"]) == 2
    assert client.call("POST", GOODS, {"Name": "Икра", "SalePrice": 1}).status_code == 201
    assert sim.control_state()["faults"][0]["fired"] == 1


def test_an_error_is_a_500_before_anything_ran_even_for_a_bad_key(sim: Simulator, account) -> None:
    client, _ = account
    sim.add_faults({"kind": "error", "count": 2})
    assert Client(sim.url, "nobody").call("GET", GOODS).status_code == 500
    assert client.call("POST", GOODS, {"Name": "Икра", "SalePrice": 1}).status_code == 500
    assert client.call("GET", GOODS).json()["TotalCount"] == 2


def test_a_truncated_answer_is_cut_json_of_a_call_that_ran(sim: Simulator, account) -> None:
    client, _ = account
    sim.add_faults({"kind": "truncate", "count": 1, "path": GOODS, "method": "POST"})
    answer = client.call("POST", GOODS, {"Name": "Икра", "SalePrice": 1})
    assert answer.status_code == 201
    with pytest.raises(ValueError):
        answer.json()
    assert answer.text.startswith('{"Id"')
    assert len(sim.account_state(client.token)["goods"]) == 3


def test_a_timeout_holds_the_answer_past_the_clients_patience_after_the_call_ran(
    sim: Simulator, account
) -> None:
    client, _ = account
    sim.add_faults({"kind": "timeout", "count": 1, "sleep_seconds": 4.0, "path": STOCKS})
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        requests.post(
            sim.url + STOCKS,
            json={"Name": "Склад 2"},
            headers={"md-api-key": client.token},
            timeout=0.3,
        )
    assert time.monotonic() - started < 3.0  # far below the hold, even on a busy machine
    assert len(sim.account_state(client.token)["stocks"]) == 2


def test_a_repeated_page_is_the_previous_page_byte_for_byte(sim: Simulator, account) -> None:
    client, _ = account
    sim.add_faults({"kind": "repeat_page", "count": 1})
    first = client.call("GET", GOODS, pageNo=1, pageSize=1)
    second = client.call("GET", GOODS, pageNo=2, pageSize=1)
    assert second.content == first.content
    assert (
        client.call("GET", GOODS, pageNo=2, pageSize=1).json()["ResourceList"][0]["Name"] == "Чай"
    )


def test_a_rate_of_faults_is_the_same_for_the_same_seed(sim: Simulator, account) -> None:
    client, _ = account

    def statuses() -> list[int]:
        sim.clear_faults(seed=42)
        sim.add_faults({"kind": "error", "rate": 0.3, "token": client.token})
        return [client.call("GET", GOODS).status_code for _ in range(30)]

    first = statuses()
    assert first == statuses()
    assert 3 <= first.count(500) <= 18


def test_faults_and_accounts_are_set_over_http_and_bad_settings_refused(sim: Simulator) -> None:
    account = control(sim.url, "/accounts", {"token": "tok-1", "name": "ООО Тест"})
    assert account["token"] == "tok-1"
    assert control(sim.url, "/accounts/tok-1/seed", {"stocks": [{"Name": "A"}]})["stocks"]
    control(sim.url, "/accounts/tok-1/revoke", {})
    assert Client(sim.url, "tok-1").call("GET", STOCKS).status_code == 401
    state = control(
        sim.url, "/faults", [{"kind": "error", "count": 1}, {"kind": "rate_limit", "rate": 0.5}]
    )
    assert [fault["kind"] for fault in state["faults"]] == ["error", "rate_limit"]
    assert control(sim.url, "/faults", {}, method="DELETE")["faults"] == []
    for bad in (
        {"kind": "explode", "count": 1},
        {"kind": "error"},
        {"kind": "error", "count": 1, "x": 1},
    ):
        answer = requests.post(sim.url + "/_control/faults", json=bad, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"]
    assert (
        requests.post(
            sim.url + "/_control/accounts", json={"token": "tok-1"}, timeout=5
        ).status_code
        == 400
    )


def test_start_up_faults_and_the_demo_account_come_back_after_a_reset() -> None:
    from services.simulators.moedelo.testing import running_simulator

    with running_simulator(seed_demo=True, faults=[Fault(kind="error", count=1)]) as sim:
        token = sim.control_state()["accounts"][0]["token"]
        demo = Client(sim.url, token)
        assert demo.call("GET", GOODS).status_code == 500
        assert demo.call("GET", GOODS).json()["TotalCount"] == 5
        new_account(sim)
        sim.reset()
        assert len(sim.control_state()["accounts"]) == 1
        assert demo.call("GET", GOODS).status_code == 500
