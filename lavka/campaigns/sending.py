"""Putting one delivery's email on the wire, with the server's reply kept.

Django's SMTP backend hides per-message replies, and campaigns need them: a 4xx is
retried later, a 5xx suppresses the address. So with an SMTP EMAIL_URL we speak smtplib
over one persistent connection per sender; otherwise (the outbox, the console) the
configured Django backend takes each message and counts as a 250.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend


@dataclass(frozen=True)
class SendResult:
    code: int
    reply: str
    not_sent: bool = False
    """Lavka could not build or hand over this one message (bad data in its row, an
    error in the mail library): it fails now, without a retry, and the address is
    not blamed."""

    @property
    def ok(self) -> bool:
        return not self.not_sent and 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        """The server refused the address for good (a 5xx): retrying will not help."""
        return not self.not_sent and 500 <= self.code < 600

    @classmethod
    def refused_by_lavka(cls, reason: str) -> SendResult:
        return cls(0, reason[:490], not_sent=True)


class ConnectionFailed(Exception):
    """The server could not be reached or dropped us: everything in flight is retried."""


class Sender(Protocol):
    def send(self, message: EmailMessage) -> SendResult: ...

    def close(self) -> None: ...


def _reply_text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text[:490]


class SmtpSender:
    """One persistent SMTP connection, opened lazily and reopened after a drop."""

    def __init__(self) -> None:
        self.host = settings.EMAIL_HOST
        self.port = int(settings.EMAIL_PORT)
        self.username = settings.EMAIL_HOST_USER
        self.password = settings.EMAIL_HOST_PASSWORD
        self.use_tls = settings.EMAIL_USE_TLS
        self.use_ssl = settings.EMAIL_USE_SSL
        self.timeout = settings.EMAIL_TIMEOUT
        self.connection: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        try:
            if self.use_ssl:
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            connection.ehlo()
            if self.use_tls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if self.username:
                connection.login(self.username, self.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectionFailed(f"{self.host}:{self.port}: {exc}") from exc
        return connection

    def send(self, message: EmailMessage) -> SendResult:
        if self.connection is None:
            self.connection = self._open()
        payload = message.message().as_bytes(linesep="\r\n")
        try:
            refused = self.connection.sendmail(message.from_email, message.recipients(), payload)
        except smtplib.SMTPRecipientsRefused as exc:  # smtplib has already sent RSET
            code, reply = next(iter(exc.recipients.values()))
            return SendResult(code, _reply_text(reply))
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            return SendResult(exc.smtp_code, _reply_text(exc.smtp_error))
        except smtplib.SMTPResponseException as exc:
            self.close()
            if exc.smtp_code in (421,):
                raise ConnectionFailed(f"{exc.smtp_code} {_reply_text(exc.smtp_error)}") from exc
            return SendResult(exc.smtp_code, _reply_text(exc.smtp_error))
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise ConnectionFailed(str(exc) or type(exc).__name__) from exc
        if refused:
            code, reply = next(iter(refused.values()))
            return SendResult(code, _reply_text(reply))
        return SendResult(250, "OK")

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                with contextlib.suppress(OSError):
                    self.connection.close()
            self.connection = None


class BackendSender:
    """Hands messages to the configured Django email backend (the embedded outbox)."""

    def __init__(self) -> None:
        self.connection = get_connection(fail_silently=False)

    def send(self, message: EmailMessage) -> SendResult:
        message.connection = self.connection
        try:
            message.send()
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectionFailed(str(exc)) from exc
        return SendResult(250, "stored")

    def close(self) -> None:
        self.connection.close()


def open_sender() -> Sender:
    backend = get_connection()
    if isinstance(backend, DjangoSmtpBackend) and settings.EMAIL_BACKEND.endswith(
        "smtp.EmailBackend"
    ):
        return SmtpSender()
    return BackendSender()
