"""Who sees and changes what (the access matrix checks every route by role; these
check what the pages show)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lavka.core.roles import Role
from lavka.integrations.models import Connection, SyncSchedule
from lavka.integrations.tests.factories import mapping_of

pytestmark = pytest.mark.django_db


def test_a_manager_sees_every_owners_connection_masked_and_changes_nothing(
    client, creator, manager
):
    mapping = mapping_of(creator)
    connection = mapping.cash_desk.connection
    token = str(connection.token)
    client.force_login(manager)

    listing = client.get(reverse("integrations:overview"))
    detail = client.get(reverse("integrations:connection_detail", args=[connection.pk]))
    refresh = client.post(reverse("integrations:connection_refresh", args=[connection.pk]))
    disconnect = client.post(reverse("integrations:connection_disconnect", args=[connection.pk]))
    schedule = SyncSchedule.objects.filter(owner=creator).first()
    pause = client.post(reverse("integrations:schedule_pause", args=[schedule.pk]))

    html = listing.content.decode()
    assert creator.email in html
    assert "••••" + token[-4:] in html
    assert token not in html + detail.content.decode()
    assert 'data-testid="disconnect"' not in detail.content.decode()
    assert (refresh.status_code, disconnect.status_code, pause.status_code) == (403, 403, 403)
    assert Connection.objects.filter(pk=connection.pk).exists()
    schedule.refresh_from_db()
    assert not schedule.is_paused


def test_another_creator_gets_not_found_for_someone_elses_connection(client, creator, user_factory):
    mapping = mapping_of(creator)
    connection = mapping.cash_desk.connection
    other = user_factory(email="other-creator@example.com", roles=[Role.CREATOR])
    client.force_login(other)

    detail = client.get(reverse("integrations:connection_detail", args=[connection.pk]))
    disconnect = client.post(reverse("integrations:connection_disconnect", args=[connection.pk]))
    overview = client.get(reverse("integrations:overview"))

    assert (detail.status_code, disconnect.status_code) == (404, 404)
    assert Connection.objects.filter(pk=connection.pk).exists()
    assert connection.account_name not in overview.content.decode()


def test_a_customer_is_told_bookkeeping_is_for_creators(client, customer):
    client.force_login(customer)

    response = client.get(reverse("integrations:overview"))

    assert response.status_code == 403
    assert "templates" not in response.content.decode()
    assert "accounts/for_creators.html" in [t.name for t in response.templates]


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("integrations:overview"))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_the_menu_shows_bookkeeping_to_creators_and_managers_only(
    client, creator, customer, manager
):
    seen = {}
    for user in (creator, customer, manager):
        client.force_login(user)
        seen[user.email] = 'data-testid="nav-bookkeeping"' in client.get("/").content.decode()

    assert seen == {creator.email: True, customer.email: False, manager.email: True}


def _overview_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("integrations:overview")).status_code == 200
    return len(captured)


def test_the_overview_costs_the_same_queries_for_one_trade_point_or_many(
    client, creator, manager, user_factory
):
    mapping_of(creator)
    client.force_login(creator)
    client.get(reverse("integrations:overview"))  # sessions, permissions cached
    one = _overview_queries(client)
    for _ in range(4):
        mapping_of(creator)
    many = _overview_queries(client)
    client.force_login(manager)
    client.get(reverse("integrations:overview"))
    managers_one = _overview_queries(client)
    mapping_of(user_factory(email="third@example.com", roles=[Role.CREATOR]))
    managers_many = _overview_queries(client)

    assert many == one
    assert managers_many == managers_one
