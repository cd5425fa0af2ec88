"""What SMTP answers do to deliveries, recipients and runs — against a real server."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from lavka.campaigns import dispatch, services
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    MailingRun,
    MailingStatus,
    Recipient,
    RunStatus,
    SendingPolicy,
)
from lavka.campaigns.tests.helpers import send_everything_now


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
