"""The composer of every email Lavka sends: campaign sends, test sends, account emails.

One place builds the message, so every email gets the same sender, a Message-ID from
Lavka's own domain that a resend keeps (a recipient's mail system can recognise the same
message after a crash between send and record), and headers that cannot be split: a
subject, address or header value with a line break or another control character is
refused here with `UnsafeHeader`, before anything is on the wire (the entrances refuse
such text already, see `lavka.core.validators`; this catches rows written before the
rule). Folding it away instead would send a message the author never wrote, to an
address nobody typed.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from lavka.core.validators import first_refused_character


class UnsafeHeader(ValueError):
    """A header value holds a line break or another control character."""

    def __init__(self, header: str, found: str) -> None:
        super().__init__(f"{header} contains {found}")
        self.header, self.found = header, found


def check_header(header: str, value: str) -> str:
    """`value`, unchanged, if it is fit for the header `header`; else UnsafeHeader."""
    found = first_refused_character(value)
    if found is not None:
        raise UnsafeHeader(header, found)
    return value


def site_domain() -> str:
    """The host of LAVKA_SITE_URL, for Message-IDs."""
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host or "lavka.localhost"


def message_id(kind: str, key: object) -> str:
    """A stable Message-ID for one logical email (`kind` and `key` name it)."""
    return f"<lavka-{kind}-{key}@{site_domain()}>"


def compose(
    *,
    to: str,
    subject: str,
    text_body: str,
    html_body: str = "",
    stable_id: str = "",
    headers: Mapping[str, str] | None = None,
    from_email: str = "",
) -> EmailMultiAlternatives:
    """An email ready for `send()` or a shared connection's `send_messages`.

    Raises UnsafeHeader when a header value holds a control character."""
    all_headers = {name: check_header(name, value) for name, value in (headers or {}).items()}
    if stable_id:
        all_headers["Message-ID"] = check_header("Message-ID", stable_id)
    message = EmailMultiAlternatives(
        subject=check_header("Subject", subject),
        body=text_body,
        from_email=check_header("From", from_email or settings.DEFAULT_FROM_EMAIL),
        to=[check_header("To", to)],
        headers=all_headers,
    )
    if html_body:
        message.attach_alternative(html_body, "text/html")
    return message
