"""One delivery that cannot be built or sent fails alone, and each outcome is recorded
as soon as the SMTP server answered (issue 8, finding 3).

The bad rows are written with `.update()`, as rows from before names and subjects were
checked would be: every entrance refuses them now (test_header_text.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from lavka.campaigns import dispatch
from lavka.campaigns.models import Delivery, DeliveryStatus, MailingRun, Recipient, RunStatus
from lavka.campaigns.tests.helpers import send_everything_now
from lavka.campaigns.tests.test_smtp_outcomes import fire
from lavka.core.tests.support import SmtpSink, free_port, start_beat, start_worker, wait_until


def counts_at(sink: SmtpSink) -> Counter[str]:
    return Counter(address for mail in sink.received for address in mail.envelope_to)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("Anna\r\nBcc: everyone@example.org", "a line break"),
        ("Anna\x1b[31m", "U+001B"),
        ("Anna\x00", "NUL"),
    ],
)
def test_a_recipient_whose_name_breaks_the_subject_fails_alone_mid_batch(
    ready_mailing, owner, scripted_smtp, name, found
):
    if "\x00" in name and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL text cannot hold NUL, so no old row there has one")
    Recipient.objects.filter(email="r2@example.net").update(full_name=name)
    run_id = fire(ready_mailing, owner)

    send_everything_now(run_id=run_id)

    bad = Delivery.objects.get(email="r2@example.net")
    run = MailingRun.objects.get(pk=run_id)
    assert counts_at(scripted_smtp) == {f"r{i}@example.net": 1 for i in (0, 1, 3, 4)}
    assert bad.status == DeliveryStatus.FAILED
    assert f"the Subject header would contain {found}" in bad.smtp_reply
    assert bad.last_error == bad.smtp_reply
    assert (run.status, run.sent, run.failed) == (RunStatus.COMPLETED, 4, 1)
    assert Recipient.objects.get(email="r2@example.net").suppressed_at is None


@pytest.mark.django_db
def test_a_message_the_mail_library_cannot_send_fails_alone_and_nobody_gets_it_twice(
    ready_mailing, owner, scripted_smtp
):
    # An address the SMTP library cannot put on the wire (non-ASCII before the @).
    Recipient.objects.filter(email="r2@example.net").update(email="r2ü@example.net")
    run_id = fire(ready_mailing, owner)
    dispatch.start_run(run_id=run_id)
    ids = list(Delivery.objects.filter(run_id=run_id).values_list("pk", flat=True))

    dispatch.send_chunk(run_id=run_id, first_id=min(ids), last_id=max(ids))
    Delivery.objects.filter(run_id=run_id).update(not_before=None, lease_expires_at=None)
    dispatch.send_chunk(run_id=run_id, first_id=min(ids), last_id=max(ids))

    bad = Delivery.objects.get(email="r2ü@example.net")
    assert counts_at(scripted_smtp) == {f"r{i}@example.net": 1 for i in (0, 1, 3, 4)}
    assert bad.status == DeliveryStatus.FAILED
    assert bad.smtp_reply.startswith("Not sent: UnicodeEncodeError")
    assert MailingRun.objects.get(pk=run_id).status == RunStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_each_outcome_is_recorded_as_soon_as_the_server_answered(
    ready_mailing, owner, scripted_smtp
):
    """The sink holds the fourth message's DATA; by then the first three are recorded."""
    holding, release = threading.Event(), threading.Event()

    async def hold_r3(server, session, envelope):
        if "r3@example.net" in envelope.rcpt_tos:
            holding.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
        return await type(scripted_smtp).handle_DATA(scripted_smtp, server, session, envelope)

    scripted_smtp.handle_DATA = hold_r3
    run_id = fire(ready_mailing, owner)
    dispatch.start_run(run_id=run_id)
    ids = list(Delivery.objects.filter(run_id=run_id).values_list("pk", flat=True))

    def send_in_a_lane() -> None:
        try:
            dispatch.send_chunk(run_id=run_id, first_id=min(ids), last_id=max(ids))
        finally:
            connection.close()

    lane = threading.Thread(target=send_in_a_lane)
    lane.start()
    try:
        assert holding.wait(30)
        recorded_while_r3_on_the_wire = dict(Delivery.objects.values_list("email", "status"))
    finally:
        release.set()
        lane.join(60)

    assert recorded_while_r3_on_the_wire == {
        "r0@example.net": DeliveryStatus.SENT,
        "r1@example.net": DeliveryStatus.SENT,
        "r2@example.net": DeliveryStatus.SENT,
        "r3@example.net": DeliveryStatus.PENDING,
        "r4@example.net": DeliveryStatus.PENDING,
    }
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


