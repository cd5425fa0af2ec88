"""Answers of the systems that carry hostile strings: markup and NUL in names, one id
listed twice. Stored cleanly, shown escaped, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from lavka.core import work
from lavka.integrations import services
from lavka.integrations.adapters.base import Account, ReferenceItem
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ConnectionStatus,
    ReferenceKind,
    SyncJob,
    SyncSchedule,
)
from lavka.integrations.models import ReferenceItem as StoredItem
from lavka.integrations.sync import runs
from lavka.integrations.tests.factories import (
    ConnectionFactory,
    mapping_of,
    run_of,
    shift_sync_of,
)

pytestmark = pytest.mark.django_db

MARKUP = '<script>alert("x")</script><b>Firm</b>'


class _Hostile:
    """An accounting system whose answers carry what a careless or hostile one might."""

    label = "Hostile"
    account_name = MARKUP
    desks: list[ReferenceItem] = []
    stocks: list[ReferenceItem] = []

    def __init__(self, **_: Any) -> None:
        pass

    def account(self) -> Account:
        return Account(external_id="42", name=self.account_name)

    def cash_desks(self) -> list[ReferenceItem]:
        return self.desks

    def warehouses(self) -> list[ReferenceItem]:
        return self.stocks


@pytest.fixture
def hostile(monkeypatch: Any, settings: Any) -> type[_Hostile]:
    class Hostile(_Hostile):
        desks = [ReferenceItem(external_id="1", name=MARKUP, is_main=True)]
        stocks = [ReferenceItem(external_id="2", name="Склад\x00 1")]

    monkeypatch.setitem(services.REGISTRIES[ConnectionRole.ACCOUNTING], "moedelo", Hostile)
    settings.LAVKA_MOEDELO_URL = "http://127.0.0.1:9"
    return Hostile


def _connect(client: Any, creator: Any) -> Any:
    client.force_login(creator)
    return client.post(
        reverse("integrations:connect_accounting"),
        {"system": "moedelo", "token": "valid-token-0123456789"},
        follow=True,
    )


def test_markup_in_an_account_and_item_names_is_shown_escaped(client, creator, hostile):
    response = _connect(client, creator)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    connection = Connection.objects.get(owner=creator)
    sync = client.get(reverse("integrations:sync", args=[connection.pk])).content.decode()
    assert "<script>alert" not in sync


def test_nul_in_names_is_not_stored(client, creator, hostile):
    hostile.account_name = "Firm\x00 One"

    response = _connect(client, creator)

    assert response.status_code == 200
    connection = Connection.objects.get(owner=creator)
    assert "\x00" not in connection.account_name
    names = connection.reference_items.values_list("name", flat=True)
    assert not [name for name in names if "\x00" in name]


def test_an_id_listed_twice_is_stored_once(client, creator, hostile):
    hostile.desks = [
        ReferenceItem(external_id="1", name="Desk 1", is_main=True),
        ReferenceItem(external_id="1", name="Desk 1 again"),
    ]

    response = _connect(client, creator)

    assert response.status_code == 200
    connection = Connection.objects.get(owner=creator)
    assert connection.reference_items.filter(kind=ReferenceKind.CASH_DESK).count() == 1


@pytest.mark.parametrize(
    "external_id", ["9" * 150 + "a", "", "1\x002"], ids=["overlong", "blank", "NUL"]
)
def test_an_id_lavka_cannot_store_fails_the_refresh_visibly(creator, hostile, external_id):
    # Cut to 100 characters, two long ids would become one row (an IntegrityError).
    hostile.desks = [
        ReferenceItem(external_id=external_id, name="A"),
        ReferenceItem(external_id="9" * 150 + "b", name="B"),
    ]
    connection = ConnectionFactory(owner=creator)

    refresh = services.refresh_reference_data(connection=connection)

    assert "does not understand" in refresh.error
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.FAILING
    assert not connection.reference_items.exists()


def test_an_overlong_account_id_is_refused_at_connect(client, creator, hostile, monkeypatch):
    monkeypatch.setattr(
        hostile, "account", lambda self: Account(external_id="7" * 101, name="Firm")
    )

    response = _connect(client, creator)

    assert response.status_code == 200
    assert "does not understand" in response.content.decode()
    assert not Connection.objects.exists()


def test_markup_in_errors_and_names_is_escaped_on_the_sync_and_run_pages(client, creator):
    mapping = mapping_of(creator)
    StoredItem.objects.filter(pk=mapping.trade_point_id).update(name=MARKUP)
    schedule = SyncSchedule.objects.get(owner=creator, job=SyncJob.SALES)
    run = run_of(schedule, status="failed", last_error=MARKUP)
    shift_sync_of(mapping, state="attention", run=run, last_error=MARKUP, document_id="")
    client.force_login(creator)

    pages = [
        client.get(reverse("integrations:sync", args=[mapping.trade_point.connection_id])),
        client.get(reverse("integrations:run_detail", args=[run.pk])),
        client.get(reverse("integrations:overview")),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert "&lt;script&gt;" in html
        assert "<script>alert" not in html and "<b>Firm" not in html
    progress = client.get(reverse("integrations:run_progress", args=[run.pk]))
    assert progress.json()["last_error"] == MARKUP  # JSON, set as text by the page


@pytest.mark.parametrize("needs_attention", [False, True])
def test_a_refusal_carrying_nul_is_stored_without_it(creator, needs_attention):
    # MoeDelo's refusal text (its JSON may say "\u0000") goes into the shift's and the
    # run's last error; PostgreSQL refuses a NUL in text, so the failure itself failed.
    mapping = mapping_of(creator)
    run = run_of(SyncSchedule.objects.get(owner=creator, job=SyncJob.SALES), finished_at=None)
    shift = shift_sync_of(mapping, state="claimed", run=run, document_id="")
    error = "BadAnswer: MoeDelo refused retail report L1: Sum\x00<b>bad</b>"

    work.record_failure(shift, error=error, needs_attention=needs_attention)
    runs.note_error(run.pk, error)

    shift.refresh_from_db()
    run.refresh_from_db()
    assert shift.last_error == run.last_error == error.replace("\x00", "\ufffd")
