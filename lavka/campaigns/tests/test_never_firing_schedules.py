"""Issue 8, finding 5: a schedule that never fires is refused at every entrance, and old
rows holding one break no page and no dispatch.

`0 0 30 2 *` (February 30th) is a valid cron expression that never fires; it gave a 500
on the HTML form, on the API's create, update and schedule, and in the service.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from lavka.campaigns import actions, dispatch, scheduling, services
from lavka.campaigns.models import Mailing, MailingRun, MailingStatus, Periodicity, RunStatus
from lavka.campaigns.tests.factories import MailingFactory, MessageFactory, RecipientFactory

NEVER = "This schedule never fires."
NEVER_BEFORE_THE_END = "This schedule never fires before its end."
NEVER_FIRING = ["0 0 30 2 *", "0 0 31 4 *", "15 9 31 2,4,6,9,11 *"]
API = "/api/v1/campaigns"


def _post_json(client: Any, url: str, data: Any = None) -> Any:
    return client.post(url, data or {}, content_type="application/json")


def _old_row(owner: Any, cron: str, **fields: Any) -> Mailing:
    """A mailing written straight to the database, as data older than the check is."""
    mailing = MailingFactory(
        owner=owner, recipients=[RecipientFactory(owner=owner)], periodicity=Periodicity.CRON
    )
    Mailing.objects.filter(pk=mailing.pk).update(cron_expression=cron, **fields)
    mailing.refresh_from_db()
    return mailing


@pytest.fixture
def owner_client(client: Any, owner: Any) -> Any:
    client.force_login(owner)
    return client


# --- the schedule itself -----------------------------------------------------------------


@pytest.mark.parametrize("cron", NEVER_FIRING)
def test_a_cron_that_never_fires_has_no_next_occurrence(cron):
    found = scheduling.next_occurrence(
        periodicity=Periodicity.CRON,
        first_send_at=datetime(2030, 1, 1, tzinfo=UTC),
        time_zone="Europe/Berlin",
        after=datetime(2030, 1, 1, tzinfo=UTC),
        cron_expression=cron,
    )

    assert found is None


def test_a_rare_cron_fires_even_across_2100_which_is_no_leap_year():
    found = scheduling.next_occurrence(
        periodicity=Periodicity.CRON,
        first_send_at=datetime(2097, 3, 1, tzinfo=UTC),
        time_zone="UTC",
        after=datetime(2097, 3, 1, tzinfo=UTC),
        cron_expression="0 0 29 2 *",
    )

    assert found == datetime(2104, 2, 29, tzinfo=UTC)


def test_a_cron_that_falls_only_into_a_daylight_saving_gap_fires_after_it():
    # Berlin's clocks go from 02:00 to 03:00 on 30 March 2031: 02:30 moves to 03:30.
    found = scheduling.next_occurrence(
        periodicity=Periodicity.CRON,
        first_send_at=datetime(2031, 3, 1, tzinfo=UTC),
        time_zone="Europe/Berlin",
        after=datetime(2031, 3, 1, tzinfo=UTC),
        cron_expression="30 2 30 3 *",
    )

    assert found == datetime(2031, 3, 30, 1, 30, tzinfo=UTC)  # 03:30 CEST


# --- the service and the actions ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("cron", NEVER_FIRING)
def test_saving_a_never_firing_cron_is_refused_at_its_field(owner, cron):
    with pytest.raises(ValidationError) as error:
        services.save_mailing(
            owner=owner,
            name="Never",
            message=MessageFactory(owner=owner),
            first_send_at=timezone.now() + timedelta(days=1),
            periodicity=Periodicity.CRON,
            cron_expression=cron,
        )

    assert error.value.message_dict == {"cron_expression": [NEVER]}
    assert not Mailing.objects.exists()


@pytest.mark.django_db
def test_a_cron_whose_only_firings_fall_after_the_end_is_refused_at_the_end(owner):
    start = datetime(2031, 3, 1, tzinfo=UTC)  # next February 29th: 2032

    with pytest.raises(ValidationError) as error:
        services.save_mailing(
            owner=owner,
            name="Leap day",
            message=MessageFactory(owner=owner),
            first_send_at=start,
            periodicity=Periodicity.CRON,
            cron_expression="0 9 29 2 *",
            end_at=datetime(2032, 1, 1, tzinfo=UTC),
        )

    assert error.value.message_dict == {"end_at": [NEVER_BEFORE_THE_END]}
    assert not Mailing.objects.exists()


@pytest.mark.django_db
def test_scheduling_an_old_never_firing_draft_is_refused(owner):
    mailing = _old_row(owner, "0 0 30 2 *")

    with pytest.raises(ValidationError) as error:
        actions.ScheduleMailing(owner, mailing=mailing).execute()

    assert error.value.message_dict == {"cron_expression": [NEVER]}
    mailing.refresh_from_db()
    assert (mailing.status, mailing.next_send_at) == (MailingStatus.DRAFT, None)


@pytest.mark.django_db
def test_an_active_mailing_edited_to_end_in_the_past_is_refused(owner):
    mailing = MailingFactory(
        owner=owner,
        recipients=[RecipientFactory(owner=owner)],
        periodicity=Periodicity.DAILY,
        first_send_at=timezone.now() - timedelta(days=10),
    )
    services.schedule_mailing(actor=owner, mailing=mailing)
    scheduled_for = mailing.next_send_at

    with pytest.raises(ValidationError, match="The schedule has no future send time"):
        services.save_mailing(
            owner=owner,
            mailing=mailing,
            name=mailing.name,
            message=mailing.message,
            first_send_at=mailing.first_send_at,
            periodicity=Periodicity.DAILY,
            end_at=timezone.now() - timedelta(days=1),
        )

    mailing.refresh_from_db()
    assert (mailing.status, mailing.end_at) == (MailingStatus.SCHEDULED, None)
    assert mailing.next_send_at == scheduled_for


@pytest.mark.django_db
def test_the_refusal_is_in_russian_for_a_russian_user(owner):
    with translation.override("ru"), pytest.raises(ValidationError) as error:
        services.save_mailing(
            owner=owner,
            name="Never",
            message=MessageFactory(owner=owner),
            first_send_at=timezone.now() + timedelta(days=1),
            periodicity=Periodicity.CRON,
            cron_expression="0 0 30 2 *",
        )

    assert error.value.message_dict == {"cron_expression": ["Это расписание никогда не сработает."]}


# --- the HTML form and buttons -----------------------------------------------------------


def _form(owner: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Spring news",
        "message": MessageFactory(owner=owner).pk,
        "recipients": [RecipientFactory(owner=owner).pk],
        "first_send_at": "2031-01-15T09:00",
        "periodicity": Periodicity.CRON,
        "cron_expression": "0 0 30 2 *",
        "end_at": "",
        "then": "schedule",
    }
    return {**data, **overrides}


@pytest.mark.django_db
@pytest.mark.parametrize("then", ["schedule", "draft"])
def test_the_form_refuses_a_never_firing_cron_at_its_field(owner_client, owner, then):
    response = owner_client.post("/campaigns/mailings/new/", _form(owner, then=then))

    assert response.status_code == 400
    assert response.context["form"].errors == {"cron_expression": [NEVER]}
    assert NEVER in response.content.decode()
    assert not Mailing.objects.exists()


@pytest.mark.django_db
def test_the_form_refuses_to_change_an_active_mailing_to_a_never_firing_cron(owner_client, owner):
    mailing = MailingFactory(owner=owner, recipients=[RecipientFactory(owner=owner)])
    services.schedule_mailing(actor=owner, mailing=mailing)

    response = owner_client.post(
        f"/campaigns/mailings/{mailing.pk}/edit/", _form(owner, cron_expression="0 0 31 4 *")
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"cron_expression": [NEVER]}
    mailing.refresh_from_db()
    assert (mailing.periodicity, mailing.status) == (Periodicity.ONCE, MailingStatus.SCHEDULED)


@pytest.mark.django_db
def test_the_schedule_button_on_an_old_never_firing_draft_says_why(owner_client, owner):
    mailing = _old_row(owner, "0 0 30 2 *")

    response = owner_client.post(f"/campaigns/mailings/{mailing.pk}/schedule/", follow=True)

    assert response.status_code == 200
    assert NEVER in response.content.decode()
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.DRAFT


# --- the API -----------------------------------------------------------------------------


def _payload(owner: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Spring news",
        "message": MessageFactory(owner=owner).pk,
        "recipients": [RecipientFactory(owner=owner).pk],
        "first_send_at": "2035-03-10T09:00:00+01:00",
        "periodicity": "cron",
        "cron_expression": "0 0 30 2 *",
        **overrides,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("cron", NEVER_FIRING)
def test_the_api_refuses_to_create_a_never_firing_mailing(owner_client, owner, cron):
    response = _post_json(owner_client, f"{API}/mailings/", _payload(owner, cron_expression=cron))

    assert response.status_code == 400
    assert response.json()["cron_expression"] == [NEVER]
    assert not Mailing.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["patch", "put"])
def test_the_api_refuses_to_change_a_scheduled_mailing_to_a_never_firing_cron(
    owner_client, owner, method
):
    mailing = MailingFactory(owner=owner, recipients=[RecipientFactory(owner=owner)])
    services.schedule_mailing(actor=owner, mailing=mailing)
    body = (
        _payload(owner)
        if method == "put"
        else {"periodicity": "cron", "cron_expression": "0 0 30 2 *"}
    )

    response = getattr(owner_client, method)(
        f"{API}/mailings/{mailing.pk}/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["cron_expression"] == [NEVER]
    mailing.refresh_from_db()
    assert (mailing.periodicity, mailing.status) == (Periodicity.ONCE, MailingStatus.SCHEDULED)


@pytest.mark.django_db
def test_the_api_refuses_to_schedule_an_old_never_firing_draft(owner_client, owner):
    mailing = _old_row(owner, "0 0 31 4 *")

    response = _post_json(owner_client, f"{API}/mailings/{mailing.pk}/schedule/")

    assert response.status_code == 400
    assert response.json()["cron_expression"] == [NEVER]
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.DRAFT


@pytest.mark.django_db
def test_the_api_accepts_a_cron_that_fires_only_rarely(owner_client, owner):
    response = _post_json(
        owner_client,
        f"{API}/mailings/",
        _payload(owner, first_send_at="2097-03-01T00:00:00Z", cron_expression="0 0 29 2 *"),
    )

    assert response.status_code == 201, response.json()


# --- old rows: pages and the dispatch loop -----------------------------------------------


@pytest.mark.django_db
def test_an_old_active_never_firing_mailing_fires_its_stored_slot_then_completes(owner):
    due = timezone.now().replace(microsecond=0) - timedelta(seconds=5)
    mailing = _old_row(owner, "0 0 30 2 *", status=MailingStatus.SCHEDULED, next_send_at=due)

    fired = dispatch.dispatch_due_mailings()

    assert len(fired) == 1
    mailing.refresh_from_db()
    assert mailing.next_send_at is None
    assert MailingRun.objects.get(pk=fired[0]).scheduled_for == due
    assert dispatch.dispatch_due_mailings() == []


@pytest.mark.django_db
def test_an_old_never_firing_mailing_shows_its_pages(owner_client, owner):
    mailing = _old_row(
        owner, "0 0 30 2 *", status=MailingStatus.SCHEDULED, next_send_at=timezone.now()
    )

    assert owner_client.get(f"/campaigns/mailings/{mailing.pk}/").status_code == 200
    assert owner_client.get(f"/campaigns/mailings/{mailing.pk}/edit/").status_code == 200
    assert owner_client.get("/campaigns/mailings/").status_code == 200
    assert owner_client.get(f"{API}/mailings/{mailing.pk}/").status_code == 200


@pytest.mark.django_db
def test_resuming_an_old_never_firing_mailing_completes_it(owner_client, owner):
    mailing = _old_row(owner, "0 0 30 2 *", status=MailingStatus.PAUSED)

    response = _post_json(owner_client, f"{API}/mailings/{mailing.pk}/resume/")

    assert response.status_code == 200
    mailing.refresh_from_db()
    assert (mailing.status, mailing.next_send_at) == (MailingStatus.COMPLETED, None)
    assert not MailingRun.objects.exclude(status=RunStatus.MISSED).exists()


def test_a_cron_asked_from_inside_the_repeated_autumn_hour_fires_after_it():
    # Berlin's 02:00-03:00 happens twice on 26 October 2031; firings take the first.
    after = datetime(2031, 10, 26, 1, 30, tzinfo=UTC)  # 02:30 the second time (CET)

    found = scheduling.next_occurrence(
        periodicity=Periodicity.CRON,
        first_send_at=datetime(2031, 10, 1, tzinfo=UTC),
        time_zone="Europe/Berlin",
        after=after,
        cron_expression="* 2 * * *",
    )

    assert found == datetime(2031, 10, 27, 1, 0, tzinfo=UTC)  # the next day, 02:00 CET
