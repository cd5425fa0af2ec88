"""The MTS Kassa adapter against the simulator on loopback: every method, paging that
survives a repeated page, late shifts, and each fault sorted into the right error."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from lavka.core.http import BadAnswer, RejectedCredentials, TransientHttpError
from lavka.integrations.adapters import POINT_OF_SALE
from lavka.integrations.adapters.base import RegisterProduct
from lavka.integrations.adapters.mtskassa import MtsKassaAdapter
from services.simulators.mtskassa import Simulator
from services.simulators.mtskassa.testing import (
    close_shift,
    control,
    new_account,
    running_simulator,
)


@dataclass
class Register:
    sim: Simulator
    token: str
    point: str
    adapter: MtsKassaAdapter

    def products(self) -> dict[str, dict[str, object]]:
        rows = control(self.sim, "GET", f"/trade-units/{self.point}/products")["data"]
        return {row["external_id"]: row for row in rows}

    def fault(self, **rule: object) -> None:
        control(self.sim, "POST", "/faults", rule)


@pytest.fixture
def register() -> Iterator[Register]:
    with running_simulator(fault_seed=5) as sim:
        token, points = new_account(sim, "ИП Тестовый", trade_points=2)
        adapter = MtsKassaAdapter(token=token, base_url=sim.url, timeout=1.5)
        yield Register(sim, token, str(points[0]), adapter)


def goods(count: int, price: str = "10.00", start: int = 0) -> list[RegisterProduct]:
    return [
        RegisterProduct(
            f"good-{n}",
            f"Товар {n}",
            Decimal(price),
            vat_rate="20",
            barcode=f"46000000000{n % 100:02d}",
        )
        for n in range(start, start + count)
    ]


def test_the_adapter_is_registered_as_the_mtskassa_point_of_sale() -> None:
    assert POINT_OF_SALE["mtskassa"] is MtsKassaAdapter


def test_account_names_the_token_owner_and_a_wrong_token_is_rejected(register: Register) -> None:
    account = register.adapter.account()
    wrong = MtsKassaAdapter(token="ab" * 20, base_url=register.sim.url)

    assert account.name == "ИП Тестовый" and account.external_id.isdigit()
    with pytest.raises(RejectedCredentials):
        wrong.account()


def test_a_revoked_token_is_rejected_on_the_next_call(register: Register) -> None:
    register.adapter.trade_points()
    control(register.sim, "POST", "/revoke", {"token": register.token})

    with pytest.raises(RejectedCredentials) as caught:
        register.adapter.trade_points()

    assert caught.value.status == 401
    assert register.token not in str(caught.value) + caught.value.excerpt


def test_trade_points_are_the_accounts_own(register: Register) -> None:
    new_account(register.sim, "Someone else", trade_points=3)

    points = register.adapter.trade_points()

    assert next(p.external_id for p in points) == register.point and len(points) == 2
    assert [p.is_main for p in points] == [True, False]


def test_upsert_sends_batch_size_chunks_and_is_idempotent(register: Register) -> None:
    adapter = register.adapter

    adapter.upsert_products(register.point, goods(250))
    calls = adapter.calls
    adapter.upsert_products(register.point, goods(250))
    adapter.upsert_products(register.point, goods(1, price="12.5"))

    assert calls == 3
    stored = register.products()
    assert len(stored) == 250
    assert stored["good-0"]["price"] == "12.50" and stored["good-1"]["price"] == "10.00"
    assert stored["good-7"]["tax"] == "vat20" and stored["good-7"]["barcodes"] == ["4600000000007"]


def test_a_batch_larger_than_the_register_takes_is_a_bad_answer(register: Register) -> None:
    register.adapter.batch_size = 101

    with pytest.raises(BadAnswer) as caught:
        register.adapter.upsert_products(register.point, goods(101))

    assert caught.value.status == 400 and "too_many_products" in caught.value.excerpt
    assert register.products() == {}


def test_archive_takes_products_off_sale_and_unknown_ids_are_fine(register: Register) -> None:
    register.adapter.upsert_products(register.point, goods(3))

    register.adapter.archive_products(register.point, ["good-1", "never-sent"])
    register.adapter.archive_products(register.point, ["good-1"])

    assert {k: v["archived"] for k, v in register.products().items()} == {
        "good-0": False,
        "good-1": True,
        "good-2": False,
    }


def test_a_resent_archived_product_is_on_sale_again(register: Register) -> None:
    register.adapter.upsert_products(register.point, goods(1))
    register.adapter.archive_products(register.point, ["good-0"])

    register.adapter.upsert_products(register.point, goods(1))

    assert register.products()["good-0"]["archived"] is False


def test_closed_shifts_pages_oldest_first(register: Register) -> None:
    register.adapter.upsert_products(register.point, goods(5))
    made = control(
        register.sim,
        "POST",
        f"/trade-units/{register.point}/generate",
        {"shifts": 250, "receipts": 2},
    )

    shifts = list(
        register.adapter.closed_shifts(
            register.point, closed_since=datetime(2000, 1, 1, tzinfo=UTC)
        )
    )

    assert [s.external_id for s in shifts] == [str(i) for i in made["shift_ids"]]
    assert register.adapter.calls == 1 + 3
    assert all(a.closed_at < b.closed_at for a, b in itertools.pairwise(shifts))


def test_a_repeated_page_yields_each_shift_once(register: Register) -> None:
    made = control(
        register.sim,
        "POST",
        f"/trade-units/{register.point}/generate",
        {"shifts": 250, "receipts": 1},
    )
    register.fault(kind="repeat_page", count=2, path="/shifts")

    ids = [
        s.external_id
        for s in register.adapter.closed_shifts(
            register.point, closed_since=datetime(2000, 1, 1, tzinfo=UTC)
        )
    ]

    assert ids == [str(i) for i in made["shift_ids"]]
    assert register.adapter.calls == 3 + 2


def test_a_page_that_keeps_repeating_is_transient_not_skipped(register: Register) -> None:
    control(
        register.sim,
        "POST",
        f"/trade-units/{register.point}/generate",
        {"shifts": 150, "receipts": 1},
    )
    register.fault(kind="repeat_page", count=50, path="/shifts")

    seen = []
    with pytest.raises(TransientHttpError):
        for summary in register.adapter.closed_shifts(
            register.point, closed_since=datetime(2000, 1, 1, tzinfo=UTC)
        ):
            seen.append(summary.external_id)

    assert len(seen) == len(set(seen)) == 100


def test_a_late_closed_shift_is_found_with_a_look_back(register: Register) -> None:
    free = [{"items": [{"free": True, "price": "100"}]}]
    close_shift(register.sim, int(register.point), free)
    cursor = max(
        s.closed_at
        for s in register.adapter.closed_shifts(
            register.point, closed_since=datetime(2000, 1, 1, tzinfo=UTC)
        )
    )
    late = close_shift(register.sim, int(register.point), free, late_seconds=1800)

    after_cursor = list(
        register.adapter.closed_shifts(register.point, closed_since=cursor + timedelta(seconds=1))
    )
    looked_back = list(
        register.adapter.closed_shifts(register.point, closed_since=cursor - timedelta(hours=1))
    )

    assert after_cursor == []
    assert str(late["shift_id"]) in [s.external_id for s in looked_back]


def test_a_shift_has_its_z_report_receipts_free_sales_and_refunds(register: Register) -> None:
    register.adapter.upsert_products(register.point, goods(2, price="150.00"))
    z = close_shift(
        register.sim,
        int(register.point),
        [
            {
                "items": [
                    {"external_id": "good-0", "quantity": 2},
                    {"free": True, "price": "99.90"},
                ],
                "payment": "card",
            },
            {"items": [{"external_id": "good-1", "quantity": "0.5"}], "payment": "cash"},
            {"type": "refund", "items": [{"external_id": "good-0"}], "payment": "cash"},
        ],
    )

    shift = register.adapter.shift(register.point, str(z["shift_id"]))

    assert shift.summary.trade_point_id == register.point and shift.summary.number == 1
    assert shift.z_report.revenue == Decimal("324.90")
    assert (shift.z_report.cash, shift.z_report.card) == (Decimal("-75.00"), Decimal("399.90"))
    assert shift.z_report.refunds == Decimal("150.00") and shift.z_report.receipts_count == 3
    sale, _, refund = shift.receipts
    free = sale.lines[1]
    assert (free.product_external_id, free.name, free.total) == (
        "",
        "Свободная продажа",
        Decimal("99.90"),
    )
    assert sale.lines[0].product_external_id == "good-0" and sale.paid_by_card == Decimal("399.90")
    assert refund.is_refund and not sale.is_refund and refund.paid_in_cash == Decimal("150.00")
    net = sum((-r.total if r.is_refund else r.total for r in shift.receipts), Decimal(0))
    assert net == shift.z_report.revenue


def test_one_call_per_shift_plus_one_per_listing_page(register: Register) -> None:
    register.adapter.upsert_products(register.point, goods(20))
    control(
        register.sim,
        "POST",
        f"/trade-units/{register.point}/generate",
        {"shifts": 200, "receipts": 50},
    )
    before = register.adapter.calls

    for summary in register.adapter.closed_shifts(
        register.point, closed_since=datetime(2000, 1, 1, tzinfo=UTC)
    ):
        register.adapter.shift(register.point, summary.external_id)

    assert register.adapter.calls - before == 200 + 2


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ({"kind": "rate_limit", "count": 1, "retry_after": 7}, TransientHttpError),
        ({"kind": "server_error", "count": 1}, TransientHttpError),
        ({"kind": "timeout", "count": 1, "delay_seconds": 4}, TransientHttpError),
        ({"kind": "truncated", "count": 1}, TransientHttpError),
        ({"kind": "partial", "count": 1}, BadAnswer),
    ],
)
def test_each_fault_is_classified(
    register: Register, rule: dict[str, object], error: type[Exception]
) -> None:
    z = close_shift(
        register.sim, int(register.point), [{"items": [{"free": True, "price": "5"}]}] * 2
    )
    register.fault(**rule)

    with pytest.raises(error) as caught:
        register.adapter.shift(register.point, str(z["shift_id"]))

    if rule["kind"] == "rate_limit":
        assert caught.value.retry_after == 7  # type: ignore[attr-defined]
    assert register.adapter.shift(register.point, str(z["shift_id"])).z_report.receipts_count == 2


def test_another_accounts_shift_or_trade_point_is_a_bad_answer(register: Register) -> None:
    _, (foreign,) = new_account(register.sim, "Someone else")
    z = close_shift(register.sim, foreign, [{"items": [{"free": True, "price": "5"}]}])

    with pytest.raises(BadAnswer) as caught:
        register.adapter.shift(str(foreign), str(z["shift_id"]))
    assert caught.value.status == 404
    with pytest.raises(BadAnswer):
        register.adapter.upsert_products(str(foreign), goods(1))


def test_ids_and_rates_lavka_cannot_send_are_refused_before_any_call(register: Register) -> None:
    with pytest.raises(ValueError, match="number"):
        register.adapter.shift("../company", "1")
    with pytest.raises(ValueError, match="VAT"):
        register.adapter.upsert_products(
            register.point, [RegisterProduct("g", "G", Decimal(1), vat_rate="18")]
        )
    assert register.adapter.calls == 0


def test_under_ten_percent_mixed_faults_retrying_transient_errors_reads_every_shift_once(
    register: Register,
) -> None:
    register.adapter.upsert_products(register.point, goods(10))
    made = control(
        register.sim,
        "POST",
        f"/trade-units/{register.point}/generate",
        {"shifts": 120, "receipts": 5},
    )
    register.fault(kind="mixed", fraction=0.1, delay_seconds=2.5)
    register.fault(kind="repeat_page", fraction=0.5, path="/shifts")
    register.adapter.page_size = 10
    since = datetime(2000, 1, 1, tzinfo=UTC)

    def patiently(read):  # what the kernel's work rows do, without the waiting
        for _ in range(30):
            try:
                return read()
            except TransientHttpError:
                continue
        raise AssertionError("still failing after 30 attempts")

    listed = patiently(
        lambda: [
            s.external_id
            for s in register.adapter.closed_shifts(register.point, closed_since=since)
        ]
    )
    revenue = sum(
        (
            patiently(lambda i=i: register.adapter.shift(register.point, i)).z_report.revenue
            for i in listed
        ),
        Decimal(0),
    )

    assert listed == [str(i) for i in made["shift_ids"]]
    assert revenue == Decimal(made["revenue"])
    assert control(register.sim, "GET", "")["faults"][0]["fired"] > 0
