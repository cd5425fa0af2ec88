# ruff: noqa: RUF001 - MoeDelo speaks Russian
"""The MoeDelo adapter against the MoeDelo simulator (services/simulators/moedelo): every
method, paging, each fault as the sync code will see it, and sending a report once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from lavka.core.http import BadAnswer, RejectedCredentials, TransientHttpError
from lavka.integrations.adapters import ACCOUNTING
from lavka.integrations.adapters.base import RetailReport, RetailReportLine
from lavka.integrations.adapters.moedelo import MoeDeloAdapter
from services.simulators.moedelo import Simulator
from services.simulators.moedelo.testing import new_account, running_simulator

MOSCOW = ZoneInfo("Europe/Moscow")
GOODS = [
    {"Name": "Кофе", "SalePrice": "450.00", "Nds": "20", "NdsPositionType": 3},
    {
        "Name": "Чай",
        "SalePrice": 210.5,
        "Nds": "110",
        "UnitOfMeasurement": "кг",
        "NdsPositionType": 2,
    },
    {"Name": "Открытка", "SalePrice": 150, "Nds": "20", "NdsPositionType": 1, "IsArchived": True},
    {"Name": "Клей", "SalePrice": 10, "Type": 1},
]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with running_simulator() as simulator:
        yield simulator


@pytest.fixture
def setup(sim: Simulator) -> tuple[MoeDeloAdapter, dict[str, list[int]]]:
    token, ids = new_account(sim, cashiers=2, goods=GOODS, name="ООО «Ромашка»")
    return MoeDeloAdapter(token=token, base_url=sim.url), ids


def report(ids: dict[str, list[int]], number: str = "LAVKA-1-7") -> RetailReport:
    return RetailReport(
        number=number,
        date=datetime(2026, 12, 1, 23, 30, tzinfo=MOSCOW),
        warehouse_id=str(ids["stocks"][0]),
        cash_desk_id=str(ids["cashiers"][1]),
        revenue=Decimal("760.50"),
        lines=(
            RetailReportLine(str(ids["goods"][0]), Decimal("1"), Decimal("450.00")),
            RetailReportLine(str(ids["goods"][1]), Decimal("0.5"), Decimal("105.25")),
        ),
        free_sale_total=Decimal("205.25"),
    )


def test_moedelo_is_registered_as_an_accounting_system() -> None:
    assert ACCOUNTING["moedelo"] is MoeDeloAdapter


def test_the_account_and_reference_data_are_read_in_lavkas_terms(setup) -> None:
    adapter, ids = setup
    account = adapter.account()
    assert account.name == "ООО «Ромашка»" and account.external_id.isdigit()
    desks = adapter.cash_desks()
    assert [(d.external_id, d.name, d.is_main) for d in desks] == [
        (str(ids["cashiers"][0]), "Касса 1", True),
        (str(ids["cashiers"][1]), "Касса 2", False),
    ]
    assert [w.name for w in adapter.warehouses()] == ["Склад 1"]
    assert adapter.calls == 3


def test_goods_are_read_with_price_unit_and_vat_and_materials_left_out(setup) -> None:
    adapter, ids = setup
    goods = list(adapter.goods())
    assert [(g.name, g.price, g.unit, g.vat_rate, g.archived) for g in goods] == [
        ("Кофе", Decimal("450"), "pcs", "20", False),
        ("Чай", Decimal("210.5"), "kg", "10", False),
        ("Открытка", Decimal("150"), "pcs", "none", True),
    ]
    assert goods[0].external_id == str(ids["goods"][0])


def test_every_good_comes_once_across_pages_even_when_the_server_repeats_a_page(
    sim: Simulator,
) -> None:
    token, _ = new_account(sim, generate_goods=95)
    adapter = MoeDeloAdapter(token=token, base_url=sim.url)
    adapter.page_size = 10
    sim.add_faults({"kind": "repeat_page", "count": 3, "path": "/stock/api/v1/good"})
    names = [good.name for good in adapter.goods()]
    assert len(names) == len(set(names)) == 95
    assert adapter.calls == 10 + 3  # ten pages, and each repeated one asked for again


def test_a_server_stuck_on_an_old_page_is_a_transient_error_not_a_short_list(
    sim: Simulator,
) -> None:
    token, _ = new_account(sim, generate_goods=30)
    adapter = MoeDeloAdapter(token=token, base_url=sim.url)
    adapter.page_size = 10
    sim.add_faults({"kind": "repeat_page", "count": 10})
    with pytest.raises(TransientHttpError, match="old page"):
        list(adapter.goods())


def test_a_listing_that_shrinks_while_read_is_a_transient_error(sim: Simulator) -> None:
    token, ids = new_account(sim, generate_goods=30)
    adapter = MoeDeloAdapter(token=token, base_url=sim.url)
    adapter.page_size = 10
    goods = adapter.goods()
    next(goods)  # the first page is read
    with sim.store.lock:
        for good_id in ids["goods"][:5]:
            del sim.store.accounts[token].goods[good_id]
    with pytest.raises(TransientHttpError, match="changed while it was read"):
        list(goods)


def test_a_report_is_sent_as_takings_at_the_cash_desk_and_a_report_linked_to_them(
    sim: Simulator, setup
) -> None:
    adapter, ids = setup
    assert adapter.find_retail_report("LAVKA-1-7") is None
    document_id = adapter.create_retail_report(report(ids))
    assert adapter.find_retail_report("LAVKA-1-7") == document_id
    assert adapter.find_retail_report("LAVKA-1-8") is None

    state = sim.account_state(adapter.token)
    [revenue] = state["retail_revenues"]
    assert revenue["CashierId"] == ids["cashiers"][1]
    assert revenue["Sum"] == Decimal("760.5") and revenue["DocDate"] == "2026-12-01T00:00:00"
    [sent] = state["retail_reports"]
    assert str(sent["Id"]) == document_id
    assert sent["StockId"] == ids["stocks"][0] and sent["DocDate"] == "2026-12-01T00:00:00"
    assert [(i["StockProductId"], i["Count"], i["Sum"]) for i in sent["Items"]] == [
        (ids["goods"][0], 1, 450),
        (ids["goods"][1], Decimal("0.5"), Decimal("105.25")),
    ]
    assert sent["ReasonRevenues"] == [
        {"CashierId": ids["cashiers"][1], "RetailRevenueId": revenue["Id"]}
    ]


def test_sending_a_shift_costs_four_calls_and_looking_one_up_one(setup) -> None:
    adapter, ids = setup
    before = adapter.calls
    assert adapter.find_retail_report("LAVKA-1-7") is None
    assert adapter.calls - before == 1
    adapter.create_retail_report(report(ids))
    assert adapter.calls - before == 4  # look up the report, look up takings, create both


def test_a_first_attempt_skips_the_takings_look_up_and_costs_three_calls(
    sim: Simulator, setup
) -> None:
    adapter, ids = setup
    before = adapter.calls
    assert adapter.find_retail_report("LAVKA-1-7") is None
    document_id = adapter.create_retail_report(report(ids), fresh=True)
    assert adapter.calls - before == 3  # look up the report, create the takings and it
    assert adapter.find_retail_report("LAVKA-1-7") == document_id
    assert len(sim.account_state(adapter.token)["retail_revenues"]) == 1


def test_a_report_retried_after_a_lost_answer_is_in_moedelo_once(sim: Simulator, setup) -> None:
    adapter, ids = setup
    adapter.http.timeout = 0.5
    sim.add_faults(
        [
            {
                "kind": "timeout",
                "count": 1,
                "sleep_seconds": 1.5,
                "method": "POST",
                "path": "/accounting/api/v1/cashier",
            },
            {
                "kind": "truncate",
                "count": 1,
                "method": "POST",
                "path": "/accounting/api/v1/sales/retailreport",
            },
        ]
    )

    def send() -> str:
        return adapter.find_retail_report("LAVKA-1-7") or adapter.create_retail_report(report(ids))

    with pytest.raises(TransientHttpError, match="timed out"):
        send()  # the takings were booked; their answer was lost
    with pytest.raises(TransientHttpError, match="not JSON"):
        send()  # the report was created; its answer came cut short
    document_id = send()
    assert send() == document_id
    state = sim.account_state(adapter.token)
    assert len(state["retail_revenues"]) == 1
    assert [str(r["Id"]) for r in state["retail_reports"]] == [document_id]


def test_a_rate_limit_is_transient_with_the_servers_retry_after(sim: Simulator, setup) -> None:
    adapter, _ = setup
    sim.add_faults({"kind": "rate_limit", "count": 1, "retry_after": 3})
    with pytest.raises(TransientHttpError) as caught:
        adapter.warehouses()
    assert caught.value.status == 429 and caught.value.retry_after == 3
    assert adapter.warehouses()


def test_a_server_error_and_a_cut_answer_are_transient(sim: Simulator, setup) -> None:
    adapter, _ = setup
    sim.add_faults([{"kind": "error", "count": 1}, {"kind": "truncate", "count": 1}])
    with pytest.raises(TransientHttpError) as caught:
        adapter.cash_desks()
    assert caught.value.status == 500
    with pytest.raises(TransientHttpError, match="not JSON"):
        list(adapter.goods())
    assert len(adapter.cash_desks()) == 2


def test_a_revoked_or_unknown_token_is_rejected_credentials(sim: Simulator, setup) -> None:
    adapter, _ = setup
    sim.set_revoked(adapter.token, True)
    with pytest.raises(RejectedCredentials):
        adapter.account()
    with pytest.raises(RejectedCredentials):
        MoeDeloAdapter(token="not-a-moedelo-key", base_url=sim.url).account()


def test_a_refused_report_is_a_bad_answer_with_moedelos_reasons(setup) -> None:
    adapter, ids = setup
    bad = report(ids)
    bad = RetailReport(
        number=bad.number,
        date=bad.date,
        warehouse_id="999",
        cash_desk_id=bad.cash_desk_id,
        revenue=Decimal("0"),
        lines=(RetailReportLine("998", Decimal("1"), Decimal("1")),),
    )
    with pytest.raises(BadAnswer) as caught:
        adapter.create_retail_report(bad)
    message = str(caught.value)
    assert caught.value.status == 400
    assert "StockId: Склад с Id 999 не найден" in message
    assert "Items[0].StockProductId: Товар с Id 998 не найден" in message
    with pytest.raises(BadAnswer, match="Касса с Id 1 не найден"):
        adapter.create_retail_report(RetailReport("N", bad.date, "1", "1", Decimal("1")))
    calls = adapter.calls
    with pytest.raises(BadAnswer, match="not a MoeDelo id"):
        adapter.create_retail_report(RetailReport("N", bad.date, "1", "x", Decimal("1")))
    assert adapter.calls == calls  # refused before anything was sent


def test_an_answer_of_the_wrong_shape_is_a_bad_answer(sim: Simulator) -> None:
    token, _ = new_account(sim)
    with sim.store.lock:
        sim.store.accounts[token].goods[1] = {"Id": 1, "Name": "", "Nds": "20", "SalePrice": 1}
    with pytest.raises(BadAnswer, match="has no name"):
        list(MoeDeloAdapter(token=token, base_url=sim.url).goods())


def test_two_keys_see_two_firms_each_with_only_its_own_goods(sim: Simulator, setup) -> None:
    adapter, _ = setup
    token, _ = new_account(sim, goods=[{"Name": "Свеча", "SalePrice": 300}])
    other = MoeDeloAdapter(token=token, base_url=sim.url)
    assert [good.name for good in other.goods()] == ["Свеча"]
    assert other.account().external_id != adapter.account().external_id
    assert len(list(adapter.goods())) == 3
