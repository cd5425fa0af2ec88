"""Reference data on demand and daily, and a revoked token noticed on any call: the
connection is marked, the page says so, and the owner gets one email."""

from __future__ import annotations

import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from lavka.integrations import services
from lavka.integrations.models import (
    Connection,
    ConnectionStatus,
    ReferenceKind,
    RevokedTokenEmail,
)
from lavka.integrations.tests.factories import ConnectionFactory
from services.simulators.mtskassa import testing as mtskassa_testing

pytestmark = pytest.mark.django_db


def _connected(client: Any, creator: Any, token: str) -> Connection:
    client.force_login(creator)
    client.post(reverse("integrations:connect_accounting"), {"system": "moedelo", "token": token})
    return Connection.objects.get(owner=creator)


def _delete_stock(url: str, token: str, stock_id: int) -> None:
    request = urllib.request.Request(
        f"{url}/stock/api/v1/stock/{stock_id}", method="DELETE", headers={"md-api-key": token}
    )
    urllib.request.urlopen(request, timeout=10).close()


def test_refresh_marks_items_no_longer_listed_as_gone_and_brings_new_ones(
    client, creator, moedelo, moedelo_token
):
    connection = _connected(client, creator, moedelo_token)
    stock = connection.reference_items.get(kind=ReferenceKind.WAREHOUSE, is_main=False)
    _delete_stock(moedelo.url, moedelo_token, int(stock.external_id))
    moedelo.seed(moedelo_token, {"cashiers": [{"Name": "Касса 3"}]})  # noqa: RUF001

    response = client.post(reverse("integrations:connection_refresh", args=[connection.pk]))

    assert response.status_code == 302
    stock.refresh_from_db()
    assert stock.gone_at is not None
    assert connection.reference_items.filter(kind=ReferenceKind.CASH_DESK).count() == 3
    page = client.get(reverse("integrations:connection_detail", args=[connection.pk]))
    assert "no longer listed" in page.content.decode()


def test_a_revoked_token_marks_the_connection_and_queues_one_email(
    client, creator, moedelo, moedelo_token, django_capture_on_commit_callbacks
):
    connection = _connected(client, creator, moedelo_token)
    moedelo.set_revoked(moedelo_token, True)

    for _ in range(3):
        client.post(reverse("integrations:connection_refresh", args=[connection.pk]))

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.REVOKED
    assert "MoeDelo refused the token (HTTP 401)." in connection.status_reason
    (email,) = RevokedTokenEmail.objects.all()
    page = client.get(reverse("integrations:overview")).content.decode()
    assert "MoeDelo refused the token (HTTP 401)." in page
    assert "Paste a new token to sync again." in page

    assert services.send_revoked_token_email(email_id=email.pk)
    assert not services.send_revoked_token_email(email_id=email.pk)  # a duplicate task
    (message,) = mail.outbox
    assert message.to == [creator.email]
    assert "MoeDelo refused your token" in message.subject
    assert moedelo_token not in message.body


def test_a_revocation_after_a_reconnect_is_told_again(creator, moedelo, moedelo_token):
    connection = ConnectionFactory(owner=creator, token=moedelo_token)

    assert services.mark_revoked(connection=connection, reason="refused")
    assert not services.mark_revoked(connection=connection, reason="refused again")
    Connection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.ACTIVE)
    assert services.mark_revoked(connection=connection, reason="refused once more")

    assert RevokedTokenEmail.objects.filter(connection=connection).count() == 2


def test_a_revoked_register_token_is_noticed_on_refresh(client, creator, mtskassa, mtskassa_token):
    client.force_login(creator)
    client.post(
        reverse("integrations:connect_point_of_sale"),
        {"system": "mtskassa", "token": mtskassa_token},
    )
    connection = Connection.objects.get(owner=creator)
    mtskassa_testing.control(mtskassa, "POST", "/revoke", {"token": mtskassa_token})

    services.refresh_reference_data(connection=connection)

    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.REVOKED
    assert RevokedTokenEmail.objects.filter(connection=connection).count() == 1


def test_a_system_down_marks_the_connection_failing_and_a_later_refresh_heals_it(
    creator, moedelo, moedelo_token, settings
):
    connection = ConnectionFactory(owner=creator, token=moedelo_token)
    settings.LAVKA_MOEDELO_URL = "http://127.0.0.1:9"

    failed = services.refresh_reference_data(connection=connection)

    assert not failed
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.FAILING
    settings.LAVKA_MOEDELO_URL = moedelo.url
    assert services.refresh_reference_data(connection=connection)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.status_reason == ""


def test_a_malformed_answer_is_a_visible_failure(creator, moedelo, moedelo_token):
    connection = ConnectionFactory(owner=creator, token=moedelo_token)
    moedelo.add_faults([{"kind": "truncate", "path": "/stock/api/v1/stock", "count": 1}])

    result = services.refresh_reference_data(connection=connection)

    connection.refresh_from_db()
    assert not result
    assert connection.status == ConnectionStatus.FAILING
    assert connection.status_reason == result.error


def test_the_daily_refresh_queues_connections_not_refreshed_for_a_day(
    creator, user_factory, django_capture_on_commit_callbacks
):
    now = timezone.now()
    stale = ConnectionFactory(reference_refreshed_at=now - timedelta(days=1, minutes=1))
    never = ConnectionFactory()
    ConnectionFactory(reference_refreshed_at=now - timedelta(hours=2))

    with django_capture_on_commit_callbacks() as callbacks:
        queued = services.refresh_due_reference_data(now=now)

    assert queued == 2
    assert len(callbacks) == 1  # one publish of both, after the commit
    assert stale.pk != never.pk
