"""Two runs and two workers at once, on real threads (each with its own database
connection), and a real worker process booking shifts end to end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from lavka.core.work import WorkState
from lavka.integrations.models import ShiftSync, SyncJob, SyncRun, SyncSchedule
from lavka.integrations.sync import dispatch, runs, shifts
from lavka.integrations.tests.sync_support import (
    Systems,
    connect_owner,
    money,
    running_systems,
    sale,
)


@pytest.fixture
def systems() -> Iterator[Systems]:
    with running_systems() as running:
        yield running


def in_threads(*jobs: Callable[[], Any]) -> list[Any]:
    results: list[Any] = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            start.wait()
            results[index] = job()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_runs_and_two_workers_at_once_book_each_shift_once(
    creator: Any, systems: Systems
) -> None:
    connect_owner(creator, systems)
    runs.sync_goods(owner_id=creator.pk)
    for n in range(6):
        systems.close_shift([sale(systems.good_ids[n % 3], free="10")])

    found = in_threads(
        lambda: runs.find_shifts(owner_id=creator.pk),
        lambda: runs.find_shifts(owner_id=creator.pk),
    )
    assert not [r for r in found if isinstance(r, Exception)], found
    assert ShiftSync.objects.count() == 6

    pks = list(ShiftSync.objects.order_by("pk").values_list("pk", flat=True))

    def worker() -> list[str]:
        return [shifts.sync_shift(shift_sync_id=pk) for pk in pks]

    outcomes = in_threads(worker, worker)
    assert not [r for r in outcomes if isinstance(r, Exception)], outcomes
    assert set(ShiftSync.objects.values_list("state", flat=True)) == {WorkState.DONE}
    numbers = [r["Number"] for r in systems.reports()]
    assert sorted(numbers) == sorted(set(numbers))
    assert len(numbers) == 6
    assert len(systems.revenues()) == 6


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


@pytest.mark.worker
def test_a_real_worker_syncs_goods_and_books_shifts_end_to_end(
    creator: Any, systems: Systems, celery_worker_process: Any
) -> None:
    mapping = connect_owner(creator, systems)
    now = timezone.now()
    SyncSchedule.objects.create(
        owner=creator, job=SyncJob.GOODS, next_run_at=now - timedelta(seconds=1)
    )
    assert len(dispatch.dispatch_due_schedules(now=now)) == 1
    assert wait_for(lambda: len(systems.products()) == 3, 60), celery_worker_process.log_tail()

    zs = [
        systems.close_shift([sale(systems.good_ids[n % 3], systems.good_ids[0], free="25")])
        for n in range(4)
    ]
    SyncSchedule.objects.create(
        owner=creator, job=SyncJob.SALES, next_run_at=now - timedelta(seconds=1)
    )
    assert len(dispatch.dispatch_due_schedules(now=now)) == 1
    booked = wait_for(
        lambda: ShiftSync.objects.filter(mapping=mapping, state=WorkState.DONE).count() == 4, 90
    )
    assert booked, celery_worker_process.log_tail()
    assert sorted(money(r["Sum"]) for r in systems.revenues()) == sorted(
        money(z["revenue"]) for z in zs
    )
    assert len(systems.reports()) == 4
    run = SyncRun.objects.get(schedule__job=SyncJob.SALES)
    assert (run.shifts_found, run.shifts_booked) == (4, 4)


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_row_was_taken_during_the_takings_sends_no_report(
    creator: Any, systems: Systems
) -> None:
    """The first worker's takings POST answers slowly; meanwhile its message is
    redelivered and a second worker takes the row over and books it. The first one,
    checking its lease between the takings and the report, stops: one takings, one
    report."""
    connect_owner(creator, systems)
    runs.sync_goods(owner_id=creator.pk)
    systems.close_shift([sale(systems.good_ids[0])])
    runs.find_shifts(owner_id=creator.pk)
    row = ShiftSync.objects.get()
    systems.md_fault(
        # held long enough for the take-over below even on a busy machine, and still
        # below the adapter's 20 s timeout
        kind="timeout",
        count=1,
        method="POST",
        path="/accounting/api/v1/cashier/",
        sleep_seconds=12,
    )
    first: list[Any] = []

    def slow_worker() -> None:
        try:
            first.append(shifts.sync_shift(shift_sync_id=row.pk))
        except Exception as error:
            first.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_worker)
    thread.start()
    assert wait_for(lambda: len(systems.revenues()) == 1, 20)
    assert shifts.sync_shift(shift_sync_id=row.pk, take_over=True) == WorkState.DONE
    thread.join(60)

    assert first == ["skipped"]
    assert len(systems.revenues()) == 1
    (report,) = systems.reports()
    assert report["ReasonRevenues"][0]["RetailRevenueId"] == systems.revenues()[0]["Id"]
    assert ShiftSync.objects.get().state == WorkState.DONE
