"""A 2,000-recipient run survives two `kill -9`s of its worker and reaches everyone.

Real worker processes and a real beat on the configured broker (the filesystem
transport on the embedded default, RabbitMQ in the services run), a real SMTP server
(aiosmtpd) recording every message. The Delivery table must agree with what arrived,
and a kill re-sends at most what was in flight: one message per SMTP connection of
each worker process.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone

from lavka.campaigns import dispatch, services
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    Recipient,
    RunStatus,
    SendingPolicy,
)
from lavka.campaigns.tests.factories import MessageFactory
from lavka.core.roles import Role
from lavka.core.tests.support import SmtpSink, free_port, start_beat, start_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]

RECIPIENTS = 2000
KILLS = (300, 1000)  # kill the worker once the sink has this many messages
WORKER_PROCESSES = 2
CONNECTIONS_PER_PROCESS = 4


def sink_port() -> int:
    if settings.EMAIL_URL.startswith("smtp"):
        return urlsplit(settings.EMAIL_URL).port or 25
    return free_port()


def test_run_survives_two_killed_workers_and_every_recipient_gets_the_message(
    transactional_db, user_factory, tmp_path
):

    from lavka.core.tests.support import purge_queues

    purge_queues()
    owner = user_factory(email="bulk@example.com", roles=[Role.CREATOR])
    SendingPolicy.objects.create(owner=owner, messages_per_minute=100_000)
    Recipient.objects.bulk_create(
        Recipient(owner=owner, email=f"bulk{i:04d}@example.net", full_name=f"Bulk {i}")
        for i in range(RECIPIENTS)
    )
    mailing = Mailing.objects.create(
        owner=owner,
        name="Bulk",
        message=MessageFactory(owner=owner),
        first_send_at=timezone.now() + timedelta(minutes=5),
        time_zone="UTC",
    )
    mailing.recipients.set(Recipient.objects.filter(owner=owner))
    services.schedule_mailing(actor=owner, mailing=mailing)

    port = sink_port()
    sink = SmtpSink("127.0.0.1", port).start()
    child_env = {
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "CAMPAIGNS_CHUNK_SIZE": "400",
        "CAMPAIGNS_CONNECTIONS_PER_CHUNK": str(CONNECTIONS_PER_PROCESS),
        "CAMPAIGNS_CLAIM_SECONDS": "8",
        "CAMPAIGNS_REQUEUE_AFTER_SECONDS": "6",
        "CAMPAIGNS_RECOVER_INTERVAL_SECONDS": "2",
        "CAMPAIGNS_DISPATCH_INTERVAL_SECONDS": "2",
    }
    processes = []
    try:
        processes.append(start_beat(tmp_path, extra_env=child_env))
        worker = start_worker(tmp_path, concurrency=WORKER_PROCESSES, extra_env=child_env)
        processes.append(worker)
        mailing.refresh_from_db()
        Mailing.objects.filter(pk=mailing.pk).update(next_send_at=timezone.now())

        for kill_after in KILLS:
            reached = wait_until(
                lambda n=kill_after: len(sink.received) >= n, timeout=120, interval=0.05
            )
            assert reached, worker.log_tail()
            worker.kill()
            worker = start_worker(tmp_path, concurrency=WORKER_PROCESSES, extra_env=child_env)
            processes.append(worker)

        done = wait_until(
            lambda: MailingRun.objects.filter(mailing=mailing, status=RunStatus.COMPLETED).exists(),
            timeout=240,
            interval=0.5,
        )
        assert done, (
            f"run did not complete: {MailingRun.objects.values('status', 'sent', 'total')}\n{worker.log_tail()}"
        )
    finally:
        for process in processes:
            process.stop()
        sink.stop()

    run = MailingRun.objects.get(mailing=mailing)
    deliveries = {d.email: d for d in Delivery.objects.filter(run=run)}
    received_ids: dict[str, set[str]] = defaultdict(set)
    received_count: dict[str, int] = defaultdict(int)
    for mail in sink.received:
        for address in mail.envelope_to:
            received_ids[address].add(str(mail.message["Message-ID"]))
            received_count[address] += 1

    assert (run.total, run.sent, run.failed) == (RECIPIENTS, RECIPIENTS, 0)
    assert set(received_ids) == set(deliveries), "every recipient, and only they, got the message"
    assert all(d.status == DeliveryStatus.SENT for d in deliveries.values())
    for email, delivery in deliveries.items():
        assert received_ids[email] == {f"<lavka-delivery-{delivery.pk}@127.0.0.1>"}, email
    duplicates = sum(count - 1 for count in received_count.values())
    in_flight_per_kill = WORKER_PROCESSES * CONNECTIONS_PER_PROCESS
    print(
        f"\nreliability: {RECIPIENTS} recipients, {len(sink.received)} messages received, "
        f"{duplicates} duplicates (each with its delivery's Message-ID), "
        f"at most {in_flight_per_kill} allowed per kill"
    )
    assert duplicates <= len(KILLS) * in_flight_per_kill, (
        "a kill re-sent more than was in flight on the worker's SMTP connections"
    )
    dispatch.finalize_run(run_id=run.pk)
