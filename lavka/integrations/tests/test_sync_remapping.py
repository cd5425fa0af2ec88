"""Removing what shifts are booked through (a mapping, a connection, the shop) while
shifts are not booked is refused; a shift that can never be booked is discarded by its
owner; and a trade point mapped again never books a shift's takings twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from lavka.core.work import WorkState
from lavka.integrations import actions, services
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ReportSend,
    ShiftSync,
    TradePointMapping,
)
from lavka.integrations.sync import runs, shifts
from lavka.integrations.tests.factories import mapping_of, shift_sync_of
from lavka.integrations.tests.sync_support import (
    Systems,
    connect_owner,
    running_systems,
    sale,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def systems() -> Iterator[Systems]:
    with running_systems() as running:
        yield running


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def make_due(row: ShiftSync) -> None:
    ShiftSync.objects.filter(pk=row.pk).update(not_before=timezone.now() - timedelta(seconds=1))


# --- takings once, whatever happens to the mapping ------------------------------------


def test_a_shift_booked_again_after_re_mapping_makes_its_takings_once(
    creator: Any, systems: Systems
) -> None:
    mapping = connect_owner(creator, systems)
    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0])])
    systems.md_fault(  # the takings are made, the report is refused every time
        kind="error",
        count=ShiftSync.max_attempts,
        method="POST",
        path="/accounting/api/v1/sales/retailreport",
    )
    runs.find_shifts(owner_id=creator.pk)
    row = ShiftSync.objects.get()
    for _ in range(ShiftSync.max_attempts):
        make_due(row)
        shifts.sync_shift(shift_sync_id=row.pk)
    row.refresh_from_db()
    assert row.state == WorkState.ATTENTION
    assert len(systems.revenues()) == 1 and systems.reports() == []

    # the owner gives the row up, unmaps the trade point and maps it again
    assert actions.DiscardShift(creator, shift=row).execute() == 1
    actions.DeleteMapping(creator, mapping=mapping).execute()
    assert not ShiftSync.objects.exists()
    connect_owner(creator, systems)
    runs.sync_goods(owner_id=creator.pk)  # the goods' links went with the mapping
    runs.find_shifts(owner_id=creator.pk)
    again = ShiftSync.objects.get()
    assert again.report_number == row.report_number
    assert shifts.sync_shift(shift_sync_id=again.pk) == "done", ShiftSync.objects.get().last_error

    (report,) = systems.reports()
    (takings,) = systems.revenues()  # looked up by its number: not made a second time
    assert report["ReasonRevenues"][0]["RetailRevenueId"] == takings["Id"]
    assert ReportSend.objects.filter(owner=creator, report_number=row.report_number).exists()


# --- refusals while shifts are not booked ---------------------------------------------


@pytest.mark.parametrize(
    "state", [WorkState.PENDING, WorkState.CLAIMED, WorkState.FAILED, WorkState.ATTENTION]
)
def test_a_mapping_with_a_shift_not_booked_is_not_removed(client: Any, creator: Any, state: str):
    mapping = mapping_of(creator)
    shift_sync_of(mapping, state=state)
    shift_sync_of(mapping)  # booked: no obstacle
    client.force_login(creator)

    page = client.post(
        reverse("integrations:mapping_delete", args=[mapping.trade_point_id]), follow=True
    )

    assert page.redirect_chain[-1][0] == reverse(  # the sync page, where they are listed
        "integrations:sync", args=[mapping.cash_desk.connection_id]
    )
    [message] = messages_of(page)
    assert "1 shift of this trade point is not booked" in message
    assert "discard" in message
    assert TradePointMapping.objects.filter(pk=mapping.pk).exists()
    assert ShiftSync.objects.filter(mapping=mapping).count() == 2


def test_a_connection_with_shifts_not_booked_is_not_disconnected(client: Any, creator: Any):
    mapping = mapping_of(creator)
    shift_sync_of(mapping, state=WorkState.ATTENTION)
    shift_sync_of(mapping, state=WorkState.PENDING)
    client.force_login(creator)
    for connection_id in (mapping.trade_point.connection_id, mapping.cash_desk.connection_id):
        page = client.post(
            reverse("integrations:connection_disconnect", args=[connection_id]), follow=True
        )
        [message] = messages_of(page)
        assert message.startswith("2 shifts of this trade point are not booked")
    assert Connection.objects.filter(owner=creator).count() == 2
    assert ShiftSync.objects.count() == 2


def test_once_every_shift_is_booked_or_discarded_the_mapping_goes(client: Any, creator: Any):
    mapping = mapping_of(creator)
    waiting = shift_sync_of(mapping, state=WorkState.ATTENTION)
    shift_sync_of(mapping)
    client.force_login(creator)

    discarded = client.post(reverse("integrations:shift_discard", args=[waiting.pk]), follow=True)
    assert any("was discarded" in m for m in messages_of(discarded))
    assert 'data-testid="shifts-discarded">1<' in discarded.content.decode()
    waiting.refresh_from_db()
    assert waiting.state == WorkState.DONE and waiting.document_id == ""
    assert "Discarded by creator@example.com" in waiting.last_error

    gone = client.post(
        reverse("integrations:mapping_delete", args=[mapping.trade_point_id]), follow=True
    )
    assert messages_of(gone) == ["Mapping removed."]
    assert not TradePointMapping.objects.filter(pk=mapping.pk).exists()


def test_shop_sales_are_not_turned_off_while_a_shop_day_is_not_booked(
    client: Any, creator: Any
) -> None:
    mapping = mapping_of(creator)  # accounting connected
    shop = services.turn_on_shop_sales(owner=creator)
    point = shop.reference_items.get()
    shop_mapping = services.save_mapping(
        owner=creator, trade_point=point, cash_desk=mapping.cash_desk, warehouse=mapping.warehouse
    )
    shift_sync_of(shop_mapping, state=WorkState.ATTENTION)
    client.force_login(creator)

    page = client.post(reverse("integrations:shop_sales"), {"enabled": "off"}, follow=True)

    [message] = messages_of(page)
    assert "1 shift of this trade point is not booked" in message
    assert Connection.objects.filter(owner=creator, role=ConnectionRole.SHOP).exists()


@pytest.mark.parametrize("state", [WorkState.PENDING, WorkState.CLAIMED, WorkState.DONE])
def test_only_a_shift_waiting_for_a_person_is_discarded(client: Any, creator: Any, state: str):
    row = shift_sync_of(mapping_of(creator), state=state)
    client.force_login(creator)

    page = client.post(reverse("integrations:shift_discard", args=[row.pk]), follow=True)

    [message] = messages_of(page)
    assert message.startswith("Only a shift waiting for a person can be discarded")
    before = (row.state, row.last_error)
    row.refresh_from_db()
    assert (row.state, row.last_error) == before


def test_discard_is_post_only_and_hostile_ids_are_not_found(client: Any, creator: Any):
    row = shift_sync_of(mapping_of(creator), state=WorkState.ATTENTION)
    client.force_login(creator)

    assert client.get(reverse("integrations:shift_discard", args=[row.pk])).status_code == 405
    for hostile in ("0", "-1", "99999999999999999999", "1%0A", "1%00", "abc"):
        path = f"/bookkeeping/shifts/{hostile}/discard/"
        assert client.post(path).status_code == 404
    row.refresh_from_db()
    assert row.state == WorkState.ATTENTION
