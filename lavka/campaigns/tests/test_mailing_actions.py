from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from lavka.campaigns import actions, dispatch, services
from lavka.campaigns.models import MailingRun, MailingStatus, Periodicity, RunStatus

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def at_berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.django_db
def test_scheduling_a_one_off_sets_its_send_time(ready_mailing, owner):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)

    ready_mailing.refresh_from_db()
    assert ready_mailing.status == MailingStatus.SCHEDULED
    assert ready_mailing.next_send_at == ready_mailing.first_send_at


@pytest.mark.django_db
def test_scheduling_a_daily_mailing_that_started_in_the_past_picks_the_next_slot(
    ready_mailing, owner, monkeypatch
):
    # A clock of its own, far from a DST change: on the real one, in the days after
    # Berlin's autumn change today's slot is an hour later in UTC and still to come.
    now = datetime(2026, 6, 10, 12, 0, 0, 123456, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    ready_mailing.periodicity = Periodicity.DAILY
    ready_mailing.time_zone = "Europe/Berlin"
    ready_mailing.first_send_at = (timezone.now() - timedelta(days=3, minutes=10)).replace(
        microsecond=0
    )
    ready_mailing.save()

    services.schedule_mailing(actor=owner, mailing=ready_mailing)

    ready_mailing.refresh_from_db()
    expected = ready_mailing.first_send_at + timedelta(days=4)  # today's slot passed 10 min ago
    assert abs(ready_mailing.next_send_at - expected) <= timedelta(
        hours=1
    )  # DST may shift by one hour
    assert ready_mailing.next_send_at > timezone.now()
    assert (
        ready_mailing.next_send_at.astimezone(BERLIN).time()
        == ready_mailing.first_send_at.astimezone(BERLIN).time()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"first_send_at": timezone.now() - timedelta(hours=2)}, "first_send_at"),
        ({"periodicity": Periodicity.CRON, "cron_expression": "not cron"}, "cron_expression"),
        ({"end_at": timezone.now()}, "end_at"),
    ],
    ids=["one-off-in-the-past", "invalid-cron", "end-before-start"],
)
def test_bad_schedules_are_refused_at_the_field(ready_mailing, owner, change, field):
    for name, value in change.items():
        setattr(ready_mailing, name, value)
    ready_mailing.save()

    with pytest.raises(ValidationError) as error:
        services.schedule_mailing(actor=owner, mailing=ready_mailing)

    ready_mailing.refresh_from_db()
    assert field in error.value.message_dict
    assert ready_mailing.status == MailingStatus.DRAFT
    assert ready_mailing.next_send_at is None


@pytest.mark.django_db
def test_a_mailing_without_recipients_cannot_be_scheduled(mailing_factory, owner):
    mailing = mailing_factory(owner=owner)

    with pytest.raises(ValidationError, match="Add recipients"):
        services.schedule_mailing(actor=owner, mailing=mailing)


@pytest.mark.django_db
def test_another_owner_cannot_schedule_it(ready_mailing, other_customer):
    with pytest.raises(PermissionDenied):
        actions.ScheduleMailing(other_customer, mailing=ready_mailing).execute()


@pytest.mark.django_db
def test_editing_an_active_mailing_reschedules_it(ready_mailing, owner):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    new_time = (timezone.now() + timedelta(days=2)).replace(microsecond=0)

    services.save_mailing(
        owner=owner,
        mailing=ready_mailing,
        name="Renamed",
        message=ready_mailing.message,
        first_send_at=new_time,
        periodicity=Periodicity.ONCE,
        recipients=ready_mailing.recipients.all(),
    )

    ready_mailing.refresh_from_db()
    assert ready_mailing.next_send_at == new_time
    assert ready_mailing.status == MailingStatus.SCHEDULED


