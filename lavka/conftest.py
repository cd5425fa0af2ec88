"""Fixtures every app's tests share: users, a real worker, mail, a real browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Rate limits and cached values live in the cache: each test starts without them."""
    from lavka.core.tests.support import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def user_factory(db: None) -> Any:
    from lavka.accounts.tests.factories import UserFactory

    return UserFactory


@pytest.fixture
def customer(user_factory: Any) -> Any:
    return user_factory(email="customer@example.com", full_name="Carla Customer")


@pytest.fixture
def other_customer(user_factory: Any) -> Any:
    return user_factory(email="other@example.com", full_name="Otto Other")


@pytest.fixture
def creator(user_factory: Any) -> Any:
    from lavka.core.roles import Role

    return user_factory(email="creator@example.com", roles=[Role.CREATOR, Role.CUSTOMER])


@pytest.fixture
def manager(user_factory: Any) -> Any:
    from lavka.core.roles import Role

    return user_factory(email="manager@example.com", full_name="Mia Manager", roles=[Role.MANAGER])


@pytest.fixture
def superuser(db: None) -> Any:
    from allauth.account.models import EmailAddress

    from lavka.accounts.models import User
    from lavka.accounts.tests.factories import DEFAULT_PASSWORD

    user = User.objects.create_superuser("root@example.com", DEFAULT_PASSWORD)
    assert EmailAddress.objects.filter(user=user, verified=True, primary=True).exists()
    return user


@pytest.fixture
def celery_worker_process(transactional_db: None, tmp_path: Path) -> Iterator[Any]:
    """A real `celery worker` process on the configured broker and the test database."""
    from lavka.core.tests.support import purge_queues, start_worker

    purge_queues()  # messages left by earlier runs must not reach this database
    worker = start_worker(tmp_path)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[Callable[[str], list[Any]]]:
    """Where a worker's email lands: the outbox table on the embedded default, or an
    aiosmtpd server this fixture starts when EMAIL_URL points at a loopback SMTP port.

    Returns a function giving the messages received for an address (subject, text()).
    """
    from django.conf import settings

    email_url = settings.EMAIL_URL
    if email_url.startswith("smtp"):
        parts = urlsplit(email_url)
        if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
            pytest.skip(f"EMAIL_URL points at {parts.hostname}; tests only use loopback SMTP")
        from lavka.core.tests.support import SmtpSink

        sink = SmtpSink(host="127.0.0.1", port=parts.port or 25).start()
        try:
            yield sink.messages_to
        finally:
            sink.stop()
        return

    from lavka.core.models import OutboxMessage
    from lavka.core.tests.support import ReceivedMail

    def from_outbox(address: str) -> list[Any]:
        from email import message_from_bytes

        # as bytes, as an SMTP server gets them: parsed from a str, an 8-bit UTF-8 body
        # decodes to backslash escapes
        return [
            ReceivedMail(m.from_email, m.to, message_from_bytes(m.raw.encode()))
            for m in OutboxMessage.objects.order_by("id")
            if address in m.to
        ]

    yield from_outbox


@pytest.fixture
def browser_page(chromium: Any, live_server: Any, settings: Any, tmp_path: Path) -> Iterator[Any]:
    """A fresh browser tab on the live server, with mail captured in the outbox."""
    settings.EMAIL_BACKEND = "lavka.core.mail.OutboxEmailBackend"
    settings.SITE_URL = live_server.url
    context = chromium.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(30_000)  # generous: CI runs two suites at once
    try:
        yield context.new_page()
    finally:
        context.close()
