from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from lavka.campaigns import dispatch, selectors, services
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    MailingStatus,
    Periodicity,
    RunStatus,
)
from lavka.campaigns.tests.helpers import send_everything_now, suppress_recipient
from lavka.core.work import WorkState


def schedule_due(mailing, owner, *, periodicity=Periodicity.ONCE, minutes_ago=1):
    mailing.periodicity = periodicity
    mailing.first_send_at = timezone.now() + timedelta(minutes=5)
    mailing.save()
    services.schedule_mailing(actor=owner, mailing=mailing)
    mailing.refresh_from_db()
    return mailing.next_send_at + timedelta(minutes=minutes_ago)


@pytest.mark.django_db
def test_a_due_mailing_fires_one_run_and_advances(ready_mailing, owner):
    now = schedule_due(ready_mailing, owner, periodicity=Periodicity.DAILY)

    first = dispatch.dispatch_due_mailings(now=now)
    second = dispatch.dispatch_due_mailings(now=now)

    ready_mailing.refresh_from_db()
    assert len(first) == 1 and second == []
    assert ready_mailing.status == MailingStatus.RUNNING
    assert ready_mailing.next_send_at == MailingRun.objects.get().scheduled_for + timedelta(days=1)


@pytest.mark.django_db
def test_a_second_firing_of_the_same_slot_sends_nothing(ready_mailing, owner):
    now = schedule_due(ready_mailing, owner)
    slot = ready_mailing.next_send_at
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    send_everything_now(run_id=run_id)
    # a second beat that read the mailing before the first one advanced it
    type(ready_mailing).objects.filter(pk=ready_mailing.pk).update(
        next_send_at=slot, status=MailingStatus.SCHEDULED
    )

    again = dispatch.dispatch_due_mailings(now=now)

    assert again == []
    assert MailingRun.objects.count() == 1
    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_starting_a_run_twice_creates_each_delivery_once(ready_mailing, owner):
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]

    dispatch.start_run(run_id=run_id)
    MailingRun.objects.filter(pk=run_id).update(status=RunStatus.PREPARING)
    dispatch.start_run(run_id=run_id)

    assert Delivery.objects.filter(run_id=run_id).count() == 5


@pytest.mark.django_db
def test_a_run_sends_each_recipient_one_personalised_email(ready_mailing, owner):
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]

    send_everything_now(run_id=run_id)

    run = MailingRun.objects.get(pk=run_id)
    ready_mailing.refresh_from_db()
    assert (run.status, run.total, run.sent, run.failed, run.skipped) == (
        RunStatus.COMPLETED,
        5,
        5,
        0,
        0,
    )
    assert ready_mailing.status == MailingStatus.COMPLETED
    assert sorted(m.to[0] for m in mail.outbox) == [f"r{i}@example.net" for i in range(5)]
    first = next(m for m in mail.outbox if m.to == ["r0@example.net"])
    delivery = Delivery.objects.get(email="r0@example.net")
    assert first.subject == "News for Reader 0"
    assert first.extra_headers["Message-ID"] == f"<lavka-delivery-{delivery.pk}@127.0.0.1>"
    assert first.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/campaigns/unsubscribe/" in first.extra_headers["List-Unsubscribe"]
    assert "Hello Reader 0" in first.alternatives[0][0]
    assert "Hello Reader 0" in first.body


@pytest.mark.django_db
def test_unsubscribed_suppressed_and_inactive_recipients_are_skipped_and_counted(
    ready_mailing, owner, audience
):
    services.unsubscribe_recipient(recipient_id=audience[0].pk)
    suppress_recipient(recipient_id=audience[1].pk, reason="550 no such user")
    services.set_recipient_active(actor=owner, recipient=audience[2], active=False)
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]

    send_everything_now(run_id=run_id)

    run = MailingRun.objects.get(pk=run_id)
    assert (run.sent, run.skipped) == (2, 3)
    assert set(
        Delivery.objects.filter(status=DeliveryStatus.SKIPPED).values_list("skip_reason", flat=True)
    ) == {
        "unsubscribed",
        "suppressed",
        "inactive",
    }
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_recipient_on_two_lists_and_picked_singly_gets_one_email(
    owner, audience, list_factory, mailing_factory
):
    first, second = list_factory(owner=owner), list_factory(owner=owner)
    first.recipients.set(audience)
    second.recipients.set(audience[:2])
    mailing = mailing_factory(owner=owner, lists=[first, second], recipients=[audience[0]])
    now = schedule_due(mailing, owner)

    send_everything_now(run_id=dispatch.dispatch_due_mailings(now=now)[0])

    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_a_firing_missed_while_down_is_sent_once_within_the_grace(ready_mailing, owner, settings):
    settings.CAMPAIGNS_MISSED_GRACE_SECONDS = 3600
    now = schedule_due(ready_mailing, owner, minutes_ago=30)

    fired = dispatch.dispatch_due_mailings(now=now)

    assert len(fired) == 1
    assert MailingRun.objects.get().status == RunStatus.PREPARING


