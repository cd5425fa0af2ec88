"""The sync services against both simulators: goods sent once and archived, every
closed shift booked exactly once whatever the faults, and failed shifts retried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from lavka.core import sweeping
from lavka.core.work import WorkState
from lavka.integrations.adapters.moedelo import MoeDeloAdapter
from lavka.integrations.adapters.mtskassa import MtsKassaAdapter
from lavka.integrations.models import (
    Connection,
    ConnectionStatus,
    GoodLink,
    ShiftSync,
    SyncJob,
    SyncRun,
    SyncRunStatus,
    SyncSchedule,
)
from lavka.integrations.sync import dispatch, runs, shifts
from lavka.integrations.tests.sync_support import (
    Systems,
    connect_owner,
    money,
    running_systems,
    sale,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def systems() -> Iterator[Systems]:
    with running_systems() as running:
        yield running


@pytest.fixture
def mapping(creator: Any, systems: Systems) -> Any:
    return connect_owner(creator, systems)


def book_all(owner_id: int) -> list[str]:
    """List the owner's shifts, run every row's task (as the worker would; a task may
    book other due rows of its trade point too); returns the rows' states."""
    runs.find_shifts(owner_id=owner_id)
    rows = ShiftSync.objects.order_by("pk")
    for pk in rows.values_list("pk", flat=True):
        shifts.sync_shift(shift_sync_id=pk)
    return [str(state) for state in rows.values_list("state", flat=True)]


def make_due(row: ShiftSync) -> None:
    ShiftSync.objects.filter(pk=row.pk).update(not_before=timezone.now() - timedelta(seconds=1))


def test_goods_are_sent_once_changed_ones_again_and_deleted_ones_archived(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    first = runs.sync_goods(owner_id=creator.pk)
    assert (first.sent, first.archived) == (3, 0)
    products = systems.products()
    assert set(products) == set(systems.good_ids)
    assert products[systems.good_ids[0]]["price"] == "450.00"
    assert GoodLink.objects.filter(mapping=mapping).count() == 3

    again = runs.sync_goods(owner_id=creator.pk)
    assert (again.sent, again.archived, again.unchanged) == (0, 0, 3)

    coffee, tea, _pie = systems.good_ids
    http = systems.accounting().http
    http.put_json(
        f"/stock/api/v1/good/{coffee}", {"Name": "Кофе", "SalePrice": "470.00", "Nds": "20"}
    )
    http.delete(f"/stock/api/v1/good/{tea}")
    changed = runs.sync_goods(owner_id=creator.pk)
    assert (changed.sent, changed.archived, changed.unchanged) == (1, 1, 1)
    products = systems.products()
    assert products[coffee]["price"] == "470.00"
    assert products[tea]["archived"] is True
    assert GoodLink.objects.get(mapping=mapping, good_external_id=tea).archived_at is not None


def test_a_good_the_register_cannot_take_is_reported_and_the_rest_are_sent(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    systems.accounting().http.post_json(
        "/stock/api/v1/good", {"Name": "Коробка", "SalePrice": 5, "UnitOfMeasurement": "упак"}
    )
    outcome = runs.sync_goods(owner_id=creator.pk)
    assert outcome.sent == 3
    assert len(outcome.refused) == 1
    assert "Коробка" in outcome.refused[0]
    assert "pack" in outcome.refused[0]


def test_every_shift_is_booked_once_with_takings_equal_to_its_receipts(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    coffee, tea, pie = systems.good_ids
    z1 = systems.close_shift([sale(coffee, tea, free="100"), sale(coffee, refund=True)])
    z2 = systems.close_shift([sale(pie, pie, payment="card")])

    assert book_all(creator.pk) == ["done", "done"]

    rows = list(ShiftSync.objects.order_by("closed_at"))
    assert [row.state for row in rows] == ["done", "done"]
    assert [row.revenue for row in rows] == [money(z1["revenue"]), money(z2["revenue"])]
    reports = {r["Number"]: r for r in systems.reports()}
    assert set(reports) == {row.report_number for row in rows}
    assert {str(r["Id"]) for r in reports.values()} == {row.document_id for row in rows}
    takings = sorted(money(r["Sum"]) for r in systems.revenues())
    assert takings == sorted([money(z1["revenue"]), money(z2["revenue"])])
    mapping.refresh_from_db()
    assert mapping.sales_cursor == rows[-1].closed_at


def test_a_shift_listed_twice_or_by_two_runs_is_one_row_and_one_report(
    creator: Any, systems: Systems, mapping: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MtsKassaAdapter, "page_size", 2)  # the repeated page is page 2
    runs.sync_goods(owner_id=creator.pk)
    for _ in range(3):
        systems.close_shift([sale(systems.good_ids[0])])
    systems.mts_fault(kind="repeat_page", count=2)
    schedule = SyncSchedule.objects.create(
        owner=creator, job=SyncJob.SALES, next_run_at=timezone.now()
    )
    one = SyncRun.objects.create(schedule=schedule, trigger="manual", slot=timezone.now())
    two = SyncRun.objects.create(schedule=schedule, trigger="scheduled", slot=timezone.now())

    assert runs.find_shifts(owner_id=creator.pk, run_id=one.pk) == 3
    assert runs.find_shifts(owner_id=creator.pk, run_id=two.pk) == 0  # within the look-back
    mapping.sales_cursor = None  # from the mapping's creation minus the look-back
    mapping.save()
    assert runs.find_shifts(owner_id=creator.pk) == 0
    assert ShiftSync.objects.count() == 3

    pks = list(ShiftSync.objects.values_list("pk", flat=True))
    outcomes = [shifts.sync_shift(shift_sync_id=pk) for pk in pks + pks]
    # the first task books its trade point's other due shifts too; their tasks skip
    assert outcomes == ["done"] + ["skipped"] * 5
    assert set(ShiftSync.objects.values_list("state", flat=True)) == {WorkState.DONE}
    assert len(systems.reports()) == 3
    one.refresh_from_db()
    assert (one.shifts_found, one.shifts_booked) == (3, 3)


def test_a_late_closed_shift_inside_the_look_back_is_booked(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0])])
    book_all(creator.pk)
    systems.close_shift([sale(systems.good_ids[1])], late_seconds=3 * 3600)
    assert book_all(creator.pk)[-1] == "done"
    assert len(systems.reports()) == 2


