"""Work rows through a real worker: lost work is swept, claimed and done, once."""

from __future__ import annotations

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
