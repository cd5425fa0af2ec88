"""The API as a client sees it: tokens, accounts kept apart, products, shifts."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from services.simulators.mtskassa import Simulator
from services.simulators.mtskassa.testing import close_shift, control, new_account

from .conftest import Shop, call, product


def test_unknown_missing_and_revoked_tokens_are_401_with_a_json_error(
    sim: Simulator, shop: Shop
) -> None:
    assert call(sim, shop.token, "GET", "/api/v1/taxes").status == 200
    assert call(sim, None, "GET", "/api/v1/taxes").json["error"]["code"] == "unauthorized"
    assert call(sim, "ab" * 20, "GET", "/api/v1/taxes").status == 401

    control(sim, "POST", "/revoke", {"token": shop.token})

    reply = call(sim, shop.token, "GET", "/api/v1/company")
    assert (reply.status, reply.json["error"]["code"]) == (401, "token_revoked")


def test_accounts_see_only_their_own_trade_units(sim: Simulator, shop: Shop) -> None:
    other_token, other_units = new_account(sim, "Other", trade_points=2)

    mine = call(sim, shop.token, "GET", "/api/v1/trade-units").json["data"]
    theirs = call(sim, other_token, "GET", "/api/v1/trade-units").json["data"]

    assert [u["id"] for u in mine] == [shop.unit]
    assert [u["id"] for u in theirs] == other_units
    assert theirs[0]["is_main"] and not theirs[1]["is_main"]
    foreign = f"/api/v1/trade-units/{other_units[0]}/shifts"
    assert call(sim, shop.token, "GET", foreign).status == 404
    company = call(sim, shop.token, "GET", "/api/v1/company").json["data"]
    assert company["name"] == "Shop"


def test_bulk_upsert_creates_updates_and_is_idempotent(sim: Simulator, shop: Shop) -> None:
    path = f"/api/v1/trade-units/{shop.unit}/products/bulk"
    batch = [product("g1"), product("g2", "5.50", tax="vat20", barcodes=["4600000000017"])]

    first = call(sim, shop.token, "POST", path, {"products": batch}).json["data"]
    again = call(sim, shop.token, "POST", path, {"products": batch}).json["data"]
    changed = call(sim, shop.token, "POST", path, {"products": [product("g1", "120")]}).json

    assert first == {"created": 2, "updated": 0, "unchanged": 0}
    assert again == {"created": 0, "updated": 0, "unchanged": 2}
    assert changed["data"] == {"created": 0, "updated": 1, "unchanged": 0}
    stored = {
        p["external_id"]: p
        for p in control(sim, "GET", f"/trade-units/{shop.unit}/products")["data"]
    }
    assert stored["g1"]["price"] == "120.00" and stored["g2"]["tax"] == "vat20"


def test_more_than_100_products_or_a_bad_one_is_a_400_and_stores_nothing(
    sim: Simulator, shop: Shop
) -> None:
    path = f"/api/v1/trade-units/{shop.unit}/products/bulk"

    too_many = call(
        sim, shop.token, "POST", path, {"products": [product(f"g{n}") for n in range(101)]}
    )
    bad_tax = call(
        sim, shop.token, "POST", path, {"products": [product("a"), product("b", tax="vat18")]}
    )
    bad_json = call(sim, shop.token, "POST", path, "not an object")

    assert (too_many.status, too_many.json["error"]["code"]) == (400, "too_many_products")
    assert bad_tax.status == 400
    assert bad_tax.json["error"]["details"] == [
        {"index": 1, "field": "tax", "message": bad_tax.json["error"]["details"][0]["message"]}
    ]
    assert bad_json.status == 400
    assert control(sim, "GET", f"/trade-units/{shop.unit}/products")["data"] == []


def test_archive_takes_products_off_sale_and_ignores_unknown_ids(
    sim: Simulator, shop: Shop
) -> None:
    base = f"/api/v1/trade-units/{shop.unit}/products"
    call(sim, shop.token, "POST", base + "/bulk", {"products": [product("g1"), product("g2")]})

    first = call(sim, shop.token, "POST", base + "/archive", {"external_ids": ["g1", "nope"]}).json
    again = call(sim, shop.token, "POST", base + "/archive", {"external_ids": ["g1"]}).json
    refused = call(sim, shop.token, "POST", base + "/archive", {"external_ids": ["x"] * 101})

    assert first["data"] == {"archived": 1, "unknown": ["nope"]}
    assert again["data"] == {"archived": 0, "unknown": []}
    assert refused.status == 400
    listed = call(sim, shop.token, "GET", base).json["data"]
    assert {p["external_id"]: p["archived"] for p in listed} == {"g1": True, "g2": False}


def test_a_closed_shift_has_the_z_report_and_documents_in_the_nested_shape(
    sim: Simulator, shop: Shop
) -> None:
    call(
        sim,
        shop.token,
        "POST",
        f"/api/v1/trade-units/{shop.unit}/products/bulk",
        {"products": [product("g1", "10.00"), product("g2", "2.50", measure="kg")]},
    )
    z = close_shift(
        sim,
        shop.unit,
        [
            {
                "items": [{"external_id": "g1", "quantity": 3}, {"free": True, "price": "7"}],
                "payment": "card",
            },
            {"items": [{"external_id": "g2", "quantity": "0.4"}]},
            {"type": "refund", "items": [{"external_id": "g1"}], "payment": "cash"},
        ],
    )

    listed = call(sim, shop.token, "GET", f"/api/v1/trade-units/{shop.unit}/shifts").json
    shift_id = listed["data"][0]["id"]
    data = call(sim, shop.token, "GET", f"/api/v1/trade-units/{shop.unit}/shifts/{shift_id}").json[
        "data"
    ]

    assert listed["meta"] == {"page": 1, "page_size": 50, "total": 1, "pages": 1}
    assert z == data[0]["z_report"]
    assert z["shop_id"] == shop.unit
    assert (z["sales"], z["refunds"], z["revenue"]) == ("38.00", "10.00", "28.00")
    assert (z["card"], z["cash"], z["documents_count"]) == ("37.00", "-9.00", 3)
    sale, _, refund = data[0]["documents"]
    free = sale["items"][1]
    assert (free["product"], free["name"], free["total"]) == (None, "Свободная продажа", "7.00")
    assert sale["items"][0]["product"]["external_id"] == "g1"
    assert refund["type"] == "refund" and refund["total"] == "10.00"
    assert Decimal(z["cash"]) + Decimal(z["card"]) == Decimal(z["revenue"])


def test_open_shifts_are_not_listed_and_closed_from_filters(sim: Simulator, shop: Shop) -> None:
    base = f"/api/v1/trade-units/{shop.unit}/shifts"
    first = close_shift(sim, shop.unit, [{"items": [{"free": True, "price": "1"}]}])
    control(sim, "POST", f"/trade-units/{shop.unit}/shifts/open", {})

    everything = call(sim, shop.token, "GET", base).json["data"]
    later = call(sim, shop.token, "GET", base + "?closed_from=2999-01-01T00:00:00%2B00:00").json
    naive = call(sim, shop.token, "GET", base + "?closed_from=2026-01-01T00:00:00")

    assert [s["id"] for s in everything] == [first["shift_id"]]
    assert later["data"] == [] and later["meta"]["total"] == 0
    assert naive.status == 400
    assert call(sim, shop.token, "GET", base + "?page=0").status == 400
    assert call(sim, shop.token, "GET", base + "?page_size=101").status == 400


def test_a_late_close_lists_the_shift_under_its_past_closing_time(
    sim: Simulator, shop: Shop
) -> None:
    base = f"/api/v1/trade-units/{shop.unit}/shifts"
    on_time = close_shift(sim, shop.unit, [{"items": [{"free": True, "price": "1"}]}])
    late = close_shift(
        sim, shop.unit, [{"items": [{"free": True, "price": "2"}]}], late_seconds=3600
    )

    listed = call(sim, shop.token, "GET", base).json["data"]

    assert [s["id"] for s in listed] == [late["shift_id"], on_time["shift_id"]]
    assert listed[0]["closed_at"] < listed[1]["closed_at"]


def test_paging_walks_every_generated_shift_oldest_first(sim: Simulator, shop: Shop) -> None:
    call(
        sim,
        shop.token,
        "POST",
        f"/api/v1/trade-units/{shop.unit}/products/bulk",
        {"products": [product(f"g{n}") for n in range(5)]},
    )
    made = control(sim, "POST", f"/trade-units/{shop.unit}/generate", {"shifts": 25, "receipts": 4})

    seen = []
    for page in (1, 2, 3):
        reply = call(
            sim,
            shop.token,
            "GET",
            f"/api/v1/trade-units/{shop.unit}/shifts?page={page}&page_size=10",
        ).json
        seen += [s["id"] for s in reply["data"]]

    assert seen == made["shift_ids"] and reply["meta"]["pages"] == 3
    revenue = sum(
        Decimal(
            call(sim, shop.token, "GET", f"/api/v1/trade-units/{shop.unit}/shifts/{i}").json[
                "data"
            ][0]["z_report"]["revenue"]
        )
        for i in seen
    )
    assert revenue == Decimal(made["revenue"])


def test_the_register_refuses_what_a_real_one_would(sim: Simulator, shop: Shop) -> None:
    receipts = f"/trade-units/{shop.unit}/receipts"
    try:
        control(sim, "POST", receipts, {"items": [{"free": True, "price": "1"}]})
        raise AssertionError("a receipt without an open shift was accepted")
    except RuntimeError as error:
        assert "409" in str(error)
    control(sim, "POST", f"/trade-units/{shop.unit}/shifts/open", {})
    for bad in (
        {"items": [{"external_id": "unknown"}]},
        {"items": []},
        {"type": "gift", "items": [{"free": True, "price": "1"}]},
    ):
        try:
            control(sim, "POST", receipts, bad)
            raise AssertionError(f"accepted {bad}")
        except RuntimeError as error:
            assert "400" in str(error)


def test_the_demo_register_sells_what_the_trade_point_was_sent(sim: Simulator) -> None:
    from services.simulators.mtskassa.demo import DEMO_TOKEN, seed_demo, start_demo_register

    unit = seed_demo(sim)
    call(
        sim,
        DEMO_TOKEN,
        "POST",
        f"/api/v1/trade-units/{unit.id}/products/bulk",
        {"products": [product("tea", "250.00"), product("honey", "600.00")]},
    )
    start_demo_register(sim, unit, 0.05)
    deadline = time.monotonic() + 10
    while len(unit.shifts_by_close) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    details = [
        sim.store.shift_detail(unit, str(shift_id)) for _, shift_id in unit.shifts_by_close[:3]
    ]
    sold = {
        item["product"]["external_id"]
        for detail in details
        for document in json.loads(detail)["data"][0]["documents"]
        for item in document["items"]
        if item["product"]
    }
    assert sold == {"tea", "honey"}


def test_revoking_one_token_leaves_the_accounts_other_token_working(sim: Simulator) -> None:
    account = control(sim, "POST", "/accounts", {"name": "Two tokens"})
    second = control(sim, "POST", f"/accounts/{account['id']}/tokens")["token"]

    control(sim, "POST", "/revoke", {"token": account["token"]})

    assert call(sim, account["token"], "GET", "/api/v1/company").status == 401
    assert call(sim, second, "GET", "/api/v1/company").json["data"]["id"] == account["id"]
    with pytest.raises(RuntimeError, match="409"):
        control(sim, "POST", "/accounts", {"name": "Reuse", "token": account["token"]})
