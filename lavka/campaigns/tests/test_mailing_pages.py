"""The mailing pages: access per role, the form and its bad input, actions, run logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from lavka.campaigns import dispatch, services
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    MailingStatus,
    Periodicity,
    RunStatus,
)
from lavka.campaigns.tests.factories import MessageFactory, RecipientFactory, RecipientListFactory
from lavka.campaigns.tests.helpers import send_everything_now

BERLIN = ZoneInfo("Europe/Berlin")


def local_input(moment: datetime, zone: ZoneInfo = BERLIN) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def shown(moment: datetime, zone: str) -> str:
    """How a page renders a time in `datetime="…"` for a viewer in `zone`."""
    return moment.astimezone(ZoneInfo(zone)).isoformat()


def form_data(owner, audience, **overrides):
    message = MessageFactory(owner=owner)
    data = {
        "name": "Spring news",
        "message": message.pk,
        "recipients": [r.pk for r in audience],
        "first_send_at": local_input(timezone.now() + timedelta(days=1)),
        "periodicity": Periodicity.DAILY,
        "cron_expression": "",
        "end_at": "",
        "then": "schedule",
    }
    data.update(overrides)
    return data


def a_run(mailing, *, deliveries=3, status=RunStatus.COMPLETED, when=None):
    run = MailingRun.objects.create(
        mailing=mailing,
        scheduled_for=when or timezone.now().replace(microsecond=0),
        status=status,
        total=deliveries,
        sent=deliveries,
    )
    recipients = RecipientFactory.create_batch(deliveries, owner=mailing.owner)
    Delivery.objects.bulk_create(
        Delivery(
            run=run,
            recipient=r,
            email=r.email,
            owner=mailing.owner,
            status=DeliveryStatus.SENT,
            attempts=1,
            smtp_code=250,
            smtp_reply="2.0.0 Ok: queued",
            sent_at=timezone.now(),
        )
        for r in recipients
    )
    return run


# --- access per role ----------------------------------------------------------------------

OWN_PAGES = ["/campaigns/", "/campaigns/mailings/", "/campaigns/mailings/new/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", OWN_PAGES)
def test_campaign_pages_send_anonymous_visitors_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["owner", "other_customer", "manager", "superuser"])
@pytest.mark.parametrize("path", OWN_PAGES)
def test_campaign_pages_open_for_every_signed_in_role(client, request, who, path):
    client.force_login(request.getfixturevalue(who))

    assert client.get(path).status_code == 200


MAILING_PAGES = ["detail", "edit", "delete", "run"]


def mailing_page(kind, mailing, run):
    return {
        "detail": f"/campaigns/mailings/{mailing.pk}/",
        "edit": f"/campaigns/mailings/{mailing.pk}/edit/",
        "delete": f"/campaigns/mailings/{mailing.pk}/delete/",
        "run": f"/campaigns/runs/{run.pk}/",
    }[kind]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", {"detail": 302, "edit": 302, "delete": 302, "run": 302}),
        ("owner", {"detail": 200, "edit": 200, "delete": 200, "run": 200}),
        ("other_customer", {"detail": 404, "edit": 404, "delete": 404, "run": 404}),
        ("manager", {"detail": 200, "edit": 404, "delete": 404, "run": 200}),
        ("superuser", {"detail": 200, "edit": 404, "delete": 404, "run": 200}),
    ],
)
@pytest.mark.parametrize("kind", MAILING_PAGES)
def test_direct_urls_of_a_mailing_per_role(client, request, ready_mailing, who, expected, kind):
    run = a_run(ready_mailing)
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))

    response = client.get(mailing_page(kind, ready_mailing, run))

    assert response.status_code == expected[kind]


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["schedule", "pause", "resume", "complete", "disable", "delete"])
@pytest.mark.parametrize("who", ["anonymous", "other_customer"])
def test_actions_on_another_owners_mailing_change_nothing(
    client, request, ready_mailing, owner, who, action
):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    if action == "resume":
        services.pause_mailing(actor=owner, mailing=ready_mailing)
    before = Mailing.objects.values("status", "next_send_at").get(pk=ready_mailing.pk)
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))

    response = client.post(f"/campaigns/mailings/{ready_mailing.pk}/{action}/")

    assert response.status_code == (302 if who == "anonymous" else 404)
    if who == "anonymous":
        assert response.url.startswith("/accounts/login/")
    assert Mailing.objects.values("status", "next_send_at").get(pk=ready_mailing.pk) == before


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["schedule", "pause", "resume", "complete"])
def test_actions_answer_only_to_post(client, owner, ready_mailing, action):
    client.force_login(owner)

    response = client.get(f"/campaigns/mailings/{ready_mailing.pk}/{action}/")

    assert response.status_code == 405


# --- the form -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_offers_only_own_active_messages_lists_and_recipients(
    client, owner, audience, other_customer
):
    own = MessageFactory(owner=owner, subject="Mine")
    MessageFactory(owner=owner, subject="Retired", is_active=False)
    MessageFactory(owner=other_customer, subject="Theirs")
    RecipientListFactory(owner=owner, name="Regulars")
    RecipientListFactory(owner=other_customer, name="Strangers")
    RecipientFactory(owner=other_customer, email="stranger@example.org")
    client.force_login(owner)

    response = client.get("/campaigns/mailings/new/")

    form = response.context["form"]
    assert list(form.fields["message"].queryset) == [own]
    assert [x.name for x in form.fields["lists"].queryset] == ["Regulars"]
    assert set(form.fields["recipients"].queryset) == set(audience)
    assert "Europe/Berlin" in response.content.decode()


@pytest.mark.django_db
def test_save_and_schedule_reads_the_time_in_the_owners_zone(client, owner, audience):
    client.force_login(owner)

    response = client.post(
        "/campaigns/mailings/new/",
        form_data(owner, audience, first_send_at="2031-01-15T09:00"),
        follow=True,
    )

    mailing = Mailing.objects.get()
    assert mailing.first_send_at == datetime(2031, 1, 15, 8, 0, tzinfo=UTC)
    assert mailing.time_zone == "Europe/Berlin"
    assert mailing.status == MailingStatus.SCHEDULED
    assert mailing.next_send_at == mailing.first_send_at
    assert set(mailing.recipients.all()) == set(audience)
    page = response.content.decode()
    assert "Scheduled. Next send:" in page
    assert f'datetime="{shown(mailing.next_send_at, "Europe/Berlin")}"' in page
    assert "Every day at 9 a.m., Europe/Berlin time" in page


@pytest.mark.django_db
def test_save_as_draft_keeps_a_draft_with_lists_as_audience(client, owner, audience):
    regulars = RecipientListFactory(owner=owner, name="Regulars")
    regulars.recipients.set(audience[:2])
    client.force_login(owner)

    client.post(
        "/campaigns/mailings/new/",
        form_data(owner, [], lists=[regulars.pk], then="draft", periodicity=Periodicity.WEEKLY),
    )

    mailing = Mailing.objects.get()
    assert mailing.status == MailingStatus.DRAFT
    assert mailing.next_send_at is None
    assert list(mailing.lists.all()) == [regulars]


def past_one_off(owner, audience):
    return {
        "periodicity": Periodicity.ONCE,
        "first_send_at": local_input(timezone.now() - timedelta(hours=2)),
    }


BAD_INPUT = {
    "one-off start in the past": (past_one_off, "first_send_at"),
    "end before start": (
        lambda o, a: {
            "first_send_at": "2031-01-15T09:00",
            "end_at": "2031-01-14T09:00",
        },
        "end_at",
    ),
    "invalid cron": (
        lambda o, a: {"periodicity": Periodicity.CRON, "cron_expression": "61 * * * *"},
        "cron_expression",
    ),
    "cron without an expression": (
        lambda o, a: {"periodicity": Periodicity.CRON, "cron_expression": ""},
        "cron_expression",
    ),
    "no recipients on schedule": (lambda o, a: {"recipients": []}, "recipients"),
    "an empty list on schedule": (
        lambda o, a: {"recipients": [], "lists": [RecipientListFactory(owner=o).pk]},
        "recipients",
    ),
    "another owner's message": (lambda o, a: {"message": MessageFactory().pk}, "message"),
    "another owner's recipient": (
        lambda o, a: {"recipients": [RecipientFactory().pk]},
        "recipients",
    ),
    "a deactivated message": (
        lambda o, a: {"message": MessageFactory(owner=o, is_active=False).pk},
        "message",
    ),
    "a local time skipped by daylight saving": (
        lambda o, a: {"first_send_at": "2031-03-30T02:30"},
        "first_send_at",
    ),
    "no name": (lambda o, a: {"name": ""}, "name"),
    "no first send": (lambda o, a: {"first_send_at": ""}, "first_send_at"),
    "an unknown periodicity": (lambda o, a: {"periodicity": "hourly"}, "periodicity"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_shown_at_its_field_and_creates_nothing(client, owner, audience, case):
    make, field = BAD_INPUT[case]
    data = form_data(owner, audience, **make(owner, audience))
    client.force_login(owner)

    response = client.post("/campaigns/mailings/new/", data)

    assert response.status_code == 400
    assert field in response.context["form"].errors, response.context["form"].errors
    assert f'id="id_{field}_errors"' in response.content.decode()
    assert not Mailing.objects.exists()


@pytest.mark.django_db
def test_a_one_off_in_the_past_may_be_saved_as_a_draft(client, owner, audience):
    client.force_login(owner)

    client.post(
        "/campaigns/mailings/new/",
        form_data(owner, audience, then="draft", **past_one_off(owner, audience)),
    )

    assert Mailing.objects.get().status == MailingStatus.DRAFT


@pytest.mark.django_db
def test_editing_an_active_mailing_reschedules_it_in_its_own_zone(client, owner, ready_mailing):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    client.force_login(owner)
    data = form_data(owner, list(ready_mailing.recipients.all()), first_send_at="2031-06-01T07:30")
    data["message"] = ready_mailing.message_id
    del data["then"]

    response = client.post(f"/campaigns/mailings/{ready_mailing.pk}/edit/", data, follow=True)

    ready_mailing.refresh_from_db()
    # the factory's mailing keeps its own zone (UTC) even though the owner is in Berlin
    assert ready_mailing.first_send_at == datetime(2031, 6, 1, 7, 30, tzinfo=UTC)
    assert ready_mailing.next_send_at == ready_mailing.first_send_at
    assert ready_mailing.status == MailingStatus.SCHEDULED
    assert "Saved. Next send:" in response.content.decode()


@pytest.mark.django_db
def test_bad_input_when_editing_leaves_the_mailing_as_it_was(client, owner, ready_mailing):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    before = Mailing.objects.values().get(pk=ready_mailing.pk)
    audience = list(ready_mailing.recipients.all())
    client.force_login(owner)
    data = form_data(
        owner,
        [],
        name="Renamed",
        periodicity=Periodicity.ONCE,
        first_send_at=local_input(timezone.now() - timedelta(days=1), ZoneInfo("UTC")),
    )

    response = client.post(f"/campaigns/mailings/{ready_mailing.pk}/edit/", data)

    assert response.status_code == 400
    assert "first_send_at" in response.context["form"].errors
    assert Mailing.objects.values().get(pk=ready_mailing.pk) == before
    assert set(Mailing.objects.get(pk=ready_mailing.pk).recipients.all()) == set(audience)


@pytest.mark.django_db
def test_the_edit_form_shows_the_saved_times_in_the_mailings_zone(client, owner, ready_mailing):
    ready_mailing.time_zone = "Asia/Tokyo"
    ready_mailing.first_send_at = datetime(2031, 1, 15, 0, 0, tzinfo=UTC)
    ready_mailing.save()
    client.force_login(owner)

    page = client.get(f"/campaigns/mailings/{ready_mailing.pk}/edit/").content.decode()

    assert 'value="2031-01-15T09:00"' in page
    assert "Asia/Tokyo" in page


@pytest.mark.django_db
def test_a_completed_mailing_cannot_be_edited(client, owner, ready_mailing):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    services.complete_mailing(actor=owner, mailing=ready_mailing)
    client.force_login(owner)

    response = client.get(f"/campaigns/mailings/{ready_mailing.pk}/edit/", follow=True)

    assert "A completed mailing cannot be edited." in response.content.decode()


# --- actions ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_schedule_pause_resume_show_the_next_send_time_each_time(client, owner, ready_mailing):
    ready_mailing.periodicity = Periodicity.DAILY
    ready_mailing.first_send_at = timezone.now().replace(microsecond=0) - timedelta(days=3)
    ready_mailing.save()
    client.force_login(owner)
    url = f"/campaigns/mailings/{ready_mailing.pk}/"

    scheduled = client.post(url + "schedule/", follow=True).content.decode()
    ready_mailing.refresh_from_db()
    first_next = ready_mailing.next_send_at
    paused = client.post(url + "pause/", follow=True).content.decode()
    resumed = client.post(url + "resume/", follow=True).content.decode()
    ready_mailing.refresh_from_db()

    assert first_next is not None and first_next > timezone.now()
    assert "Scheduled. Next send:" in scheduled
    assert f'datetime="{shown(first_next, "Europe/Berlin")}"' in scheduled
    assert 'data-testid="countdown"' in scheduled
    assert "Paused." in paused and "none while paused" in paused
    assert 'data-testid="countdown"' not in paused
    assert ready_mailing.status == MailingStatus.SCHEDULED
    assert "Resumed. Next send:" in resumed
    assert f'datetime="{shown(ready_mailing.next_send_at, "Europe/Berlin")}"' in resumed


@pytest.mark.django_db
def test_scheduling_without_recipients_is_refused_with_the_reason(client, owner, mailing_factory):
    mailing = mailing_factory(owner=owner)
    client.force_login(owner)

    response = client.post(f"/campaigns/mailings/{mailing.pk}/schedule/", follow=True)

    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.DRAFT
    assert "Add recipients or lists before scheduling." in response.content.decode()


@pytest.mark.django_db
def test_complete_is_final(client, owner, ready_mailing):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    client.force_login(owner)

    response = client.post(f"/campaigns/mailings/{ready_mailing.pk}/complete/", follow=True)
    again = client.post(f"/campaigns/mailings/{ready_mailing.pk}/resume/", follow=True)

    ready_mailing.refresh_from_db()
    assert ready_mailing.status == MailingStatus.COMPLETED
    assert ready_mailing.next_send_at is None
    assert "Completed." in response.content.decode()
    assert "Only a paused mailing can be resumed." in again.content.decode()
    assert 'data-testid="action-edit"' not in again.content.decode()


@pytest.mark.django_db
def test_delete_asks_first_then_deletes_with_the_runs(client, owner, ready_mailing):
    run = a_run(ready_mailing)
    client.force_login(owner)

    confirm = client.get(f"/campaigns/mailings/{ready_mailing.pk}/delete/")
    assert Mailing.objects.filter(pk=ready_mailing.pk).exists()
    response = client.post(f"/campaigns/mailings/{ready_mailing.pk}/delete/", follow=True)

    assert 'data-testid="confirm-delete"' in confirm.content.decode()
    assert not Mailing.objects.filter(pk=ready_mailing.pk).exists()
    assert not MailingRun.objects.filter(pk=run.pk).exists()
    assert "was deleted" in response.content.decode()


# --- detail, list, run log ----------------------------------------------------------------


@pytest.mark.django_db
def test_detail_shows_audience_schedule_countdown_totals_and_history(
    client, owner, ready_mailing, audience
):
    services.unsubscribe_recipient(recipient_id=audience[0].pk)
    ready_mailing.periodicity = Periodicity.WEEKLY
    ready_mailing.time_zone = "Europe/Berlin"
    ready_mailing.first_send_at = datetime(2031, 1, 13, 8, 0, tzinfo=UTC)  # Monday 09:00 Berlin
    ready_mailing.save()
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    a_run(ready_mailing, deliveries=2, when=timezone.now() - timedelta(days=7))
    MailingRun.objects.create(
        mailing=ready_mailing,
        scheduled_for=timezone.now() - timedelta(days=14),
        status=RunStatus.MISSED,
        status_reason="Lavka was down at the scheduled time.",
    )
    client.force_login(owner)

    response = client.get(f"/campaigns/mailings/{ready_mailing.pk}/")

    page = response.content.decode()
    assert "5 recipients" in page
    assert "4 can receive it now" in page
    assert "Every week on Monday at 9 a.m., Europe/Berlin time" in page
    countdown = response.context["countdown"]
    assert 0 < countdown.elapsed_seconds < countdown.total_seconds
    assert f'max="{countdown.total_seconds}" value="{countdown.elapsed_seconds}"' in page
    assert "mailing-countdown.js" in page
    assert response.context["totals"] == {"runs": 2, "sent": 2, "failed": 0, "skipped": 0}
    assert 'data-status="missed"' in page and "Lavka was down" in page


@pytest.mark.django_db
def test_detail_shows_why_a_mailing_paused_itself(client, owner, ready_mailing):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    Mailing.objects.filter(pk=ready_mailing.pk).update(
        status=MailingStatus.PAUSED,
        status_reason="Paused after 20 failures in a row. Last reply: 421 busy",
    )
    client.force_login(owner)

    page = client.get(f"/campaigns/mailings/{ready_mailing.pk}/").content.decode()

    assert "Paused after 20 failures in a row. Last reply: 421 busy" in page
    assert 'data-testid="action-resume"' in page


@pytest.mark.django_db
def test_next_send_is_shown_in_the_viewers_zone(client, owner, ready_mailing, user_factory):
    from lavka.core.roles import Role

    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    tokyo_manager = user_factory(time_zone="Asia/Tokyo", roles=[Role.MANAGER])
    client.force_login(tokyo_manager)

    page = client.get(f"/campaigns/mailings/{ready_mailing.pk}/").content.decode()

    assert f'datetime="{shown(ready_mailing.next_send_at, "Asia/Tokyo")}"' in page
    assert "+09:00" in shown(ready_mailing.next_send_at, "Asia/Tokyo")


@pytest.mark.django_db
def test_list_shows_own_mailings_filters_by_status_and_pages(
    client, owner, other_customer, mailing_factory
):
    mailing_factory.create_batch(27, owner=owner, status=MailingStatus.DRAFT)
    mailing_factory(owner=owner, name="Frozen one", status=MailingStatus.PAUSED)
    mailing_factory(owner=other_customer, name="Not mine")
    client.force_login(owner)

    first = client.get("/campaigns/mailings/")
    second = client.get("/campaigns/mailings/", {"page": 2})
    paused = client.get("/campaigns/mailings/", {"status": "paused"})

    assert first.context["page"].paginator.count == 28
    assert len(first.context["page"].object_list) == 25
    assert len(second.context["page"].object_list) == 3
    assert "Not mine" not in first.content.decode() + second.content.decode()
    assert [m.name for m in paused.context["page"].object_list] == ["Frozen one"]
    assert 'data-testid="mailing-owner"' not in first.content.decode()


@pytest.mark.django_db
def test_list_pagination_keeps_the_status_filter(client, owner, mailing_factory):
    mailing_factory.create_batch(26, owner=owner, status=MailingStatus.PAUSED)
    client.force_login(owner)

    page = client.get("/campaigns/mailings/", {"status": "paused"}).content.decode()

    assert "?status=paused&amp;page=2" in page


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_mailings(
    client, owner, mailing_factory, django_assert_max_num_queries
):
    mailing_factory.create_batch(25, owner=owner)
    client.force_login(owner)

    with django_assert_max_num_queries(7):
        response = client.get("/campaigns/mailings/")

    assert len(response.context["page"].object_list) == 25


@pytest.mark.django_db
def test_run_detail_shows_counts_and_the_delivery_log_filtered_and_paged(
    client, owner, ready_mailing
):
    run = a_run(ready_mailing, deliveries=55)
    Delivery.objects.filter(pk=Delivery.objects.filter(run=run).first().pk).update(
        status=DeliveryStatus.FAILED, smtp_code=550, smtp_reply="5.1.1 No such user"
    )
    client.force_login(owner)

    first = client.get(f"/campaigns/runs/{run.pk}/")
    second = client.get(f"/campaigns/runs/{run.pk}/", {"page": 2})
    failed = client.get(f"/campaigns/runs/{run.pk}/", {"status": "failed"})

    assert len(first.context["rows"]) == 50 and len(second.context["rows"]) == 5
    assert 'data-testid="run-sent">55<' in first.content.decode()
    failed_page = failed.content.decode()
    assert len(failed.context["rows"]) == 1
    assert "550 5.1.1 No such user" in failed_page
    assert "?status=failed&amp;page=" not in failed_page  # one page only
    email = failed.context["rows"][0]["delivery"].email
    assert email in failed_page


@pytest.mark.django_db
def test_run_detail_query_count_does_not_grow_with_deliveries(
    client, owner, ready_mailing, django_assert_max_num_queries
):
    run = a_run(ready_mailing, deliveries=50)
    client.force_login(owner)

    with django_assert_max_num_queries(9):
        response = client.get(f"/campaigns/runs/{run.pk}/")

    assert len(response.context["rows"]) == 50


@pytest.mark.django_db
def test_a_real_run_appears_in_the_history_and_its_log(client, owner, ready_mailing):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    ready_mailing.refresh_from_db()
    run_id = dispatch.dispatch_due_mailings(now=ready_mailing.next_send_at)[0]
    send_everything_now(run_id=run_id)
    client.force_login(owner)

    detail = client.get(f"/campaigns/mailings/{ready_mailing.pk}/").content.decode()
    log = client.get(f"/campaigns/runs/{run_id}/").content.decode()

    assert f'data-run="{run_id}" data-status="completed"' in detail
    assert log.count('data-status="sent"') == 5
    assert "r0@example.net" in log
