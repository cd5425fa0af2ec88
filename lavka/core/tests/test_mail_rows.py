"""mail.send_for: how an email work row's message is sent once, on a test-only work
model (work_app.Chore): what the mail server and the composer do is recorded on the row."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage

from lavka.core import mail, work
from lavka.core.models import OutboxMessage
from lavka.core.tests.support import free_port
from lavka.core.tests.work_app.models import Chore
from lavka.core.work import WorkState

pytestmark = pytest.mark.django_db


def claimed() -> Chore:
    chore = Chore.objects.create(title="tell the customer")
    taken = work.claim_one(Chore.objects.filter(pk=chore.pk))
    assert taken is not None
    return taken


def note() -> EmailMessage:
    return EmailMessage("Your order", "It is on its way.", "shop@example.com", ["c@example.com"])


def test_a_sent_message_leaves_the_row_for_its_caller_to_finish(settings):
    settings.EMAIL_BACKEND = "lavka.core.mail.OutboxEmailBackend"
    chore = claimed()

    assert mail.send_for(chore, note, what="chore email")

    chore.refresh_from_db()
    assert chore.state == WorkState.CLAIMED and chore.attempts == 0
    assert OutboxMessage.objects.get().subject == "Your order"


def test_an_unreachable_mail_server_is_recorded_and_retried_later(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    chore = claimed()

    assert not mail.send_for(chore, note, what="chore email")

    chore.refresh_from_db()
    assert (chore.state, chore.attempts) == (WorkState.PENDING, 1)
    assert chore.last_error.startswith("ConnectionRefusedError")


def test_a_message_that_cannot_be_composed_is_recorded_on_the_row(settings):
    settings.EMAIL_BACKEND = "lavka.core.mail.OutboxEmailBackend"
    chore = claimed()

    def broken() -> EmailMessage:
        raise KeyError("no template for\r\nthis kind")

    assert not mail.send_for(chore, broken, what="chore email")

    chore.refresh_from_db()
    assert (chore.state, chore.attempts) == (WorkState.PENDING, 1)
    assert chore.last_error.startswith("KeyError:")
    assert not OutboxMessage.objects.exists()
