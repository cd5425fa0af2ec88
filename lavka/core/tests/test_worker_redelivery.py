"""A task whose worker is killed with -9 mid-way is redelivered to another worker.

acks_late + reject_on_worker_lost hold the message unacknowledged until the task ends;
RabbitMQ requeues it when the dead worker's connection drops. The filesystem transport
drops a message as soon as it is read, so this runs where the broker is RabbitMQ.
"""

from __future__ import annotations

import asyncio
import re
import threading
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail

from lavka.core.tests.support import SmtpSink, start_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]


class StallingSmtpSink(SmtpSink):
    """Records each message as it arrives, then holds the first sender until released."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host=host, port=port)
        self.first_arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if not self.first_arrived.is_set():
            self.first_arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.1)
        return reply


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("amqp"),
    reason="redelivery after kill -9 is exercised on RabbitMQ (CELERY_BROKER_URL=amqp://…)",
)
@pytest.mark.skipif(
    not settings.EMAIL_URL.startswith("smtp://127.0.0.1"),
    reason="needs EMAIL_URL=smtp://127.0.0.1:PORT so the test can hold the worker mid-send",
)
def test_task_of_a_killed_worker_is_redelivered_and_completed(client, transactional_db, tmp_path):

    from lavka.core.tests.support import purge_queues

    purge_queues()
    sink = StallingSmtpSink("127.0.0.1", urlsplit(settings.EMAIL_URL).port).start()
    first = start_worker(tmp_path)
    second = None
    try:
        client.post(
            "/accounts/signup/",
            {
                "email": "crash@example.com",
                "password1": "a-long-and-unusual-passphrase",
                "password2": "a-long-and-unusual-passphrase",
            },
        )
        key = re.search(r"/accounts/confirm-email/(\S+)/", mail.outbox[0].body).group(1)
        client.post(f"/accounts/confirm-email/{key}/")
        assert sink.first_arrived.wait(60), first.log_tail()

        first.kill()
        sink.release.set()
        second = start_worker(tmp_path)
        delivered = wait_until(lambda: len(sink.messages_to("crash@example.com")) >= 2, 60)

        assert delivered, second.log_tail()
        ids = {m.message["Message-ID"] for m in sink.messages_to("crash@example.com")}
        assert len(ids) == 1  # the resend is recognisably the same message
    finally:
        sink.release.set()
        first.stop()
        if second is not None:
            second.stop()
        sink.stop()
