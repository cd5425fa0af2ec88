"""`make run`'s demo: the demo creator's systems connected to the stand-ins' demo
accounts and mapped, the online shop too, with paid orders on past days that the first
sales run books, once the stand-ins answer; nothing (and no error) before."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lavka.core.demo import load_demo_data
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ShiftSync,
    SyncSchedule,
    TradePointMapping,
)
from lavka.integrations.sync import runs, shifts
from services.simulators.moedelo import testing as moedelo_testing
from services.simulators.moedelo.server import DEMO_TOKEN
from services.simulators.mtskassa import testing as mtskassa_testing
from services.simulators.mtskassa.demo import seed_demo

pytestmark = pytest.mark.django_db


def test_demo_data_before_the_stand_ins_are_up_connects_nothing():
    load_demo_data()

    assert not Connection.objects.exists()


def test_demo_data_connects_and_maps_the_demo_creator_once_the_stand_ins_answer(settings):
    with (
        moedelo_testing.running_simulator(seed_demo=True) as moedelo,
        mtskassa_testing.running_simulator() as mtskassa,
    ):
        seed_demo(mtskassa)
        settings.LAVKA_MOEDELO_URL = moedelo.url
        settings.LAVKA_MTSKASSA_URL = mtskassa.url
        load_demo_data()

        load_demo_data()  # again, as `make run` does once the site is up

        mappings = TradePointMapping.objects.select_related("trade_point__connection")
        by_role = {mapping.trade_point.connection.role: mapping for mapping in mappings}
        assert set(by_role) == {ConnectionRole.POINT_OF_SALE, ConnectionRole.SHOP}
        owner = by_role[ConnectionRole.SHOP].owner
        runs.find_shifts(owner_id=owner.pk)
        shop_days = ShiftSync.objects.filter(mapping=by_role[ConnectionRole.SHOP])
        for row in shop_days:  # the first task books the trade point's other due days too
            shifts.sync_shift(shift_sync_id=row.pk)
        states = sorted(shop_days.values_list("state", flat=True))
        takings = sorted(
            Decimal(str(r["Sum"])) for r in moedelo.account_state(DEMO_TOKEN)["retail_revenues"]
        )

    for mapping in by_role.values():
        assert mapping.owner.email == "creator@lavka.localhost"
        assert mapping.cash_desk.is_main and mapping.warehouse.is_main
    assert Connection.objects.filter(owner=owner).count() == 3
    assert SyncSchedule.objects.filter(owner=owner).count() == 2
    # two past days of demo orders: 3 mugs, then 3 mugs sold and 2 refunded
    assert states == ["done", "done"]
    assert takings == [Decimal("18.00"), Decimal("54.00")]
