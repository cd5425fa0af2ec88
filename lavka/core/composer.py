"""The composer of every email Lavka sends: campaign sends, test sends, account emails.

One place builds the message, so every email gets the same sender, a Message-ID from
Lavka's own domain that a resend keeps (a recipient's mail system can recognise the same
message after a crash between send and record), and headers that cannot be split: a
line break or NUL in a subject or a name is folded into a space here, instead of
raising deep inside the SMTP library halfway through a batch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

_BREAKS = re.compile(r"\s*[\r\n\x00\x0b\x0c\u2028\u2029][\s\x00]*")


def header_safe(value: str) -> str:
    """A header value on one line, with no NUL."""
    return _BREAKS.sub(" ", value).strip()


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
    """An email ready for `send()` or a shared connection's `send_messages`."""
    all_headers = {name: header_safe(value) for name, value in (headers or {}).items()}
    if stable_id:
        all_headers["Message-ID"] = stable_id
    message = EmailMultiAlternatives(
        subject=header_safe(subject),
        body=text_body,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=[header_safe(to)],
        headers=all_headers,
    )
    if html_body:
        message.attach_alternative(html_body, "text/html")
    return message
