"""Beat's routine ticks (dispatch, sweeps, flushes) stay out of the INFO log (issue 8).

They fire every few seconds; at INFO they buried the lines that say something happened.
A real beat and worker run a due mailing: the dispatch tick that fires it is not logged,
the run it starts is.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lavka.campaigns import services
from lavka.campaigns.models import Mailing, MailingRun, RunStatus
from lavka.core.log_filters import routine_task_names
from lavka.core.tests.support import start_beat, start_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]

TICKS = {
    "CAMPAIGNS_DISPATCH_INTERVAL_SECONDS": "1",
    "CAMPAIGNS_RECOVER_INTERVAL_SECONDS": "1",
    "WORK_REQUEUE_INTERVAL_SECONDS": "1",
    "CONTENT_VIEWS_FLUSH_SECONDS": "1",
    "LOG_LEVEL": "INFO",
}


def task_lines(log: str, names: set[str] | frozenset[str]) -> list[str]:
    """Lines saying a task was sent, received or succeeded (not the worker's banner)."""
    verbs = ("Sending due task", "] received", "] succeeded")
    return [
        line
        for line in log.splitlines()
        if any(verb in line for verb in verbs) and any(name in line for name in names)
    ]


def test_routine_ticks_are_not_logged_at_info_but_the_work_they_start_is(
    transactional_db, ready_mailing, owner, mail_sink, tmp_path
):

    from lavka.core.tests.support import purge_queues

    purge_queues()
    ready_mailing.first_send_at = timezone.now() + timedelta(minutes=5)
    ready_mailing.save()
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    Mailing.objects.filter(pk=ready_mailing.pk).update(next_send_at=timezone.now())

    beat = start_beat(tmp_path, extra_env=TICKS)
    worker = start_worker(tmp_path, extra_env=TICKS)
    try:
        done = wait_until(
            lambda: MailingRun.objects.filter(status=RunStatus.COMPLETED).exists(), timeout=90
        )
        assert done, worker.log_tail()
        # a few more ticks of every routine entry after the run
        wait_until(lambda: False, timeout=3)
    finally:
        worker.stop()
        beat.stop()
    worker_log = worker.log_path.read_text()
    beat_log = beat.log_path.read_text()

    assert task_lines(worker_log, {"campaigns.start_run"}), worker_log
    assert task_lines(worker_log, routine_task_names()) == []
    assert task_lines(beat_log, routine_task_names()) == []
    assert "beat: Starting" in beat_log
