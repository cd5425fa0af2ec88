"""Fault rules: 429 with Retry-After, 500, timeouts, truncated JSON, repeated pages."""

from __future__ import annotations

import json
import time

import pytest

from services.simulators.mtskassa import Simulator
from services.simulators.mtskassa.testing import close_shift, control

from .conftest import Shop, call


def test_rate_limit_answers_429_with_retry_after_for_the_next_n_calls(
    sim: Simulator, shop: Shop
) -> None:
    control(sim, "POST", "/faults", {"kind": "rate_limit", "count": 2, "retry_after": 7})

    replies = [call(sim, shop.token, "GET", "/api/v1/taxes") for _ in range(3)]

    assert [r.status for r in replies] == [429, 429, 200]
    assert replies[0].headers["Retry-After"] == "7"
    assert replies[0].json["error"]["code"] == "rate_limited"
    assert control(sim, "GET", "")["faults"] == []


def test_server_error_only_on_matching_paths(sim: Simulator, shop: Shop) -> None:
    control(sim, "POST", "/faults", {"kind": "server_error", "count": 1, "path": "/shifts"})

    assert call(sim, shop.token, "GET", "/api/v1/trade-units").status == 200
    assert call(sim, shop.token, "GET", f"/api/v1/trade-units/{shop.unit}/shifts").status == 500


def test_truncated_json_is_cut_in_the_middle(sim: Simulator, shop: Shop) -> None:
    control(sim, "POST", "/faults", {"kind": "truncated", "count": 1})

    reply = call(sim, shop.token, "GET", "/api/v1/taxes")

    assert reply.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.raw)


def test_a_timeout_holds_the_call_past_the_client_timeout(sim: Simulator, shop: Shop) -> None:
    control(sim, "POST", "/faults", {"kind": "timeout", "count": 1, "delay_seconds": 4})
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        call(sim, shop.token, "GET", "/api/v1/taxes", timeout=0.3)

    assert time.monotonic() - started < 3.0  # far below the hold, even on a busy machine
    assert call(sim, shop.token, "GET", "/api/v1/taxes").status == 200


def test_repeat_page_answers_a_later_page_with_the_one_before(sim: Simulator, shop: Shop) -> None:
    for _ in range(3):
        close_shift(sim, shop.unit, [{"items": [{"free": True, "price": "1"}]}])
    control(sim, "POST", "/faults", {"kind": "repeat_page", "count": 1})
    base = f"/api/v1/trade-units/{shop.unit}/shifts?page_size=1"

    pages = [call(sim, shop.token, "GET", f"{base}&page={p}").json for p in (1, 2, 2, 3)]

    ids = [page["data"][0]["id"] for page in pages]
    assert ids[0] == ids[1] != ids[2] != ids[3]
    assert pages[1]["meta"]["page"] == 2


def test_a_fraction_of_calls_fails_reproducibly_with_mixed_faults(
    sim: Simulator, shop: Shop
) -> None:
    # a held call waits well past the client's timeout, and an unheld one answers well
    # within it, even on a busy machine
    control(sim, "POST", "/faults", {"kind": "mixed", "fraction": 0.5, "delay_seconds": 4})

    statuses = []
    for _ in range(30):
        try:
            statuses.append(call(sim, shop.token, "GET", "/api/v1/taxes", timeout=1.5).status)
        except TimeoutError:
            statuses.append(0)

    assert 5 <= statuses.count(200) <= 25
    assert {429, 500, 0} <= set(statuses)


def test_bad_fault_rules_are_refused(sim: Simulator) -> None:
    for rule in (
        {"kind": "flood", "count": 1},
        {"kind": "timeout"},
        {"kind": "timeout", "fraction": 2},
    ):
        with pytest.raises(RuntimeError, match="400"):
            control(sim, "POST", "/faults", rule)
