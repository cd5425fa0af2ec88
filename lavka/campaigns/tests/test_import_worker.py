"""A CSV import run by a real worker process survives a `kill -9` of that worker.

Real worker and beat processes on the configured broker (the filesystem transport on the
embedded default, where the dead worker's message is gone and the sweeper starts the job
again; RabbitMQ in the services run, where the broker redelivers it). The import is
slowed down (small batches, a rest between them) so that the kill lands mid-way.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lavka.campaigns.models import ImportStatus, Recipient, RecipientImport
from lavka.core.roles import Role
from lavka.core.tests.support import start_beat, start_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]

LINES = 4000
CHILD_ENV = {
    "CAMPAIGNS_IMPORT_BATCH_ROWS": "200",
    "CAMPAIGNS_IMPORT_PAUSE_MS": "250",
    "CAMPAIGNS_IMPORT_LEASE_SECONDS": "3",
    "CAMPAIGNS_REQUEUE_AFTER_SECONDS": "2",
    "WORK_REQUEUE_INTERVAL_SECONDS": "1",
}


def test_an_import_whose_worker_is_killed_resumes_and_writes_every_line_once(
    transactional_db, client, user_factory, list_factory, tmp_path
):

    from lavka.core.tests.support import purge_queues

    purge_queues()
    owner = user_factory(email="importer@example.com", roles=[Role.CREATOR])
    news = list_factory(owner=owner, name="News")
    client.force_login(owner)
    content = b"email,full_name\n" + b"".join(
        f"k{i:05d}@example.net,Kept {i}\n".encode() for i in range(LINES)
    )
    preview = client.post(
        "/campaigns/recipients/import/",
        {"file": SimpleUploadedFile("big.csv", content, "text/csv"), "target_list": news.pk},
    )
    processes = [start_beat(tmp_path, extra_env=CHILD_ENV)]
    worker = start_worker(tmp_path, extra_env=CHILD_ENV)
    processes.append(worker)
    try:
        confirmed = client.post(
            "/campaigns/recipients/import/confirm/",
            {"token": preview.context["confirm_form"].initial["token"]},
        )
        assert confirmed.status_code == 302
        job = RecipientImport.objects.get()

        def some_done() -> bool:
            return 800 <= RecipientImport.objects.get(pk=job.pk).rows_done < LINES - 1000

        assert wait_until(some_done, timeout=90, interval=0.05), worker.log_tail()
        worker.kill()
        killed_at = RecipientImport.objects.get(pk=job.pk).rows_done
        worker = start_worker(tmp_path, extra_env=CHILD_ENV)
        processes.append(worker)

        finished = wait_until(
            lambda: RecipientImport.objects.get(pk=job.pk).status == ImportStatus.FINISHED,
            timeout=120,
            interval=0.5,
        )
        assert finished, f"{RecipientImport.objects.values()}\n{worker.log_tail()}"
    finally:
        for process in processes:
            process.stop()

    job.refresh_from_db()
    assert killed_at < LINES
    assert (job.rows_done, job.total_rows, job.created, job.skipped, job.conflicts) == (
        LINES,
        LINES,
        LINES,
        0,
        0,
    ), "every line counted once"
    assert Recipient.objects.filter(owner=owner).count() == LINES
    assert news.recipients.count() == LINES
    assert not job.problems.exists()
