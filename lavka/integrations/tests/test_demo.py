"""`make run`'s demo: the demo creator's systems connected to the stand-ins' demo
accounts and mapped, once the stand-ins answer; nothing (and no error) before."""

from __future__ import annotations

import pytest

from lavka.core.demo import load_demo_data
from lavka.integrations.models import Connection, SyncSchedule, TradePointMapping
from services.simulators.moedelo import testing as moedelo_testing
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

    mapping = TradePointMapping.objects.get()
    assert mapping.owner.email == "creator@lavka.localhost"
    assert mapping.cash_desk.is_main and mapping.warehouse.is_main
    assert Connection.objects.filter(owner=mapping.owner).count() == 2
    assert SyncSchedule.objects.filter(owner=mapping.owner).count() == 2