def test_a_rate_limit_retries_after_the_servers_retry_after(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0])])
    systems.md_fault(kind="rate_limit", count=1, retry_after=600)
    before = timezone.now()

    assert book_all(creator.pk) == ["pending"]
    row = ShiftSync.objects.get()
    assert row.attempts == 1
    assert row.not_before is not None
    assert row.not_before >= before + timedelta(seconds=600)
    assert "429" in row.last_error or "TransientHttpError" in row.last_error
    assert shifts.sync_shift(shift_sync_id=row.pk) == "skipped"  # not due yet

    make_due(row)
    assert shifts.sync_shift(shift_sync_id=row.pk) == "done"
    assert len(systems.reports()) == 1


def test_a_timeout_after_the_report_was_made_is_retried_into_the_same_report(
    creator: Any, systems: Systems, mapping: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(MoeDeloAdapter, "timeout", 0.5)
    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0], free="50")])
    systems.md_fault(
        kind="timeout",
        count=1,
        method="POST",
        path="/accounting/api/v1/sales/retailreport",
        sleep_seconds=1,
    )
    assert book_all(creator.pk) == ["pending"]
    assert len(systems.reports()) == 1  # made, though the answer was lost

    row = ShiftSync.objects.get()
    make_due(row)
    assert shifts.sync_shift(shift_sync_id=row.pk) == "done"
    (report,) = systems.reports()
    assert len(systems.revenues()) == 1
    row.refresh_from_db()
    assert row.document_id == str(report["Id"])


def test_a_retry_after_the_takings_were_made_looks_them_up_and_makes_them_once(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0])])
    systems.md_fault(
        kind="error", count=1, method="POST", path="/accounting/api/v1/sales/retailreport"
    )
    assert book_all(creator.pk) == ["pending"]
    row = ShiftSync.objects.get()
    assert row.send_started_at is not None  # stamped before the first create
    assert len(systems.revenues()) == 1 and systems.reports() == []

    make_due(row)
    assert shifts.sync_shift(shift_sync_id=row.pk) == "done"
    (report,) = systems.reports()
    (takings,) = systems.revenues()  # found by its number, not made again
    assert report["ReasonRevenues"][0]["RetailRevenueId"] == takings["Id"]


def test_a_dead_lettered_shift_is_booked_after_a_manual_retry(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0])])
    systems.md_fault(kind="error", count=ShiftSync.max_attempts)
    runs.find_shifts(owner_id=creator.pk)
    row = ShiftSync.objects.get()
    for _ in range(ShiftSync.max_attempts):
        make_due(row)
        state = shifts.sync_shift(shift_sync_id=row.pk)
    assert state == WorkState.ATTENTION
    row.refresh_from_db()
    assert row.attempts == ShiftSync.max_attempts
    assert "500" in row.last_error or "TransientHttpError" in row.last_error

    assert sweeping.retry_manually(ShiftSync, [row.pk]) == 1
    assert shifts.sync_shift(shift_sync_id=row.pk) == "done"
    assert len(systems.reports()) == 1


