"""The revoked-token email travels the real path: commit → broker → worker → mail."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lavka.core.tests.support import wait_until
from lavka.integrations.models import Connection, ConnectionStatus

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def test_the_owner_is_emailed_once_when_moedelo_refuses_the_token(
    client, creator, moedelo, moedelo_token, celery_worker_process, mail_sink
):
    client.force_login(creator)
    client.post(
        reverse("integrations:connect_accounting"), {"system": "moedelo", "token": moedelo_token}
    )
    connection = Connection.objects.get(owner=creator)
    moedelo.set_revoked(moedelo_token, True)

    for _ in range(2):
        client.post(reverse("integrations:connection_refresh", args=[connection.pk]))
    emails = wait_until(lambda: mail_sink(creator.email), timeout=60)

    assert emails, f"no email; worker log:\n{celery_worker_process.log_tail()}"
    assert len(emails) == 1
    assert "MoeDelo refused your token" in emails[0].subject
    assert moedelo_token not in emails[0].text()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.REVOKED
