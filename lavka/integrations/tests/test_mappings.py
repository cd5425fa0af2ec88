"""Mapping a trade point to the owner's own cash desk and warehouse; the first mapping
starts both schedules, the last one's removal stops them; intervals and pausing."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from lavka.core.roles import Role
from lavka.integrations.models import (
    ReferenceItem,
    ReferenceKind,
    SyncJob,
    SyncSchedule,
    TradePointMapping,
)
from lavka.integrations.tests.factories import connected_owner, mapping_of

pytestmark = pytest.mark.django_db


def _map(client: Any, point: ReferenceItem, desk: Any, store: Any) -> Any:
    return client.post(
        reverse("integrations:mapping_edit", args=[point.pk]),
        {"cash_desk": getattr(desk, "pk", desk), "warehouse": getattr(store, "pk", store)},
    )


def test_the_first_mapping_creates_both_schedules(client, creator):
    items = connected_owner(creator)
    client.force_login(creator)

    response = _map(client, items["trade_point"], items["cash_desk"], items["warehouse"])

    assert response.status_code == 302
    mapping = TradePointMapping.objects.get(owner=creator)
    assert mapping.cash_desk == items["cash_desk"]
    assert mapping.warehouse == items["warehouse"]
    jobs = sorted(SyncSchedule.objects.filter(owner=creator).values_list("job", flat=True))
    assert jobs == sorted(SyncJob.values)


def test_a_second_mapping_adds_no_schedule_and_removing_the_last_removes_them(client, creator):
    first = connected_owner(creator)
    second = connected_owner(creator)
    client.force_login(creator)
    _map(client, first["trade_point"], first["cash_desk"], first["warehouse"])
    _map(client, second["trade_point"], second["cash_desk"], second["warehouse"])
    assert SyncSchedule.objects.filter(owner=creator).count() == 2

    client.post(reverse("integrations:mapping_delete", args=[first["trade_point"].pk]))
    assert SyncSchedule.objects.filter(owner=creator).count() == 2
    client.post(reverse("integrations:mapping_delete", args=[second["trade_point"].pk]))

    assert not TradePointMapping.objects.exists()
    assert not SyncSchedule.objects.exists()


def test_changing_a_mapping_keeps_it_one_row(client, creator):
    items = connected_owner(creator)
    other_desk = ReferenceItem.objects.create(
        connection=items["accounting"], kind=ReferenceKind.CASH_DESK, external_id="x", name="Two"
    )
    client.force_login(creator)
    _map(client, items["trade_point"], items["cash_desk"], items["warehouse"])

    _map(client, items["trade_point"], other_desk, items["warehouse"])

    assert TradePointMapping.objects.get().cash_desk == other_desk


def test_another_owners_cash_desk_is_a_form_error_and_nothing_is_saved(
    client, creator, user_factory
):
    other = user_factory(email="other-creator@example.com", roles=[Role.CREATOR])
    theirs = connected_owner(other)
    mine = connected_owner(creator)
    client.force_login(creator)

    response = _map(client, mine["trade_point"], theirs["cash_desk"], mine["warehouse"])

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not TradePointMapping.objects.exists()
    assert not SyncSchedule.objects.exists()


def test_a_warehouse_offered_as_a_cash_desk_is_refused(client, creator):
    items = connected_owner(creator)
    client.force_login(creator)

    response = _map(client, items["trade_point"], items["warehouse"], items["warehouse"])

    assert "Select a valid choice" in response.content.decode()
    assert not TradePointMapping.objects.exists()


def test_an_item_the_system_no_longer_lists_cannot_be_chosen(client, creator):
    items = connected_owner(creator)
    ReferenceItem.objects.filter(pk=items["cash_desk"].pk).update(gone_at="2026-01-01T00:00Z")
    client.force_login(creator)

    response = _map(client, items["trade_point"], items["cash_desk"], items["warehouse"])

    assert "Select a valid choice" in response.content.decode()
    assert not TradePointMapping.objects.exists()


def test_another_owners_trade_point_is_not_found(client, creator, user_factory):
    other = user_factory(email="other-creator@example.com", roles=[Role.CREATOR])
    theirs = connected_owner(other)
    mine = connected_owner(creator)
    client.force_login(creator)

    response = _map(client, theirs["trade_point"], mine["cash_desk"], mine["warehouse"])

    assert response.status_code == 404
    assert not TradePointMapping.objects.exists()


def test_a_mapped_cash_desk_cannot_be_deleted(creator):
    from django.db.models import ProtectedError

    mapping = mapping_of(creator)

    with pytest.raises(ProtectedError):
        mapping.cash_desk.delete()


@pytest.mark.parametrize("interval", ["0", "-5", "4", "10081", "99999999999999999999", "ten"])
def test_a_bad_interval_is_refused(client, creator, interval, settings):
    settings.LAVKA_SYNC_MIN_INTERVAL_MINUTES = 5
    mapping_of(creator)
    schedule = SyncSchedule.objects.get(owner=creator, job=SyncJob.SALES)
    before = schedule.interval_minutes
    client.force_login(creator)

    response = client.post(
        reverse("integrations:schedule_edit", args=[schedule.pk]), {"interval_minutes": interval}
    )

    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.interval_minutes == before


def test_an_interval_at_the_minimum_is_saved(client, creator, settings):
    settings.LAVKA_SYNC_MIN_INTERVAL_MINUTES = 5
    mapping_of(creator)
    schedule = SyncSchedule.objects.get(owner=creator, job=SyncJob.GOODS)
    client.force_login(creator)

    response = client.post(
        reverse("integrations:schedule_edit", args=[schedule.pk]), {"interval_minutes": "5"}
    )

    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.interval_minutes == 5


def test_pausing_and_resuming_a_schedule(client, creator):
    mapping_of(creator)
    schedule = SyncSchedule.objects.get(owner=creator, job=SyncJob.GOODS)
    client.force_login(creator)

    client.post(reverse("integrations:schedule_pause", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert schedule.is_paused
    assert "Resume" in client.get(reverse("integrations:overview")).content.decode()

    client.post(reverse("integrations:schedule_resume", args=[schedule.pk]))
    schedule.refresh_from_db()
    assert not schedule.is_paused
    assert not SyncSchedule.objects.get(owner=creator, job=SyncJob.SALES).is_paused


def test_a_trade_point_no_longer_listed_cannot_be_mapped(client, creator):
    items = connected_owner(creator)
    ReferenceItem.objects.filter(pk=items["trade_point"].pk).update(gone_at="2026-01-01T00:00Z")
    client.force_login(creator)

    response = _map(client, items["trade_point"], items["cash_desk"], items["warehouse"])

    assert response.status_code == 200
    assert "The cash registers no longer list this trade point." in response.content.decode()
    assert not TradePointMapping.objects.exists()
