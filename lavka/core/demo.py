"""Demo data for `make run`: accounts, a newsletter to try and a blog page.

Created once, found again on every later run.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.sites.models import Site
from django.db import transaction

from lavka.accounts import services as account_services
from lavka.accounts.models import User
from lavka.accounts.roles import Role

DEMO_PASSWORD = "lavka-demo-password"  # noqa: S105 (public demo accounts)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    roles: tuple[Role, ...]
    superuser: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("admin@lavka.localhost", "Ada Admin", (), superuser=True),
    DemoAccount("manager@lavka.localhost", "Max Manager", (Role.MANAGER,)),
    DemoAccount("creator@lavka.localhost", "Cleo Creator", (Role.CREATOR, Role.CUSTOMER)),
    DemoAccount("customer@lavka.localhost", "Carl Customer", (Role.CUSTOMER,)),
)


@transaction.atomic
def load_demo_data() -> list[DemoAccount]:
    """Idempotent: a second run finds every row and creates nothing."""
    host = settings.SITE_URL.split("://", 1)[-1]
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": host, "name": "Lavka"})
    for account in DEMO_ACCOUNTS:
        user = User.objects.filter(email=account.email).first()
        if user is None:
            create = (
                User.objects.create_superuser if account.superuser else User.objects.create_user
            )
            user = create(account.email, DEMO_PASSWORD, full_name=account.full_name)
        for role in account.roles:
            account_services.set_role(user=user, role=role, enabled=True)
        EmailAddress.objects.get_or_create(
            user=user, email=account.email, defaults={"verified": True, "primary": True}
        )
    creator = User.objects.get(email="creator@lavka.localhost")
    _load_demo_campaigns(owner=creator)
    _load_demo_content()
    return list(DEMO_ACCOUNTS)


DEMO_CLIENTS = (
    ("anna@example.net", "Anna"),
    ("boris@example.net", "Boris"),
    ("chen@example.net", "Chen"),
)


def _load_demo_campaigns(*, owner: User) -> None:
    """A list of three clients and a message for the creator, to try a mailing with.

    The addresses are in the reserved example.net domain: with the outbox (the default)
    nothing leaves the machine.
    """
    from lavka.campaigns import services as campaigns
    from lavka.campaigns.models import Message, Recipient, RecipientList

    if RecipientList.objects.filter(owner=owner, name="Newsletter").exists():
        return
    newsletter = campaigns.save_list(owner=owner, name="Newsletter")
    for email, name in DEMO_CLIENTS:
        recipient = Recipient.objects.filter(owner=owner, email=email).first()
        if recipient is None:
            recipient = campaigns.create_recipient(owner=owner, email=email, full_name=name)
        newsletter.recipients.add(recipient)
    if not Message.objects.filter(owner=owner).exists():
        campaigns.save_message(
            owner=owner,
            subject="News from the workshop, {{ name }}",
            html_body=(
                "<p>Hello {{ name }},</p><p>this week we finished three new projects.</p>"
                '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
            ),
        )


def _load_demo_content() -> None:
    """A published page with a text block and a short generated tone as audio."""
    from lavka.content import services as content
    from lavka.content.models import AudioBlock, Page, StoredFile, TextBlock
    from lavka.content.storage import store_bytes

    if Page.objects.filter(slug="welcome").exists():
        return
    page = content.create_page(
        title="Welcome to the Lavka blog",
        slug="welcome",
        summary="What a page of blocks looks like.",
        is_published=True,
    )
    text = content.save_block(
        block=TextBlock(
            title="About this page",
            body="A page holds **blocks** of video, audio and text, in the order you set "
            "in the admin. Each block counts its views.",
        )
    )
    audio = content.save_block(
        block=AudioBlock(
            title="A short tone",
            audio_file=store_bytes(_tone_wav(), kind=StoredFile.Kind.AUDIO, name="tone.wav"),
            transcript="(one second of a 440 Hz tone)",
        )
    )
    content.add_block(page=page, block=text)
    content.add_block(page=page, block=audio)


def _tone_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (
            int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))
        )
        out.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()
