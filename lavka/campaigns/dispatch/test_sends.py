"""The one test copy of a message, to its owner, marked as a test."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from lavka.campaigns.models import Message
from lavka.campaigns.personalisation import Personalisation, html_to_text
from lavka.core.composer import compose


def deliver_test_copy(*, message_id: int, user_id: int) -> None:
    """Send one copy personalised as for the owner; "[TEST]" in the subject."""
    message = (
        Message.objects.select_related("owner").filter(pk=message_id, owner_id=user_id).first()
    )
    if message is None:
        return
    owner = message.owner
    personal = Personalisation(
        name=owner.get_full_name(),
        email=owner.email,
        unsubscribe_url=settings.SITE_URL + reverse("campaigns:unsubscribe_test"),
    )
    compose(
        to=owner.email,
        subject="[TEST] " + personal.render_text(message.subject),
        text_body=personal.render_text(message.text_body or html_to_text(message.html_body)),
        html_body=personal.render_html(message.html_body),
    ).send()
