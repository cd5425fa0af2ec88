"""System checks for deployment (`manage.py check --deploy`, `make check-deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

OUTBOX_BACKEND = "lavka.core.mail.OutboxEmailBackend"


@register(Tags.security, deploy=True)
def email_leaves_the_server(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Without EMAIL_URL every email, password resets included, stays in the outbox:
    nobody receives it, and whoever reads the outbox holds everyone's reset links."""
    if settings.EMAIL_BACKEND != OUTBOX_BACKEND:
        return []
    return [
        Error(
            "EMAIL_URL is not set: every email, password resets included, is kept in the "
            "outbox instead of being sent.",
            hint="Set EMAIL_URL to your SMTP server, e.g. "
            "smtp+tls://user:password@smtp.example.com:587.",
            id="lavka.E001",
        )
    ]


@register(Tags.security, deploy=True)
def secrets_can_be_encrypted(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A production site keeps integration tokens encrypted with keys it is given: a key
    made per machine, as a laptop does, would leave each machine unable to read what the
    others saved, and lost with the machine."""
    if settings.LAVKA_ENCRYPTION_KEYS:
        return []
    return [
        Error(
            "LAVKA_ENCRYPTION_KEYS is not set: secrets such as integration tokens cannot be "
            "saved or read.",
            hint="Make a key with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`, keep it safe, and set it, the same on "
            "every machine (docs/secrets.md).",
            id="lavka.E003",
        )
    ]
