"""The sync's pure decisions: which goods to send or archive (content hash), and the
retail report a shift becomes; the last tests run them against both simulators."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lavka.integrations.adapters.base import (
    Good,
    Receipt,
    ReceiptLine,
    Shift,
    ShiftSummary,
    ZReport,
)
from lavka.integrations.sync.goods import (
    LinkState,
    batches,
    content_hash,
    plan_goods,
    register_product,
)
from lavka.integrations.sync.sales import (
    MappingIds,
    ShiftProblem,
    UnknownProducts,
    retail_report_for,
)
from lavka.integrations.tests.sync_support import money, running_systems, sale

COFFEE = Good("1", "Кофе", Decimal("450.00"), vat_rate="20", barcode="4600000000017")
IDS = MappingIds(cash_desk_id="5", warehouse_id="7")


def linked(good: Good, archived: bool = False) -> LinkState:
    return LinkState(good.external_id, content_hash(register_product(good)), archived)


def test_the_content_hash_is_stable_and_ignores_how_a_price_is_written() -> None:
    same = replace(COFFEE, price=Decimal("450"))
    assert content_hash(register_product(COFFEE)) == content_hash(register_product(same))
    assert len(content_hash(register_product(COFFEE))) == 40


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Кофе зерновой"},
        {"price": Decimal("450.01")},
        {"unit": "kg"},
        {"vat_rate": "10"},
        {"barcode": "4600000000024"},
    ],
)
def test_the_content_hash_changes_with_what_the_register_shows(change: dict) -> None:
    changed = replace(COFFEE, **change)
    assert content_hash(register_product(changed)) != content_hash(register_product(COFFEE))


def test_only_new_and_changed_goods_are_sent() -> None:
    tea = Good("2", "Чай", Decimal("210.50"))
    pie = Good("3", "Пирожок", Decimal("80"))
    plan = plan_goods(
        [COFFEE, replace(tea, price=Decimal("220")), pie],
        [linked(COFFEE), linked(tea)],
    )
    assert [p.product.external_id for p in plan.to_send] == ["2", "3"]
    assert plan.to_send[0].product.price == Decimal("220")
    assert plan.to_send[0].content_hash == content_hash(plan.to_send[0].product)
    assert plan.unchanged == 1
    assert plan.to_archive == []


def test_goods_archived_or_gone_in_accounting_are_archived_once() -> None:
    tea = Good("2", "Чай", Decimal("210.50"))
    pie = Good("3", "Пирожок", Decimal("80"))
    old = Good("4", "Старый", Decimal("1"))
    plan = plan_goods(
        [COFFEE, replace(tea, archived=True), replace(old, archived=True)],
        [linked(COFFEE), linked(tea), linked(pie), linked(old, archived=True)],
    )
    assert sorted(plan.to_archive) == ["2", "3"]
    assert plan.to_send == []


def test_an_archived_product_back_on_sale_is_sent_again_and_a_repeat_counts_once() -> None:
    plan = plan_goods([COFFEE, COFFEE], [linked(COFFEE, archived=True)])
    assert [p.product.external_id for p in plan.to_send] == ["1"]
    assert plan.unchanged == 0


def test_batches_keep_the_registers_limit() -> None:
    assert [len(b) for b in batches(list(range(250)), 100)] == [100, 100, 50]


def shift_of(*receipts: Receipt, revenue: str | None = None) -> Shift:
    net = sum(((-r.total if r.is_refund else r.total) for r in receipts), Decimal(0))
    closed = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)
    return Shift(
        ShiftSummary("900", "1", 12, closed),
        ZReport(
            revenue=Decimal(revenue) if revenue is not None else net,
            refunds=Decimal(0),
            cash=net,
            card=Decimal(0),
            receipts_count=len(receipts),
        ),
        list(receipts),
    )


def receipt(*lines: tuple[str, str, str], refund: bool = False) -> Receipt:
    """Lines as (product id or "" for a free sale, quantity, total)."""
    made = [
        ReceiptLine(
            pid,
            "Свободная продажа" if not pid else f"good {pid}",
            Decimal(q),
            Decimal(t) / Decimal(q),
            Decimal(t),
        )
        for pid, q, t in lines
    ]
    return Receipt("r", refund, sum((line.total for line in made), Decimal(0)), made)


def test_a_report_has_net_takings_goods_per_line_and_free_sales_apart() -> None:
    shift = shift_of(
        receipt(("1", "2", "900"), ("2", "1", "210.50")),
        receipt(("1", "1", "450"), ("", "1", "100")),
        receipt(("1", "1", "450"), refund=True),
        receipt(("", "1", "30"), refund=True),
    )
    report = retail_report_for(shift, IDS, "L1-900")
    assert report.number == "L1-900"
    assert (report.cash_desk_id, report.warehouse_id) == ("5", "7")
    assert report.revenue == Decimal("1180.50")
    assert report.free_sale_total == Decimal("70")
    assert [(line.good_external_id, line.quantity, line.total) for line in report.lines] == [
        ("1", Decimal("2"), Decimal("900")),
        ("2", Decimal("1"), Decimal("210.50")),
    ]
    assert report.date == shift.summary.closed_at


def test_a_good_refunded_more_than_sold_has_no_line_but_its_refund_is_in_the_takings() -> None:
    shift = shift_of(receipt(("1", "1", "450")), receipt(("2", "1", "210"), refund=True))
    report = retail_report_for(shift, IDS, "n")
    assert [line.good_external_id for line in report.lines] == ["1"]
    assert report.revenue == Decimal("240")


def test_a_z_report_that_disagrees_with_its_receipts_is_not_booked() -> None:
    with pytest.raises(ShiftProblem, match="differs from its receipts"):
        retail_report_for(shift_of(receipt(("1", "1", "450")), revenue="500"), IDS, "n")


def test_a_product_unknown_to_accounting_is_named_in_the_error() -> None:
    shift = shift_of(receipt(("1", "1", "450"), ("99", "1", "5")))
    with pytest.raises(UnknownProducts, match=r"good 99 \(id 99\)") as raised:
        retail_report_for(shift, IDS, "n", known_goods={"1"})
    assert raised.value.product_ids == ["99"]
    assert retail_report_for(shift, IDS, "n", known_goods={"1", "99"}).lines


def test_a_shift_rung_up_on_the_register_arrives_in_accounting_with_its_totals() -> None:
    with running_systems() as systems:
        accounting, register = systems.accounting(), systems.register()
        plan = plan_goods(accounting.goods(), [])
        for batch in batches(plan.to_send, register.batch_size):
            register.upsert_products(systems.point, [p.product for p in batch])
        assert set(systems.products()) == set(systems.good_ids)
        coffee, tea, pie = systems.good_ids
        z = systems.close_shift(
            [
                sale(coffee, coffee, tea, free="100"),
                sale(pie, payment="card"),
                sale(coffee, refund=True),
            ]
        )
        (summary,) = register.closed_shifts(
            systems.point, closed_since=datetime(2000, 1, 1, tzinfo=UTC)
        )
        shift = register.shift(systems.point, summary.external_id)
        ids = MappingIds(cash_desk_id=systems.cashier_id, warehouse_id=systems.stock_id)
        report = retail_report_for(
            shift, ids, f"L1-{summary.external_id}", known_goods=set(systems.good_ids)
        )
        document_id = accounting.create_retail_report(report)

        assert accounting.find_retail_report(report.number) == document_id
        (booked,) = systems.reports()
        (takings,) = systems.revenues()
        assert (
            money(takings["Sum"])
            == money(z["revenue"])
            == Decimal("450") + Decimal("210.50") + 100 + 80
        )
        items = {
            str(item["StockProductId"]): (money(item["Count"]), money(item["Sum"]))
            for item in booked["Items"]
        }
        assert items == {
            coffee: (Decimal(1), Decimal(450)),
            tea: (Decimal(1), Decimal("210.5")),
            pie: (Decimal(1), Decimal(80)),
        }
        assert report.free_sale_total == Decimal(100)
