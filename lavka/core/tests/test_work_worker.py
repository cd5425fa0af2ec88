"""Work rows through a real worker: lost work is swept, claimed and done, once."""

from __future__ import annotations

import time

import pytest

from lavka.core import sweeping
from lavka.core.tests.support import wait_until
from lavka.core.tests.work_app.models import Chore
from lavka.core.work import WorkState

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_lost_chores_are_swept_and_done_by_a_real_worker(celery_worker_process):
    chores = Chore.objects.bulk_create([Chore(title=f"lost {n}") for n in range(5)])
    failing = Chore.objects.create(title="fail every time")

    assert sweeping.requeue_lost_work() == 6
    finished = wait_until(
        lambda: (
            Chore.objects.filter(state=WorkState.DONE).count() == 5
            and Chore.objects.get(pk=failing.pk).attempts == 1
        ),
        timeout=60,
    )

    assert finished, f"worker log:\n{celery_worker_process.log_tail()}"
    failing.refresh_from_db()
    assert failing.state == WorkState.PENDING
    assert failing.not_before is not None
    assert "did not work" in failing.last_error
    assert all(c.attempts == 0 for c in Chore.objects.filter(pk__in=[c.pk for c in chores]))


def test_a_chore_that_kills_its_worker_every_time_is_given_up(celery_worker_process, monkeypatch):
    """The poison row: each attempt kills the worker's process (the pool starts a new
    one). The sweeper hands it out again (RabbitMQ also redelivers it) until its last
    attempt, and the next claim fails it instead of killing another process."""
    poison = Chore.objects.create(title="crash every time")
    healthy = Chore.objects.create(title="healthy")
    # The sweeper (run here) queues again a row whose 1 s lease ran out a second ago.
    monkeypatch.setattr(Chore, "requeue_after_seconds", 1)

    def swept_until_failed() -> bool:
        sweeping.requeue_lost_work(models=[Chore])
        time.sleep(1.2)
        return Chore.objects.get(pk=poison.pk).state == WorkState.FAILED

    given_up = wait_until(swept_until_failed, timeout=120)

    assert given_up, f"worker log:\n{celery_worker_process.log_tail()}"
    poison.refresh_from_db()
    assert poison.attempts == Chore.max_attempts
    assert poison.title == "given up"
    assert "stopped before it finished" in poison.last_error
    assert Chore.objects.get(pk=healthy.pk).state == WorkState.DONE
    assert celery_worker_process.process.poll() is None  # the worker itself lives on
