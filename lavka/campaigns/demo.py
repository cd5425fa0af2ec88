"""Demo data of campaigns for `make run`: a newsletter to try."""

from __future__ import annotations

from typing import Any

from lavka.campaigns import services as campaigns
from lavka.campaigns.models import Message, Recipient, RecipientList

DEMO_CLIENTS = (
    ("anna@example.net", "Anna"),
    ("boris@example.net", "Boris"),
    ("chen@example.net", "Chen"),
)


def load_demo_campaigns(context: dict[str, Any]) -> list[str]:
    """A list of three clients and a message for the creator, to try a mailing with.

    The addresses are in the reserved example.net domain: with the outbox (the default)
    nothing leaves the machine.
    """
    owner = context["users"]["creator@lavka.localhost"]
    if RecipientList.objects.filter(owner=owner, name="Newsletter").exists():
        return []
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
    return []