@pytest.mark.worker
@pytest.mark.slow
def test_a_worker_delivers_everyone_else_once_when_one_recipient_in_a_chunk_is_bad(
    transactional_db, owner, recipient_factory, mailing_factory, tmp_path
):
    """Real worker, real beat sweeping every 2 s, real SMTP sink: the bad recipient in
    the middle of a chunk fails with its reason; nobody else gets the message twice,
    even after the sweeper had several rounds to send anything again."""

    from lavka.core.tests.support import purge_queues

    purge_queues()
    recipients = [
        recipient_factory(owner=owner, email=f"m{i:03d}@example.net", full_name=f"Member {i}")
        for i in range(120)
    ]
    Recipient.objects.filter(pk=recipients[61].pk).update(full_name="Bad\r\nBcc: all@example.org")
    Recipient.objects.filter(pk=recipients[90].pk).update(email="m090ü@example.net")
    mailing = mailing_factory(owner=owner, recipients=recipients)
    port = free_port()
    sink = SmtpSink("127.0.0.1", port).start()
    child_env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "CAMPAIGNS_CHUNK_SIZE": "400",
        "CAMPAIGNS_BATCH_SIZE": "50",
        "CAMPAIGNS_CONNECTIONS_PER_CHUNK": "2",
        "CAMPAIGNS_CLAIM_SECONDS": "4",
        "CAMPAIGNS_REQUEUE_AFTER_SECONDS": "2",
        "CAMPAIGNS_RECOVER_INTERVAL_SECONDS": "1",
        "CAMPAIGNS_DISPATCH_INTERVAL_SECONDS": "3600",
    }
    processes = [start_beat(tmp_path, extra_env=child_env)]
    try:
        processes.append(start_worker(tmp_path, extra_env=child_env))
        fire(mailing, owner)
        finished = wait_until(
            lambda: MailingRun.objects.filter(
                mailing=mailing, status__in=[RunStatus.COMPLETED, RunStatus.FAILED]
            ).exists(),
            timeout=90,
            interval=0.5,
        )
        run = MailingRun.objects.get(mailing=mailing)
        assert finished, (
            f"run is {run.status}: {run.sent} sent, {run.failed} failed, "
            f"{len(sink.received)} messages at the sink\n"
            f"{processes[-1].log_tail()}"
        )
        # several sweeps later, still nothing sent twice
        wait_until(lambda: False, timeout=4)
    finally:
        for process in processes:
            process.stop()
        sink.stop()

    run.refresh_from_db()
    failed = {d.email: d.smtp_reply for d in Delivery.objects.filter(status=DeliveryStatus.FAILED)}
    assert counts_at(sink) == {
        r.email: 1 for r in recipients if r.pk not in (recipients[61].pk, recipients[90].pk)
    }
    assert set(failed) == {"m061@example.net", "m090ü@example.net"}
    assert "the Subject header would contain a line break" in failed["m061@example.net"]
    assert failed["m090ü@example.net"].startswith("Not sent: UnicodeEncodeError")
    assert (run.status, run.sent, run.failed) == (RunStatus.COMPLETED, 118, 2)
    assert run.finished_at is not None and run.finished_at > timezone.now() - timedelta(minutes=5)