@pytest.mark.django_db
def test_firings_missed_beyond_the_grace_are_shown_as_missed_and_never_sent(
    ready_mailing, owner, settings
):
    settings.CAMPAIGNS_MISSED_GRACE_SECONDS = 3600
    now = schedule_due(
        ready_mailing, owner, periodicity=Periodicity.DAILY, minutes_ago=3 * 24 * 60 + 30
    )

    fired = dispatch.dispatch_due_mailings(now=now)

    runs = list(MailingRun.objects.order_by("scheduled_for").values_list("status", flat=True))
    assert runs == [RunStatus.MISSED] * 3 + [RunStatus.PREPARING]
    assert len(fired) == 1
    ready_mailing.refresh_from_db()
    assert ready_mailing.next_send_at > now


@pytest.mark.django_db
def test_pausing_stops_a_run_in_progress_and_resuming_finishes_it(ready_mailing, owner, settings):
    settings.CAMPAIGNS_BATCH_SIZE = 2
    settings.CAMPAIGNS_CONNECTIONS_PER_CHUNK = 1
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    dispatch.start_run(run_id=run_id)

    services.pause_mailing(actor=owner, mailing=ready_mailing)
    ids = list(Delivery.objects.filter(run_id=run_id).values_list("pk", flat=True))
    dispatch.send_chunk(run_id=run_id, first_id=min(ids), last_id=max(ids))
    sent_while_paused = len(mail.outbox)
    ready_mailing.refresh_from_db()
    services.resume_mailing(actor=owner, mailing=ready_mailing)
    dispatch.send_chunk(run_id=run_id, first_id=min(ids), last_id=max(ids))

    assert sent_while_paused == 0
    assert len(mail.outbox) == 5
    assert MailingRun.objects.get(pk=run_id).status == RunStatus.COMPLETED


@pytest.mark.django_db
def test_the_sweeper_requeues_work_whose_claim_expired(ready_mailing, owner, settings):
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    dispatch.start_run(run_id=run_id)
    # a worker claimed everything and died
    Delivery.objects.filter(run_id=run_id).update(
        state=WorkState.CLAIMED,
        lease_owner="dead",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        queued_at=timezone.now() - timedelta(hours=1),
    )

    requeued = dispatch.recover_stalled()

    assert requeued == 5


@pytest.mark.django_db
def test_the_sweeper_leaves_live_claims_alone(ready_mailing, owner):
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    dispatch.start_run(run_id=run_id)
    Delivery.objects.filter(run_id=run_id).update(
        state=WorkState.CLAIMED,
        lease_owner="alive",
        lease_expires_at=timezone.now() + timedelta(seconds=60),
        queued_at=timezone.now() - timedelta(hours=1),
    )

    assert dispatch.recover_stalled() == 0


@pytest.mark.django_db
def test_dashboard_numbers_are_cached_and_refreshed_after_a_run(ready_mailing, owner):

    before = selectors.dashboard(owner_id=owner.pk)
    now = schedule_due(ready_mailing, owner)
    send_everything_now(run_id=dispatch.dispatch_due_mailings(now=now)[0])
    after = selectors.dashboard(owner_id=owner.pk)

    assert (before.sent_total, after.sent_total) == (0, 5)
    assert after.recipients_distinct == 5
    assert after.mailings_total == 1


@pytest.mark.django_db
def test_a_run_paused_before_it_was_prepared_is_prepared_when_resumed(ready_mailing, owner):
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    services.pause_mailing(actor=owner, mailing=ready_mailing)
    dispatch.start_run(run_id=run_id)  # the queued task finds the run paused
    ready_mailing.refresh_from_db()

    services.resume_mailing(actor=owner, mailing=ready_mailing)
    resumed = MailingRun.objects.get(pk=run_id).status
    dispatch.recover_stalled()  # a sweep now must not take it for a finished run
    dispatch.start_run(run_id=run_id)  # what the queued campaigns.start_run does

    run = MailingRun.objects.get(pk=run_id)
    assert resumed == RunStatus.PREPARING
    assert (run.status, run.state, run.total) == (RunStatus.SENDING, WorkState.DONE, 5)
    assert Delivery.objects.filter(run_id=run_id, state=WorkState.PENDING).count() == 5


@pytest.mark.django_db
def test_the_sweeper_prepares_a_run_whose_task_was_lost(
    ready_mailing, owner, django_capture_on_commit_callbacks
):
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    MailingRun.objects.filter(pk=run_id).update(queued_at=timezone.now() - timedelta(hours=1))

    with django_capture_on_commit_callbacks() as callbacks:
        requeued = dispatch.recover_stalled()

    assert (requeued, len(callbacks)) == (1, 1)
    assert dispatch.recover_stalled() == 0  # queued just now


