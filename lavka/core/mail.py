"""The embedded email backend: every outgoing message is stored, none is sent.

On a laptop there is no mail server; superusers read what Lavka would have sent at /outbox/,
including the exact MIME source, so templates and headers can be checked before an SMTP
server is configured with EMAIL_URL.

Also what every email work row (an order's, a donation's, a welcome email) does to send
its message once: `send_for`.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Sequence

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

from lavka.core import work


def _html_alternative(message: EmailMessage) -> str:
    if message.content_subtype == "html":
        return str(message.body)
    if isinstance(message, EmailMultiAlternatives):
        for alternative in message.alternatives:
            content, mimetype = alternative[0], alternative[1]
            if mimetype == "text/html":
                return str(content)
    return ""


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from lavka.core.models import OutboxMessage

        stored = 0
        with transaction.atomic():
            for message in email_messages:
                if not message.recipients():
                    continue
                mime = message.message()
                OutboxMessage.objects.create(
                    message_id=str(mime.get("Message-ID", "")),
                    from_email=str(message.from_email),
                    to=list(message.to),
                    cc=list(message.cc),
                    bcc=list(message.bcc),
                    subject=str(message.subject),
                    text_body="" if message.content_subtype == "html" else str(message.body),
                    html_body=_html_alternative(message),
                    headers={key: str(value) for key, value in mime.items()},
                    raw=mime.as_string(),
                )
                stored += 1
        return stored


def smtp_failure_is_permanent(error: Exception) -> bool:
    """A 5xx answer of the mail server will not change on a retry; a 4xx, a dropped
    connection or a timeout may."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def send_for(item: work.WorkItem, message: Callable[[], EmailMessage], *, what: str) -> bool:
    """Compose and send a claimed email row's message; True once the mail server took it
    (the caller then marks the row done). A refusal of the mail server is recorded on
    the row: a 5xx fails it at once, anything else is retried with backoff. Any other
    error is handled as `work.attempt` does (`what` names the row in the log)."""
    with work.attempt(item, what=what) as attempt:
        try:
            message().send()
        except (smtplib.SMTPException, OSError) as error:
            permanent = smtp_failure_is_permanent(error)
            work.record_failure(item, error=work.describe(error), permanent=permanent)
            return False
    return attempt.succeeded
