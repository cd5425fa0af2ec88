"""Both simulators on loopback, an accounting firm and a register account in them, and
helpers to ring up shifts and read what accounting received (for the sync's tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lavka.integrations.adapters.moedelo import MoeDeloAdapter
from lavka.integrations.adapters.mtskassa import MtsKassaAdapter
from services.simulators.moedelo import Simulator as MoeDeloSimulator
from services.simulators.moedelo.testing import new_account as new_firm
from services.simulators.moedelo.testing import running_simulator as running_moedelo
from services.simulators.mtskassa import Simulator as MtsSimulator
from services.simulators.mtskassa.testing import close_shift, control
from services.simulators.mtskassa.testing import new_account as new_register_account
from services.simulators.mtskassa.testing import running_simulator as running_mtskassa

GOODS = [
    {"Name": "Кофе", "SalePrice": "450.00", "Nds": "20"},
    {"Name": "Чай", "SalePrice": "210.50", "Nds": "10", "UnitOfMeasurement": "кг"},
    {"Name": "Пирожок", "SalePrice": "80", "Nds": "-1"},
]


@dataclass
class Systems:
    moedelo: MoeDeloSimulator
    md_token: str
    stock_id: str
    cashier_id: str
    good_ids: list[str]
    mts: MtsSimulator
    mts_token: str
    points: list[str]

    @property
    def point(self) -> str:
        return self.points[0]

    def accounting(self, timeout: float = 20.0) -> MoeDeloAdapter:
        adapter = MoeDeloAdapter(token=self.md_token, base_url=self.moedelo.url)
        adapter.http.timeout = timeout
        return adapter

    def register(self, timeout: float = 20.0) -> MtsKassaAdapter:
        return MtsKassaAdapter(token=self.mts_token, base_url=self.mts.url, timeout=timeout)

    def products(self, point: str | None = None) -> dict[str, dict[str, Any]]:
        rows = control(self.mts, "GET", f"/trade-units/{point or self.point}/products")["data"]
        return {row["external_id"]: row for row in rows}

    def close_shift(
        self, receipts: list[dict[str, Any]], point: str | None = None, **close: Any
    ) -> dict[str, Any]:
        return close_shift(self.mts, int(point or self.point), receipts, **close)

    def reports(self) -> list[dict[str, Any]]:
        return list(self.moedelo.account_state(self.md_token)["retail_reports"])

    def revenues(self) -> list[dict[str, Any]]:
        return list(self.moedelo.account_state(self.md_token)["retail_revenues"])

    def mts_fault(self, **rule: Any) -> None:
        control(self.mts, "POST", "/faults", rule)

    def md_fault(self, **rule: Any) -> None:
        self.moedelo.add_faults(rule)


@contextmanager
def running_systems(
    trade_points: int = 1, goods: list[dict[str, Any]] | None = None
) -> Iterator[Systems]:
    with running_moedelo() as moedelo, running_mtskassa(fault_seed=3) as mts:
        md_token, ids = new_firm(moedelo, goods=GOODS if goods is None else goods)
        mts_token, points = new_register_account(mts, "ИП Тестовый", trade_points=trade_points)
        yield Systems(
            moedelo=moedelo,
            md_token=md_token,
            stock_id=str(ids["stocks"][0]),
            cashier_id=str(ids["cashiers"][0]),
            good_ids=[str(i) for i in ids["goods"]],
            mts=mts,
            mts_token=mts_token,
            points=[str(p) for p in points],
        )


def sale(
    *goods: str, payment: str = "cash", free: str = "", refund: bool = False
) -> dict[str, Any]:
    """A receipt selling one of each good (by accounting id), plus a free sale of `free`."""
    items: list[dict[str, Any]] = [{"external_id": good} for good in goods]
    if free:
        items.append({"free": True, "price": free})
    return {"type": "refund" if refund else "sale", "payment": payment, "items": items}


def money(value: Any) -> Decimal:
    return Decimal(str(value))


def connect_owner(owner: Any, systems: Systems, *, point: str | None = None) -> Any:
    """The owner's two connections to the simulators, their reference items and a
    mapping of the trade point whose sales cursor starts in 2000 (every shift is new)."""
    from datetime import UTC, datetime

    from lavka.integrations.models import (
        Connection,
        ConnectionRole,
        ReferenceItem,
        ReferenceKind,
        TradePointMapping,
    )

    books = Connection.objects.filter(owner=owner, role=ConnectionRole.ACCOUNTING).first()
    if books is None:
        books = Connection.objects.create(
            owner=owner,
            role=ConnectionRole.ACCOUNTING,
            system="moedelo",
            base_url=systems.moedelo.url,
            token=systems.md_token,
        )
    till = Connection.objects.filter(owner=owner, role=ConnectionRole.POINT_OF_SALE).first()
    if till is None:
        till = Connection.objects.create(
            owner=owner,
            role=ConnectionRole.POINT_OF_SALE,
            system="mtskassa",
            base_url=systems.mts.url,
            token=systems.mts_token,
        )

    def item(connection: Any, kind: str, external_id: str) -> Any:
        return ReferenceItem.objects.get_or_create(
            connection=connection, kind=kind, external_id=external_id, defaults={"name": kind}
        )[0]

    return TradePointMapping.objects.create(
        owner=owner,
        trade_point=item(till, ReferenceKind.TRADE_POINT, point or systems.point),
        cash_desk=item(books, ReferenceKind.CASH_DESK, systems.cashier_id),
        warehouse=item(books, ReferenceKind.WAREHOUSE, systems.stock_id),
        sales_cursor=datetime(2000, 1, 1, tzinfo=UTC),
    )
