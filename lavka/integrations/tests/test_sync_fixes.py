"""The review's findings on the bookkeeping sync, each against the simulators: a
malformed shift fails its run (never left running, nothing lost), Retry-After holds for
a trade point's other rows, "Sync now" for shop-only owners, the lease outlasting a
create, and runs counted stale from their real start."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from lavka.core import sweeping, work
from lavka.core.http import BadAnswer
from lavka.core.work import WorkState
from lavka.integrations.models import (
    ShiftSync,
    SyncJob,
    SyncRunStatus,
    SyncSchedule,
    TradePointMapping,
)
from lavka.integrations.sync import dispatch, runs, shifts
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


@pytest.fixture
def mapping(creator: Any, systems: Systems) -> Any:
    return connect_owner(creator, systems)


def task_names(callbacks: list[Any]) -> set[str]:
    """The names of the tasks that on-commit callbacks (background.start*) would queue."""
    names = set()
    for callback in callbacks:
        owner = getattr(getattr(callback, "func", None), "__self__", None)
        cells = [cell.cell_contents for cell in getattr(callback, "__closure__", None) or ()]
        for candidate in [owner, *cells]:
            if isinstance(getattr(candidate, "name", None), str):
                names.add(candidate.name)
    return names


def make_due(row: ShiftSync) -> None:
    ShiftSync.objects.filter(pk=row.pk).update(not_before=timezone.now() - timedelta(seconds=1))


def sales_run(owner: Any) -> Any:
    schedule, _ = SyncSchedule.objects.get_or_create(
        owner=owner, job=SyncJob.SALES, defaults={"next_run_at": timezone.now()}
    )
    run = dispatch.start_manual_run(schedule=schedule)
    assert run is not None
    return run


@pytest.mark.parametrize("number", [-1, 2**31])
def test_a_shift_with_a_number_lavka_cannot_store_fails_the_run_and_loses_nothing(
    creator: Any, systems: Systems, mapping: Any, number: int
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0])], number=number)
    with pytest.raises(BadAnswer, match="number"):
        list(systems.register().closed_shifts(systems.point, closed_since=mapping.sales_cursor))

    run = sales_run(creator)
    assert runs.execute_run(run_id=run.pk) == SyncRunStatus.FAILED
    run.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED
    assert run.finished_at is not None
    assert "number" in run.last_error
    assert not ShiftSync.objects.exists()
    # the cursor stays before the bad shift: it is listed again, not skipped
    assert TradePointMapping.objects.get(pk=mapping.pk).sales_cursor == mapping.sales_cursor
    # and "Sync now" is not refused as "already under way"
    assert dispatch.start_manual_run(schedule=run.schedule) is not None


def test_a_shift_detail_with_a_bad_number_is_a_bad_answer(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    z = systems.close_shift([sale(free="10")], number=-5)
    with pytest.raises(BadAnswer, match="number"):
        systems.register().shift(systems.point, str(z["shift_id"]))


def test_a_retry_after_holds_for_the_trade_points_other_rows(
    creator: Any,
    systems: Systems,
    mapping: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    for good in systems.good_ids[:3]:
        systems.close_shift([sale(good)])
    runs.find_shifts(owner_id=creator.pk)
    first, *_others = ShiftSync.objects.order_by("pk")
    systems.md_fault(kind="rate_limit", count=1, retry_after=60)
    before = timezone.now()

    with django_capture_on_commit_callbacks() as queued:
        assert shifts.sync_shift(shift_sync_id=first.pk) == WorkState.PENDING
    rows = list(ShiftSync.objects.order_by("pk"))
    assert [row.state for row in rows] == [WorkState.PENDING] * 3
    assert [row.attempts for row in rows] == [1, 0, 0]
    assert all(row.not_before >= before + timedelta(seconds=60) for row in rows)
    # nothing is due before then: neither a chained task nor the sweeper books a row
    assert not work.claimable(ShiftSync.objects.all()).exists()
    assert not sweeping.lost(ShiftSync).exists()
    # one task, for the first row, held by the broker until the retry time
    (publish,) = queued
    assert task_names(queued) == {"integrations.sync_shift"}
    assert publish.args == ((first.pk,),)
    assert publish.keywords["countdown"] >= 59
    assert rows[0].queued_at == rows[0].not_before

    for row in rows:
        make_due(row)
    assert shifts.sync_shift(shift_sync_id=first.pk) == WorkState.DONE
    assert set(ShiftSync.objects.values_list("state", flat=True)) == {WorkState.DONE}
    assert len(systems.reports()) == 3


def test_a_refused_token_stops_the_trade_points_chain_of_tasks(
    creator: Any,
    systems: Systems,
    mapping: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    runs.sync_goods(owner_id=creator.pk)
    for good in systems.good_ids[:2]:
        systems.close_shift([sale(good)])
    runs.find_shifts(owner_id=creator.pk)
    first, second = ShiftSync.objects.order_by("pk")
    systems.moedelo.set_revoked(systems.md_token, True)

    with django_capture_on_commit_callbacks() as queued:
        assert shifts.sync_shift(shift_sync_id=first.pk) == WorkState.ATTENTION
    assert "integrations.sync_shift" not in task_names(queued)  # the owner's email only
    after = ShiftSync.objects.get(pk=second.pk)
    assert (after.state, after.attempts, after.queued_at) == (
        WorkState.PENDING,
        0,
        second.queued_at,
    )


def test_a_run_is_stale_counted_from_its_real_start_not_its_dispatch(
    creator: Any, systems: Systems, mapping: Any
) -> None:
    from lavka.integrations.models import SyncRun

    long_ago = timezone.now() - timedelta(minutes=40)
    run = sales_run(creator)
    SyncRun.objects.filter(pk=run.pk).update(started_at=long_ago)  # queued 40 minutes ago
    # the next dispatch fails the run that never started, and its late message is skipped
    assert dispatch.fail_stale_runs() == 1
    assert runs.execute_run(run_id=run.pk) == "skipped"
    assert SyncRun.objects.get(pk=run.pk).last_error == dispatch.STALE_RUN_ERROR

    started = sales_run(creator)
    SyncRun.objects.filter(pk=started.pk).update(started_at=long_ago)
    # a worker takes it now: the time limit counts from here
    systems.close_shift([sale(free="10")])
    assert runs.execute_run(run_id=started.pk) == SyncRunStatus.DONE
    started.refresh_from_db()
    assert started.started_at > long_ago
    assert dispatch.fail_stale_runs() == 0
    assert SyncRun.objects.get(pk=started.pk).status == SyncRunStatus.DONE