@pytest.mark.django_db
def test_a_manual_retry_of_a_failed_delivery_resends_it_and_reopens_its_run(
    ready_mailing, owner, django_capture_on_commit_callbacks, monkeypatch
):
    from celery import current_app

    from lavka.core import sweeping

    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    send_everything_now(run_id=run_id)
    failed = Delivery.objects.get(email="r0@example.net")
    Delivery.objects.filter(pk=failed.pk).update(
        status=DeliveryStatus.FAILED, state=WorkState.FAILED, sent_at=None
    )
    dispatch.finalize_run(run_id=run_id)
    assert Mailing.objects.get(pk=ready_mailing.pk).status == MailingStatus.COMPLETED
    mail.outbox.clear()
    queued = []
    send_chunk = current_app.tasks["campaigns.send_chunk"]
    monkeypatch.setattr(send_chunk, "delay", lambda *args: queued.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        assert sweeping.retry_manually(Delivery, [failed.pk]) == 1
    reopened = MailingRun.objects.get(pk=run_id).status
    assert Mailing.objects.get(pk=ready_mailing.pk).status == MailingStatus.RUNNING
    for args in queued:
        dispatch.send_chunk(run_id=args[0], first_id=args[1], last_id=args[2])

    failed.refresh_from_db()
    run = MailingRun.objects.get(pk=run_id)
    assert (reopened, queued) == (RunStatus.SENDING, [(run_id, failed.pk, failed.pk)])
    assert (failed.status, failed.state) == (DeliveryStatus.SENT, WorkState.DONE)
    assert [m.to for m in mail.outbox] == [["r0@example.net"]]
    assert (run.status, run.sent, run.failed) == (RunStatus.COMPLETED, 5, 0)
    assert Mailing.objects.get(pk=ready_mailing.pk).status == MailingStatus.COMPLETED


@pytest.mark.django_db
def test_a_manual_retry_never_mails_a_recipient_suppressed_since(
    ready_mailing, owner, django_capture_on_commit_callbacks
):
    from lavka.core import sweeping

    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    send_everything_now(run_id=run_id)
    failed = Delivery.objects.get(email="r0@example.net")
    Delivery.objects.filter(pk=failed.pk).update(
        status=DeliveryStatus.FAILED, state=WorkState.FAILED, sent_at=None
    )
    suppress_recipient(recipient_id=failed.recipient_id, reason="550 no such user")
    dispatch.finalize_run(run_id=run_id)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        retried = sweeping.retry_manually(Delivery, [failed.pk])

    failed.refresh_from_db()
    assert retried == 0 and callbacks == []
    assert (failed.status, failed.skip_reason, failed.state) == (
        DeliveryStatus.SKIPPED,
        "suppressed",
        WorkState.DONE,
    )


@pytest.mark.django_db
def test_a_manual_retry_in_a_paused_mailing_waits_for_the_resume(
    ready_mailing, owner, django_capture_on_commit_callbacks
):
    from lavka.core import sweeping

    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    send_everything_now(run_id=run_id)
    failed = Delivery.objects.get(email="r0@example.net")
    Delivery.objects.filter(pk=failed.pk).update(
        status=DeliveryStatus.FAILED, state=WorkState.FAILED, sent_at=None
    )
    dispatch.finalize_run(run_id=run_id)
    services.pause_mailing(actor=owner, mailing=ready_mailing)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        sweeping.retry_manually(Delivery, [failed.pk])
    dispatch.recover_stalled()

    assert MailingRun.objects.get(pk=run_id).status == RunStatus.PAUSED
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_operator_page_masks_the_addresses_of_failed_deliveries(
    client, manager, ready_mailing, owner
):
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    send_everything_now(run_id=run_id)
    Delivery.objects.filter(email="r0@example.net").update(
        status=DeliveryStatus.FAILED,
        state=WorkState.FAILED,
        last_error="550 5.1.1 <r0@example.net>: no such user",
    )
    client.force_login(manager)

    page = client.get("/operations/work/").content.decode()

    assert "r•••@example.net" in page
    assert "r0@example.net" not in page


@pytest.mark.django_db
def test_deliveries_whose_rate_slot_went_stale_are_queued_again_at_once(
    ready_mailing, owner, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from celery import current_app

    settings.CAMPAIGNS_RATE_SLACK_SECONDS = 0  # every slot is stale before its send
    now = schedule_due(ready_mailing, owner)
    run_id = dispatch.dispatch_due_mailings(now=now)[0]
    dispatch.start_run(run_id=run_id)
    ids = list(Delivery.objects.filter(run_id=run_id).order_by("pk").values_list("pk", flat=True))
    queued = []
    send_chunk = current_app.tasks["campaigns.send_chunk"]
    monkeypatch.setattr(send_chunk, "delay", lambda *args: queued.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        dispatch.send_chunk(run_id=run_id, first_id=ids[0], last_id=ids[-1])

    pending = Delivery.objects.filter(run_id=run_id, status=DeliveryStatus.PENDING)
    assert mail.outbox == []
    assert queued == [(run_id, ids[0], ids[-1])]
    assert pending.count() == 5 and not pending.filter(queued_at__isnull=True).exists()