def test_a_product_unknown_to_accounting_waits_with_a_clear_error(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    GoodLink.objects.filter(good_external_id=systems.good_ids[1]).delete()
    systems.close_shift([sale(systems.good_ids[0], systems.good_ids[1])])

    assert book_all(creator.pk) == [WorkState.ATTENTION]
    row = ShiftSync.objects.get()
    assert "does not have" in row.last_error
    assert f"(id {systems.good_ids[1]})" in row.last_error
    assert systems.reports() == []

    runs.sync_goods(owner_id=creator.pk)  # the good is linked again
    sweeping.retry_manually(ShiftSync, [row.pk])
    assert shifts.sync_shift(shift_sync_id=row.pk) == "done"


def test_a_revoked_token_marks_the_connection_and_the_shift_waits(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0])])
    runs.find_shifts(owner_id=creator.pk)
    systems.moedelo.set_revoked(systems.md_token, True)

    row = ShiftSync.objects.get()
    assert shifts.sync_shift(shift_sync_id=row.pk) == WorkState.ATTENTION
    books = Connection.objects.get(owner=creator, role="accounting")
    assert books.status == ConnectionStatus.REVOKED
    row.refresh_from_db()
    assert "RejectedCredentials" in row.last_error

    # the owner connects again (here: the same token, restored), the shift goes through
    systems.moedelo.set_revoked(systems.md_token, False)
    Connection.objects.filter(pk=books.pk).update(status=ConnectionStatus.ACTIVE)
    assert shifts.retry_waiting_shifts(owner_id=creator.pk) == 1
    assert shifts.sync_shift(shift_sync_id=row.pk) == "done"


def test_due_schedules_fire_one_run_per_slot_and_move_to_the_next(creator: Any) -> None:
    now = timezone.now()
    goods = SyncSchedule.objects.create(
        owner=creator,
        job=SyncJob.GOODS,
        interval_minutes=15,
        next_run_at=now - timedelta(minutes=40),
    )
    SyncSchedule.objects.create(
        owner=creator, job=SyncJob.SALES, next_run_at=now - timedelta(minutes=1), paused_at=now
    )
    fired = dispatch.dispatch_due_schedules(now=now)
    assert dispatch.dispatch_due_schedules(now=now) == []
    (run,) = SyncRun.objects.filter(pk__in=fired)
    assert run.schedule == goods
    assert run.slot == now - timedelta(minutes=40)
    goods.refresh_from_db()
    assert goods.next_run_at == now + timedelta(minutes=5)
    # a second dispatcher that read the schedule as due before the first moved it
    assert dispatch.fire_due_slot(schedule_id=goods.pk, now=now) is None
    assert SyncRun.objects.count() == 1


def test_a_run_records_its_counts_and_a_failure(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    schedule = SyncSchedule.objects.create(
        owner=creator, job=SyncJob.GOODS, next_run_at=timezone.now()
    )
    run = dispatch.start_manual_run(schedule=schedule)
    assert run is not None
    assert runs.execute_run(run_id=run.pk) == SyncRunStatus.DONE
    assert runs.execute_run(run_id=run.pk) == "skipped"
    run.refresh_from_db()
    assert (run.goods_sent, run.errors, run.status) == (3, 0, SyncRunStatus.DONE)

    systems.mts_fault(kind="server_error", count=5)
    systems.accounting().http.post_json("/stock/api/v1/good", {"Name": "Сок", "SalePrice": 90})
    failed = dispatch.start_manual_run(schedule=schedule)
    assert failed is not None
    assert runs.execute_run(run_id=failed.pk) == SyncRunStatus.FAILED
    failed.refresh_from_db()
    assert failed.errors == 1
    assert "TransientHttpError" in failed.last_error
    assert failed.finished_at is not None


def test_a_trade_point_unmapped_and_mapped_again_books_no_shift_twice(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    from lavka.integrations import services as integration_services

    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0])])
    assert book_all(creator.pk) == ["done"]
    trade_point, cash_desk, warehouse = mapping.trade_point, mapping.cash_desk, mapping.warehouse

    integration_services.delete_mapping(mapping=mapping)  # its shift rows go with it
    again = integration_services.save_mapping(
        owner=creator, trade_point=trade_point, cash_desk=cash_desk, warehouse=warehouse
    )
    type(again).objects.filter(pk=again.pk).update(sales_cursor=None)
    book_all(creator.pk)

    assert len(systems.reports()) == 1  # found by its number, not sent again
