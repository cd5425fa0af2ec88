"""The welcome email travels the real path: commit → broker → worker process → mail."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import pytest
from django.core import mail

from lavka.core.tests.support import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_welcome_email_arrives_through_a_real_worker(client, celery_worker_process, mail_sink):
    client.post(
        "/accounts/signup/",
        {
            "email": "fresh@example.com",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
    )
    key = re.search(r"/accounts/confirm-email/(\S+)/", mail.outbox[0].body).group(1)

    client.post(f"/accounts/confirm-email/{key}/")
    welcome = wait_until(
        lambda: [m for m in mail_sink("fresh@example.com") if "Welcome to Lavka" in m.subject],
        timeout=60,
    )

    assert welcome, f"no welcome email; worker log:\n{celery_worker_process.log_tail()}"
    assert len(welcome) == 1
    assert "account is ready" in welcome[0].text()
    assert welcome[0].message["Message-ID"].startswith("<lavka-welcome-")


def test_a_russian_sign_up_gets_a_russian_welcome_from_the_worker(
    client, celery_worker_process, mail_sink
):
    """The worker process has no request to take a language from: the saved one counts."""
    client.post(
        "/accounts/signup/",
        {
            "email": "ivan@example.com",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-long-and-unusual-passphrase",
        },
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    key = re.search(r"/accounts/confirm-email/(\S+)/", mail.outbox[0].body).group(1)

    client.post(f"/accounts/confirm-email/{key}/", HTTP_ACCEPT_LANGUAGE="ru")
    welcome = wait_until(lambda: mail_sink("ivan@example.com"), timeout=60)

    assert welcome, f"no welcome email; worker log:\n{celery_worker_process.log_tail()}"
    subjects = [str(make_header(decode_header(message.subject))) for message in welcome]
    assert subjects == ["[Lavka] Добро пожаловать в Lavka"]
    assert "учётная запись Lavka готова" in welcome[0].text()


def test_worker_heartbeat_makes_healthz_green(client, celery_worker_process):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert celery_worker_process.hostname in response.json()["checks"]["worker"]["detail"]