@pytest.mark.django_db
def test_pause_then_resume_skips_slots_that_passed_while_paused(ready_mailing, owner):
    ready_mailing.periodicity = Periodicity.DAILY
    ready_mailing.first_send_at = timezone.now() - timedelta(days=10)
    ready_mailing.save()
    services.schedule_mailing(actor=owner, mailing=ready_mailing)

    services.pause_mailing(actor=owner, mailing=ready_mailing)
    ready_mailing.refresh_from_db()
    paused_next = ready_mailing.next_send_at
    services.resume_mailing(actor=owner, mailing=ready_mailing)

    ready_mailing.refresh_from_db()
    assert ready_mailing.status == MailingStatus.SCHEDULED
    assert ready_mailing.next_send_at >= timezone.now()
    assert ready_mailing.next_send_at - timezone.now() <= timedelta(days=1)
    assert paused_next is not None


@pytest.mark.django_db
def test_a_paused_mailing_is_not_dispatched(ready_mailing, owner):
    ready_mailing.first_send_at = timezone.now() + timedelta(seconds=30)
    ready_mailing.save()
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    services.pause_mailing(actor=owner, mailing=ready_mailing)

    fired = dispatch.dispatch_due_mailings(now=timezone.now() + timedelta(minutes=5))

    assert fired == []
    assert not MailingRun.objects.exists()


@pytest.mark.django_db
def test_complete_is_final(ready_mailing, owner):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)

    services.complete_mailing(actor=owner, mailing=ready_mailing)

    ready_mailing.refresh_from_db()
    assert ready_mailing.status == MailingStatus.COMPLETED
    assert ready_mailing.next_send_at is None
    with pytest.raises(ValidationError):
        services.resume_mailing(actor=owner, mailing=ready_mailing)
    with pytest.raises(ValidationError):
        services.save_mailing(
            owner=owner,
            mailing=ready_mailing,
            name="x",
            message=ready_mailing.message,
            first_send_at=timezone.now() + timedelta(days=1),
            periodicity=Periodicity.ONCE,
        )


@pytest.mark.django_db
def test_a_manager_may_pause_and_disable_any_mailing_but_the_owner_cannot_resume_it(
    ready_mailing, owner, manager
):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)

    actions.PauseMailing(manager, mailing=ready_mailing, disable=True).execute()

    with pytest.raises(ValidationError, match="manager disabled"):
        actions.ResumeMailing(owner, mailing=ready_mailing).execute()
    actions.ResumeMailing(manager, mailing=ready_mailing).execute()
    ready_mailing.refresh_from_db()
    assert ready_mailing.status == MailingStatus.SCHEDULED


@pytest.mark.django_db
def test_a_customer_cannot_pause_someone_elses_mailing(ready_mailing, owner, other_customer):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)

    with pytest.raises(PermissionDenied):
        actions.PauseMailing(other_customer, mailing=ready_mailing).execute()


@pytest.mark.django_db
def test_a_manager_cannot_edit_someone_elses_mailing(ready_mailing, manager):
    with pytest.raises(PermissionDenied):
        actions.SaveMailing(
            manager,
            mailing=ready_mailing,
            name="Mine now",
            message=ready_mailing.message,
            first_send_at=timezone.now() + timedelta(days=1),
            periodicity=Periodicity.ONCE,
        ).execute()


@pytest.mark.django_db
def test_daily_mailing_fires_at_nine_local_on_the_dst_change_day_once(ready_mailing, owner):
    ready_mailing.periodicity = Periodicity.DAILY
    ready_mailing.time_zone = "Europe/Berlin"
    ready_mailing.first_send_at = at_berlin(2026, 3, 28, 9, 0)
    ready_mailing.status = MailingStatus.SCHEDULED
    ready_mailing.next_send_at = ready_mailing.first_send_at
    ready_mailing.save()

    fired_times = []
    for minute in range(0, 3 * 24 * 60, 15):  # a dispatcher every 15 minutes for 3 days
        now = at_berlin(2026, 3, 28, 8, 0).astimezone(UTC) + timedelta(minutes=minute)
        fired_times += [
            MailingRun.objects.get(pk=pk).scheduled_for
            for pk in dispatch.dispatch_due_mailings(now=now)
        ]

    local_times = [t.astimezone(BERLIN) for t in fired_times]
    assert [(t.day, t.hour, t.minute) for t in local_times] == [(28, 9, 0), (29, 9, 0), (30, 9, 0)]
    assert MailingRun.objects.filter(status=RunStatus.MISSED).count() == 0
