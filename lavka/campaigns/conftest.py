"""Fixtures for campaigns tests: an owner with recipients and a ready mailing,
and a real SMTP server (aiosmtpd) whose replies a test can script."""

from __future__ import annotations

from typing import Any

import pytest

from lavka.campaigns.tests.factories import (
    MailingFactory,
    MessageFactory,
    RecipientFactory,
    RecipientListFactory,
)
from lavka.core.roles import Role


@pytest.fixture(autouse=True)
def _one_smtp_lane_in_process(settings: Any) -> None:
    """Sending lanes are threads with their own database connections, which cannot see
    a test's uncommitted transaction. Worker-process tests still use several lanes."""
    settings.CAMPAIGNS_CONNECTIONS_PER_CHUNK = 1


@pytest.fixture
def recipient_factory(db: None) -> Any:
    return RecipientFactory


@pytest.fixture
def list_factory(db: None) -> Any:
    return RecipientListFactory


@pytest.fixture
def message_factory(db: None) -> Any:
    return MessageFactory


@pytest.fixture
def mailing_factory(db: None) -> Any:
    return MailingFactory


@pytest.fixture
def owner(user_factory: Any) -> Any:
    """Campaigns are for creators: the owner of the campaigns under test is one."""
    return user_factory(
        email="owner@example.com",
        full_name="Olga Owner",
        time_zone="Europe/Berlin",
        roles=[Role.CREATOR, Role.CUSTOMER],
    )


@pytest.fixture
def other_customer(user_factory: Any) -> Any:
    """Here, another owner of campaigns: a creator too (a customer has none to own)."""
    return user_factory(
        email="other@example.com", full_name="Otto Other", roles=[Role.CREATOR, Role.CUSTOMER]
    )


@pytest.fixture
def audience(owner: Any) -> list[Any]:
    return [
        RecipientFactory(owner=owner, email=f"r{i}@example.net", full_name=f"Reader {i}")
        for i in range(5)
    ]


@pytest.fixture
def ready_mailing(owner: Any, audience: list[Any]) -> Any:
    """A one-off mailing to five recipients, still a draft."""
    return MailingFactory(owner=owner, recipients=audience)


@pytest.fixture
def scripted_smtp(settings: Any) -> Any:
    """An aiosmtpd server on a free loopback port, used through Lavka's SMTP sender.

    `sink.replies[address] = "550 5.1.1 No such user"` makes RCPT TO for that address
    answer with that line; everything else is accepted and recorded.
    """
    import socket

    from lavka.core.tests.support import SmtpSink

    class ScriptedSink(SmtpSink):
        def __init__(self, host: str, port: int) -> None:
            super().__init__(host=host, port=port)
            self.replies: dict[str, str] = {}

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in self.replies:
                return self.replies[address]
            envelope.rcpt_tos.append(address)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = ScriptedSink("127.0.0.1", port).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()
