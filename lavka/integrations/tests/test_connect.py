"""Connecting a system from the page, against the stand-ins: a token is checked by a
real call, refused with a reason, unique across owners, encrypted and shown masked."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection as db
from django.urls import reverse

from lavka.core.roles import Role
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ConnectionStatus,
    ReferenceItem,
    ReferenceKind,
    SyncSchedule,
    TradePointMapping,
)
from services.simulators.moedelo import testing as moedelo_testing
from services.simulators.mtskassa import testing as mtskassa_testing

pytestmark = pytest.mark.django_db

CONNECT_ACCOUNTING = reverse("integrations:connect_accounting")
CONNECT_POS = reverse("integrations:connect_point_of_sale")


def _connect(client: Any, url: str, system: str, token: str) -> Any:
    return client.post(url, {"system": system, "token": token})


def test_a_creator_connects_moedelo_with_a_working_token(client, creator, moedelo_token):
    client.force_login(creator)

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)

    connection = Connection.objects.get(owner=creator)
    assert response.status_code == 302
    assert response["Location"] == reverse("integrations:connection_detail", args=[connection.pk])
    assert connection.role == ConnectionRole.ACCOUNTING
    assert connection.account_name == "Firm One"
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.token == moedelo_token
    kinds = sorted(connection.reference_items.values_list("kind", flat=True))
    assert kinds == ["cash_desk", "cash_desk", "warehouse", "warehouse"]
    assert connection.reference_refreshed_at is not None


def test_a_token_is_stored_encrypted_and_shown_masked(client, creator, moedelo_token):
    client.force_login(creator)
    _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)
    connection = Connection.objects.get(owner=creator)

    with db.cursor() as cursor:
        cursor.execute("SELECT token FROM integrations_connection WHERE id = %s", [connection.pk])
        (stored,) = cursor.fetchone()
    pages = [
        client.get(reverse("integrations:overview")),
        client.get(reverse("integrations:connection_detail", args=[connection.pk])),
        client.get(CONNECT_ACCOUNTING),
    ]

    assert moedelo_token not in stored
    for page in pages:
        html = page.content.decode()
        assert moedelo_token not in html
    assert "••••" + moedelo_token[-4:] in pages[0].content.decode()


def test_a_creator_connects_mts_kassa_and_sees_its_trade_points(client, creator, mtskassa_token):
    client.force_login(creator)

    _connect(client, CONNECT_POS, "mtskassa", mtskassa_token)

    connection = Connection.objects.get(owner=creator, role=ConnectionRole.POINT_OF_SALE)
    names = list(
        connection.reference_items.filter(kind=ReferenceKind.TRADE_POINT).values_list(
            "name", flat=True
        )
    )
    page = client.get(reverse("integrations:overview")).content.decode()
    assert sorted(names) == ["Shop One point 1", "Shop One point 2"]
    assert "Shop One point 2" in page


def test_a_wrong_token_is_refused_with_the_reason_and_nothing_is_saved(client, creator, moedelo):
    client.force_login(creator)

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", "f" * 32)

    assert response.status_code == 200
    assert "MoeDelo refused this token: this is not a MoeDelo token" in response.content.decode()
    assert not Connection.objects.exists()


def test_a_revoked_token_is_refused_at_connect(client, creator, moedelo, moedelo_token):
    moedelo.set_revoked(moedelo_token, True)
    client.force_login(creator)

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)

    assert "or it has been revoked" in response.content.decode()
    assert not Connection.objects.exists()


def test_a_point_of_sale_token_in_the_accounting_form_is_named_as_such(
    client, creator, moedelo, mtskassa_token
):
    client.force_login(creator)
    _connect(client, CONNECT_POS, "mtskassa", mtskassa_token)

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", mtskassa_token)

    html = response.content.decode()
    assert "This is not a MoeDelo token: it is your MTS Kassa token." in html
    assert not Connection.objects.filter(role=ConnectionRole.ACCOUNTING).exists()


def test_an_accounting_token_in_the_register_form_is_refused(
    client, creator, moedelo_token, mtskassa
):
    client.force_login(creator)

    response = _connect(client, CONNECT_POS, "mtskassa", moedelo_token)

    assert "MTS Kassa refused this token: this is not a MTS Kassa token" in (
        response.content.decode()
    )
    assert not Connection.objects.exists()


def test_a_token_another_owner_connected_is_refused_without_saying_whose(
    client, creator, user_factory, moedelo_token
):
    first = user_factory(email="first@example.com", roles=[Role.CREATOR])
    client.force_login(first)
    _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)
    client.force_login(creator)

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)

    html = response.content.decode()
    assert "This token is already connected to another Lavka account." in html
    assert "first@example.com" not in html
    assert list(Connection.objects.values_list("owner", flat=True)) == [first.pk]


@pytest.mark.parametrize(
    "token",
    ["abc\ndef0123456789", "abc\x00def0123456789", "two words here", "токен-не-ascii"],
    ids=["line break", "NUL", "spaces", "not ASCII"],
)
def test_a_token_of_the_wrong_shape_is_refused_before_any_call(client, creator, moedelo, token):
    client.force_login(creator)
    before = moedelo.control_state()

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", token)

    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()
    assert moedelo.control_state() == before
    assert not Connection.objects.exists()


def test_a_ten_megabyte_token_is_refused(client, creator, moedelo):
    client.force_login(creator)

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", "a" * (10 * 1024 * 1024))

    assert response.status_code == 400
    assert not Connection.objects.exists()


def test_a_token_over_the_length_limit_is_a_field_error(client, creator, moedelo):
    client.force_login(creator)

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", "a" * 501)

    assert response.status_code == 200
    assert "at most 500 characters" in response.content.decode()
    assert not Connection.objects.exists()


def test_an_unreachable_system_is_a_clear_error(client, creator, settings):
    settings.LAVKA_MOEDELO_URL = "http://127.0.0.1:9"
    client.force_login(creator)

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", "a" * 32)

    assert "MoeDelo could not be reached or was busy; try again later." in (
        response.content.decode()
    )
    assert not Connection.objects.exists()


def test_an_unknown_system_is_refused(client, creator, moedelo_token):
    client.force_login(creator)

    response = _connect(client, CONNECT_ACCOUNTING, "mtskassa", moedelo_token)

    assert response.status_code == 200
    assert not Connection.objects.exists()


def test_a_token_of_another_account_is_refused_while_mappings_use_the_old_one(
    client, creator, moedelo, moedelo_token, mtskassa_token
):
    client.force_login(creator)
    _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)
    _connect(client, CONNECT_POS, "mtskassa", mtskassa_token)
    point = ReferenceItem.objects.filter(kind=ReferenceKind.TRADE_POINT).first()
    desk = ReferenceItem.objects.filter(kind=ReferenceKind.CASH_DESK).first()
    store = ReferenceItem.objects.filter(kind=ReferenceKind.WAREHOUSE).first()
    client.post(
        reverse("integrations:mapping_edit", args=[point.pk]),
        {"cash_desk": desk.pk, "warehouse": store.pk},
    )
    other_token, _ = moedelo_testing.new_account(moedelo, name="Firm Two")

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", other_token)

    assert "This token opens another account (Firm Two) than the one your mappings use" in (
        response.content.decode()
    )
    connection = Connection.objects.get(owner=creator, role=ConnectionRole.ACCOUNTING)
    assert connection.token == moedelo_token
    assert TradePointMapping.objects.count() == 1


def test_a_new_token_of_the_same_account_replaces_the_revoked_one(
    client, creator, moedelo, moedelo_token
):
    client.force_login(creator)
    _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)
    connection = Connection.objects.get(owner=creator)
    moedelo.set_revoked(moedelo_token, True)
    client.post(reverse("integrations:connection_refresh", args=[connection.pk]))
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.REVOKED
    moedelo.set_revoked(moedelo_token, False)  # the stand-in has one token per firm

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.status_reason == ""


def test_reconnecting_without_mappings_replaces_the_token(client, creator, moedelo, moedelo_token):
    client.force_login(creator)
    _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)
    connection = Connection.objects.get(owner=creator)
    other_token, _ = moedelo_testing.new_account(moedelo, stocks=1, cashiers=1, name="Firm Two")

    response = _connect(client, CONNECT_ACCOUNTING, "moedelo", other_token)

    assert response.status_code == 302
    replaced = Connection.objects.get(owner=creator)
    assert replaced.pk == connection.pk
    assert replaced.token == other_token
    assert replaced.account_name == "Firm Two"
    assert replaced.reference_items.count() == 2  # the new firm's only


def test_disconnecting_removes_the_connection_its_mappings_and_schedules(
    client, creator, moedelo_token, mtskassa_token
):
    client.force_login(creator)
    _connect(client, CONNECT_ACCOUNTING, "moedelo", moedelo_token)
    _connect(client, CONNECT_POS, "mtskassa", mtskassa_token)
    point = ReferenceItem.objects.filter(kind=ReferenceKind.TRADE_POINT).first()
    client.post(
        reverse("integrations:mapping_edit", args=[point.pk]),
        {
            "cash_desk": ReferenceItem.objects.filter(kind=ReferenceKind.CASH_DESK).first().pk,
            "warehouse": ReferenceItem.objects.filter(kind=ReferenceKind.WAREHOUSE).first().pk,
        },
    )
    accounting = Connection.objects.get(owner=creator, role=ConnectionRole.ACCOUNTING)
    assert SyncSchedule.objects.filter(owner=creator).count() == 2

    response = client.post(reverse("integrations:connection_disconnect", args=[accounting.pk]))

    assert response.status_code == 302
    assert list(Connection.objects.values_list("role", flat=True)) == ["point_of_sale"]
    assert not TradePointMapping.objects.exists()
    assert not SyncSchedule.objects.exists()


def test_mts_kassa_revoked_via_its_control_is_refused(client, creator, mtskassa, mtskassa_token):
    mtskassa_testing.control(mtskassa, "POST", "/revoke", {"token": mtskassa_token})
    client.force_login(creator)

    response = _connect(client, CONNECT_POS, "mtskassa", mtskassa_token)

    assert "MTS Kassa refused this token" in response.content.decode()
    assert not Connection.objects.exists()


def test_a_russian_creator_reads_the_refusal_in_russian(client, creator, moedelo):
    creator.language = "ru"
    creator.save(update_fields=["language"])
    client.force_login(creator)

    response = client.post(
        CONNECT_ACCOUNTING,
        {"system": "moedelo", "token": "f" * 32},
        HTTP_ACCEPT_LANGUAGE="ru",
    )

    assert "MoeDelo не принимает этот токен: это не токен MoeDelo" in response.content.decode()
