"""Writes about messages: what a mailing sends."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _

from lavka.accounts.models import User
from lavka.campaigns.models import (
    Message,
)
from lavka.campaigns.personalisation import placeholder_error
from lavka.core import background


def save_message(
    *,
    owner: User,
    subject: str,
    html_body: str,
    text_body: str = "",
    is_active: bool = True,
    message: Message | None = None,
) -> Message:
    if message is None:
        message = Message(owner=owner)
    error = placeholder_error(subject, html_body, text_body)
    if error:
        raise ValidationError(error)
    message.subject = subject.strip()
    message.html_body = html_body
    message.text_body = text_body
    message.is_active = is_active
    message.full_clean(exclude=["owner"])
    message.save()
    return message


def send_test_message(*, actor: User, message: Message) -> None:
    """Queue the message to the owner's own address, personalised as for them."""
    background.start("campaigns.send_test_message", message.pk, actor.pk)


def delete_message(*, actor: User, message: Message) -> None:
    if message.mailings.exists():
        raise ValidationError(_("This message is used by a mailing; deactivate it instead."))
    try:
        message.delete()
    except IntegrityError as exc:  # pragma: no cover - the check above covers it
        raise ValidationError(str(exc)) from exc
