"""What SMTP answers do to deliveries, recipients and runs — against a real server."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from lavka.campaigns import dispatch, services, tasks
from lavka.campaigns.dispatch.claiming import claim_batch
from lavka.campaigns.dispatch.outcomes import Outcome, OutcomeLog
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    MailingStatus,
    Recipient,
    RunStatus,
    SendingPolicy,
)
from lavka.campaigns.sending import SendResult
from lavka.campaigns.tests.helpers import send_everything_now
from lavka.core import sweeping, work
from lavka.core.work import WorkState


def fire(mailing, owner):
    mailing.first_send_at = timezone.now() + timedelta(minutes=5)
    mailing.save()
    services.schedule_mailing(actor=owner, mailing=mailing)
    mailing.refresh_from_db()
    return dispatch.dispatch_due_mailings(now=mailing.next_send_at + timedelta(seconds=1))[0]


@pytest.mark.django_db
def test_messages_reach_the_smtp_server_with_their_headers(ready_mailing, owner, scripted_smtp):
    run_id = fire(ready_mailing, owner)

    send_everything_now(run_id=run_id)

    received = scripted_smtp.messages_to("r3@example.net")
    delivery = Delivery.objects.get(email="r3@example.net")
    assert len(received) == 1
    assert received[0].message["Message-ID"] == f"<lavka-delivery-{delivery.pk}@127.0.0.1>"
    assert received[0].message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (delivery.status, delivery.smtp_code, delivery.attempts) == (DeliveryStatus.SENT, 250, 1)


@pytest.mark.django_db
def test_a_permanent_rejection_fails_without_retry_and_suppresses_the_address(
    ready_mailing, owner, scripted_smtp
):
    scripted_smtp.replies["r1@example.net"] = "550 5.1.1 No such user"
    run_id = fire(ready_mailing, owner)

    send_everything_now(run_id=run_id)

    delivery = Delivery.objects.get(email="r1@example.net")
    recipient = Recipient.objects.get(email="r1@example.net")
    run = MailingRun.objects.get(pk=run_id)
    assert (delivery.status, delivery.smtp_code, delivery.attempts) == (
        DeliveryStatus.FAILED,
        550,
        1,
    )
    assert "No such user" in delivery.smtp_reply
    assert recipient.suppressed_at is not None and "550" in recipient.suppression_reason
    assert (run.status, run.sent, run.failed) == (RunStatus.COMPLETED, 4, 1)
    assert len(scripted_smtp.received) == 4  # the connection stayed usable after the refusal


@pytest.mark.django_db
def test_a_suppressed_address_is_skipped_by_the_owners_next_mailing(
    ready_mailing, owner, audience, scripted_smtp, mailing_factory
):
    scripted_smtp.replies["r1@example.net"] = "550 5.1.1 No such user"
    send_everything_now(run_id=fire(ready_mailing, owner))
    next_mailing = mailing_factory(owner=owner, recipients=audience)

    send_everything_now(run_id=fire(next_mailing, owner))

    skipped = Delivery.objects.get(run__mailing=next_mailing, email="r1@example.net")
    assert (skipped.status, skipped.skip_reason) == (DeliveryStatus.SKIPPED, "suppressed")


@pytest.mark.django_db
def test_a_temporary_refusal_is_retried_later_then_succeeds(ready_mailing, owner, scripted_smtp):
    scripted_smtp.replies["r2@example.net"] = "451 4.7.1 Try again later"
    run_id = fire(ready_mailing, owner)
    dispatch.start_run(run_id=run_id)
    ids = list(Delivery.objects.filter(run_id=run_id).values_list("pk", flat=True))

    dispatch.send_chunk(run_id=run_id, first_id=min(ids), last_id=max(ids))
    waiting = Delivery.objects.get(email="r2@example.net")
    del scripted_smtp.replies["r2@example.net"]
    Delivery.objects.filter(pk=waiting.pk).update(not_before=timezone.now())
    dispatch.send_chunk(run_id=run_id, first_id=min(ids), last_id=max(ids))

    assert (waiting.status, waiting.smtp_code, waiting.attempts) == (DeliveryStatus.PENDING, 451, 1)
    assert waiting.not_before > timezone.now() + timedelta(seconds=20)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == (DeliveryStatus.SENT, 2)
    assert MailingRun.objects.get(pk=run_id).status == RunStatus.COMPLETED


@pytest.mark.django_db
def test_a_temporary_refusal_gives_up_after_the_last_attempt(
    ready_mailing, owner, scripted_smtp, settings
):
    settings.CAMPAIGNS_MAX_ATTEMPTS = 3
    scripted_smtp.replies["r2@example.net"] = "450 4.2.1 Mailbox busy"

    send_everything_now(run_id=fire(ready_mailing, owner))

    delivery = Delivery.objects.get(email="r2@example.net")
    assert (delivery.status, delivery.attempts, delivery.smtp_code) == (
        DeliveryStatus.FAILED,
        3,
        450,
    )
    assert Recipient.objects.get(email="r2@example.net").suppressed_at is None


@pytest.mark.django_db
def test_an_smtp_server_that_is_down_fails_the_run_with_the_reason(ready_mailing, owner, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    settings.CAMPAIGNS_MAX_ATTEMPTS = 2

    send_everything_now(run_id=fire(ready_mailing, owner))

    run = MailingRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert "Connection refused" in run.status_reason or "refused" in run.status_reason.lower()
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {2}


@pytest.mark.django_db
def test_many_failures_in_a_row_pause_the_run_and_the_mailing_with_the_reason(
    owner, recipient_factory, mailing_factory, scripted_smtp, settings
):
    settings.CAMPAIGNS_BATCH_SIZE = 2
    SendingPolicy.objects.create(owner=owner, pause_after_consecutive_failures=5)
    bad = [recipient_factory(owner=owner, email=f"gone{i}@example.net") for i in range(8)]
    for recipient in bad:
        scripted_smtp.replies[recipient.email] = "550 5.1.1 No such user"
    mailing = mailing_factory(owner=owner, recipients=bad)

    send_everything_now(run_id=fire(mailing, owner))

    run = MailingRun.objects.get()
    mailing.refresh_from_db()
    assert run.status == RunStatus.PAUSED
    assert "Paused after 6 failures in a row" in run.status_reason
    assert mailing.status == MailingStatus.PAUSED
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).exists()


def leave_to_a_dead_worker_on_its_last_attempt(model, pk, *, expired=True, begun=True):
    """As if a worker had claimed the row for its last attempt and died (a poison row:
    each attempt so far ended the same way) after it began it, or, not `begun`, while
    it was still on another row of its batch; with `expired` its lease ran out."""
    now = timezone.now()
    model.objects.filter(pk=pk).update(
        state=WorkState.CLAIMED,
        lease_owner="dead-worker",
        started_by="dead-worker" if begun else "",
        lease_expires_at=now + (timedelta(minutes=-5) if expired else timedelta(minutes=5)),
        queued_at=now - timedelta(minutes=10),
        attempts=model.max_attempts - 1,
    )


@pytest.mark.django_db
def test_a_delivery_whose_workers_all_died_is_given_up_unsent_and_its_run_still_finishes(
    ready_mailing, owner, scripted_smtp, monkeypatch, django_capture_on_commit_callbacks
):
    # given a run whose delivery to r2 a worker holds for its last attempt
    run_id = fire(ready_mailing, owner)
    dispatch.start_run(run_id=run_id)
    poison = Delivery.objects.get(run_id=run_id, email="r2@example.net")
    leave_to_a_dead_worker_on_its_last_attempt(Delivery, poison.pk, expired=False)
    ids = list(Delivery.objects.filter(run_id=run_id).values_list("pk", flat=True))

    # while its lease runs, the others are sent and the run waits for it
    dispatch.send_chunk(run_id=run_id, first_id=min(ids), last_id=max(ids))
    assert MailingRun.objects.get(pk=run_id).status == RunStatus.SENDING
    assert len(scripted_smtp.received) == 4

    # when that worker is gone for good (its lease ran out), the sweep queues it again
    leave_to_a_dead_worker_on_its_last_attempt(Delivery, poison.pk)
    chunks = []
    monkeypatch.setattr(tasks.send_chunk, "delay", lambda *args: chunks.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch.recover_stalled() == 1
    assert chunks == [(run_id, poison.pk, poison.pk)]

    # then the sending path gives it up instead of sending it a fifth time
    tasks.send_chunk(*chunks[0])
    poison.refresh_from_db()
    assert (poison.status, poison.state) == (DeliveryStatus.FAILED, WorkState.FAILED)
    assert poison.last_error == work.GIVEN_UP
    assert poison.smtp_reply == str(work.GIVEN_UP_NOTICE)
    assert scripted_smtp.messages_to("r2@example.net") == []
    sent = {mail for m in scripted_smtp.received for mail in m.envelope_to}
    assert sent == {"r0@example.net", "r1@example.net", "r3@example.net", "r4@example.net"}
    assert set(Delivery.objects.exclude(pk=poison.pk).values_list("status", flat=True)) == {
        DeliveryStatus.SENT
    }

    # and the sweeper finds the run finished, with the given-up delivery counted failed
    dispatch.recover_stalled()
    run = MailingRun.objects.get(pk=run_id)
    assert (run.status, run.total, run.sent, run.failed) == (RunStatus.COMPLETED, 5, 4, 1)
    assert run.finished_at is not None
    assert Mailing.objects.get(pk=ready_mailing.pk).status == MailingStatus.COMPLETED


@pytest.mark.django_db
def test_a_worker_dying_on_one_delivery_of_its_batch_costs_the_others_no_attempt(
    ready_mailing, owner, scripted_smtp
):
    # given a worker that claimed the whole run's batch and died sending r2
    run_id = fire(ready_mailing, owner)
    dispatch.start_run(run_id=run_id)
    deliveries = Delivery.objects.filter(run_id=run_id)
    for delivery in deliveries:
        leave_to_a_dead_worker_on_its_last_attempt(
            Delivery, delivery.pk, begun=delivery.email == "r2@example.net"
        )
    ids = sorted(deliveries.values_list("pk", flat=True))

    # when the batch is taken over
    dispatch.send_chunk(run_id=run_id, first_id=ids[0], last_id=ids[-1])

    # then only r2 is given up; the rows it never reached are sent on their last attempt
    statuses = dict(deliveries.values_list("email", "status"))
    assert statuses.pop("r2@example.net") == DeliveryStatus.FAILED
    assert set(statuses.values()) == {DeliveryStatus.SENT}
    assert scripted_smtp.messages_to("r2@example.net") == []
    assert len(scripted_smtp.received) == 4


@pytest.mark.django_db
def test_a_run_whose_preparing_killed_every_worker_fails_and_is_sent_once_retried(
    ready_mailing, owner, scripted_smtp
):
    # given a run that a worker took for its last attempt at preparing, and died on
    run_id = fire(ready_mailing, owner)
    leave_to_a_dead_worker_on_its_last_attempt(MailingRun, run_id)

    # when its task comes again, the run is given up: failed with the reason, nothing sent
    tasks.start_run(run_id)
    run = MailingRun.objects.get(pk=run_id)
    assert (run.status, run.state) == (RunStatus.FAILED, WorkState.FAILED)
    assert run.last_error == work.GIVEN_UP
    assert run.status_reason == str(work.GIVEN_UP_NOTICE)
    assert run.finished_at is not None and run.started_at is None
    assert not Delivery.objects.filter(run_id=run_id).exists()
    assert scripted_smtp.received == []
    assert Mailing.objects.get(pk=ready_mailing.pk).status == MailingStatus.COMPLETED

    # when staff retry it by hand, it prepares again
    assert sweeping.retry_manually(MailingRun, [run_id]) == 1
    run.refresh_from_db()
    assert (run.status, run.state, run.attempts) == (RunStatus.PREPARING, WorkState.PENDING, 0)
    assert (run.status_reason, run.finished_at) == ("", None)
    assert Mailing.objects.get(pk=ready_mailing.pk).status == MailingStatus.RUNNING

    # then it is prepared and sent to everyone, and the mailing completes with it
    send_everything_now(run_id=run_id)
    run.refresh_from_db()
    assert (run.status, run.total, run.sent, run.failed) == (RunStatus.COMPLETED, 5, 5, 0)
    assert len(scripted_smtp.received) == 5
    assert Mailing.objects.get(pk=ready_mailing.pk).status == MailingStatus.COMPLETED


@pytest.mark.django_db
def test_an_outcome_not_written_begins_no_next_delivery(ready_mailing, owner):
    # given a batch whose first delivery another worker took over while it was sent
    run_id = fire(ready_mailing, owner)
    dispatch.start_run(run_id=run_id)
    ids = sorted(Delivery.objects.filter(run_id=run_id).values_list("pk", flat=True))
    first, following = claim_batch(ids)[:2]
    assert work.begin(Delivery, first["pk"], lease_owner=first["lease_owner"])
    Delivery.objects.filter(pk=first["pk"]).update(lease_owner="other-worker")

    # when its outcome comes back
    log = OutcomeLog(MailingRun.objects.get(pk=run_id), lease_owner=first["lease_owner"])
    outcome = Outcome(first["pk"], first["recipient_id"], first["attempts"], SendResult(250, "OK"))
    recorded = log.record([outcome], begin=following["pk"])

    # then the batch stops, and the next delivery, never sent, is not marked begun (a
    # worker taking it over later would count an attempt it never had)
    assert not recorded
    assert Delivery.objects.get(pk=following["pk"]).started_by == ""
