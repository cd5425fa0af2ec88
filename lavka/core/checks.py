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
