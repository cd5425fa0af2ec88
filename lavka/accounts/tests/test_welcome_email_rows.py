"""The welcome email as a durable work row: created once, failures recorded, lost
messages swept up by the kernel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone

from lavka.accounts import services
from lavka.accounts.models import User, WelcomeEmail
from lavka.accounts.tasks import send_welcome_email
from lavka.core import sweeping
from lavka.core.tests.support import free_port
from lavka.core.work import WorkState


class ReplyingSmtpServer:
    """A real SMTP server on loopback that answers every message with `reply`."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:
        return self.reply


@pytest.fixture
def smtp_replying(settings):
    """Start an SMTP server answering with the given reply, and send mail to it."""
    started = []

    def start(reply: str) -> ReplyingSmtpServer:
        server = ReplyingSmtpServer(reply)
        server.controller.start()
        started.append(server)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        return server

    yield start
    for server in started:
        server.controller.stop()


@pytest.mark.django_db
def test_the_welcome_row_is_created_once_per_verification(
    customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as first:
        services.handle_email_verified(user=customer)
    with django_capture_on_commit_callbacks() as again:
        services.handle_email_verified(user=customer)

    rows = WelcomeEmail.objects.filter(user=customer)
    assert rows.count() == 1
    assert rows.get().state == WorkState.PENDING
    assert rows.get().queued_at is not None
    assert (len(first), len(again)) == (1, 0)


@pytest.mark.django_db
def test_verifying_a_second_address_queues_no_second_welcome(
    client, customer, django_capture_on_commit_callbacks
):
    from allauth.account.models import EmailConfirmationHMAC

    services.handle_email_verified(user=customer)
    second = EmailAddress.objects.create(user=customer, email="second@example.com")
    key = EmailConfirmationHMAC(second).key
    client.force_login(customer)

    with django_capture_on_commit_callbacks() as callbacks:
        client.post(f"/accounts/confirm-email/{key}/")

    second.refresh_from_db()
    assert second.verified
    assert WelcomeEmail.objects.filter(user=customer).count() == 1
    assert callbacks == []


@pytest.mark.django_db
def test_a_user_already_welcomed_gets_no_row(customer):
    User.objects.filter(pk=customer.pk).update(welcome_email_sent_at=timezone.now())
    customer.refresh_from_db()

    assert services.handle_email_verified(user=customer) is None
    assert not WelcomeEmail.objects.exists()


@pytest.mark.django_db
def test_a_permanent_smtp_refusal_fails_the_welcome_at_once(customer, smtp_replying):
    smtp_replying("550 5.1.1 Mailbox does not exist")
    welcome = services.handle_email_verified(user=customer)

    sent = send_welcome_email.apply(args=[welcome.pk]).get()

    welcome.refresh_from_db()
    customer.refresh_from_db()
    assert sent is False
    assert welcome.state == WorkState.FAILED
    assert welcome.attempts == 1
    assert "550" in welcome.last_error
    assert customer.welcome_email_sent_at is None
    assert [p.item.pk for p in sweeping.problems() if isinstance(p.item, WelcomeEmail)] == [
        welcome.pk
    ]


@pytest.mark.django_db
def test_a_temporary_smtp_refusal_is_retried_later(customer, smtp_replying):
    smtp_replying("451 4.3.0 Try again later")
    welcome = services.handle_email_verified(user=customer)
    before = timezone.now()

    sent = send_welcome_email.apply(args=[welcome.pk]).get()

    welcome.refresh_from_db()
    assert sent is False
    assert welcome.state == WorkState.PENDING
    assert welcome.attempts == 1
    assert welcome.not_before > before + timedelta(seconds=20)
    assert "451" in welcome.last_error
    assert welcome.queued_at is None  # the sweeper queues it when it falls due


@pytest.mark.django_db
def test_an_unreachable_mail_server_is_retried_then_failed_after_the_last_attempt(
    customer, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    welcome = services.handle_email_verified(user=customer)
    states = []

    for _attempt in range(WelcomeEmail.max_attempts):
        WelcomeEmail.objects.filter(pk=welcome.pk).update(not_before=None)
        send_welcome_email.apply(args=[welcome.pk])
        states.append(WelcomeEmail.objects.get(pk=welcome.pk).state)

    assert states == [WorkState.PENDING] * (WelcomeEmail.max_attempts - 1) + [WorkState.FAILED]
    assert WelcomeEmail.objects.get(pk=welcome.pk).attempts == WelcomeEmail.max_attempts


@pytest.mark.django_db
def test_a_failed_welcome_is_sent_after_a_manual_retry(customer, smtp_replying, settings):
    smtp_replying("550 5.7.1 Rejected")
    welcome = services.handle_email_verified(user=customer)
    send_welcome_email.apply(args=[welcome.pk])
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    assert sweeping.retry_manually(WelcomeEmail, [welcome.pk]) == 1
    sent = send_welcome_email.apply(args=[welcome.pk]).get()

    welcome.refresh_from_db()
    assert sent is True
    assert welcome.state == WorkState.DONE
    assert [m.to for m in mail.outbox] == [[customer.email]]


@pytest.mark.django_db
def test_a_lost_welcome_message_is_queued_again_by_the_kernels_sweeper(
    customer, django_capture_on_commit_callbacks
):
    # given a welcome row whose task message was lost
    welcome = services.handle_email_verified(user=customer)
    later = timezone.now() + timedelta(seconds=WelcomeEmail.requeue_after_seconds + 1)

    # when the sweeper runs, then it queues the task once
    with django_capture_on_commit_callbacks() as queued:
        assert sweeping.requeue_lost_work(now=later) >= 1
    assert len(queued) == 1
    welcome.refresh_from_db()
    assert welcome.queued_at == later

    # and once it was sent, the sweeper leaves it alone
    assert services.send_welcome_email(welcome_email_id=welcome.pk) is True
    with django_capture_on_commit_callbacks() as again:
        sweeping.requeue_lost_work(now=later + timedelta(hours=1))
    assert again == []
    assert [m.to for m in mail.outbox] == [[customer.email]]


@pytest.mark.django_db
def test_a_blocked_user_gets_no_welcome(customer, manager):
    welcome = services.handle_email_verified(user=customer)
    services.block_user(actor=manager, user=customer, reason="Spam")

    sent = services.send_welcome_email(welcome_email_id=welcome.pk)

    welcome.refresh_from_db()
    assert sent is False
    assert welcome.state == WorkState.DONE
    assert mail.outbox == []


@pytest.mark.django_db
def test_verification_through_allauth_writes_the_row(client):
    import re

    client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    key = re.search(r"/accounts/confirm-email/(\S+)/", mail.outbox[0].body).group(1)

    client.post(f"/accounts/confirm-email/{key}/")

    assert WelcomeEmail.objects.filter(user__email="new@example.com").count() == 1
