"""What a person (or Lavka itself) can do in campaigns: a check and an execute each.

Web pages, the API, the admin and the sending pipeline call these; the rules live here
and nowhere else. Each action names the Django permission it needs (the roles in
`apps.py` grant them) and, in `is_allowed`, the rule about the object:

- recipients, lists and messages are changed by their owner; someone else only with an
  object-level grant (Django gives superusers every one: that is how the admin works);
- a mailing's content and schedule are changed by its owner only;
- pausing, disabling, resuming and completing anyone's mailing is moderation
  (`campaigns.moderate_mailing`).

The writes themselves, and the errors about bad input, are in `services` and `csv_io`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from lavka.campaigns import importing, services
from lavka.campaigns.models import (
    Mailing,
    MailingStatus,
    Message,
    Recipient,
    RecipientImport,
    RecipientList,
)
from lavka.campaigns.personalisation import placeholder_error
from lavka.core.actions import Action, owns

MODERATE = "campaigns.moderate_mailing"
# Held by creators and managers, not by customers: the gate of every campaigns page and
# endpoint (each action still checks its own permission).
RUN_CAMPAIGNS = "campaigns.view_mailing"


def is_moderator(actor: Any) -> bool:
    return bool(actor.has_perm(MODERATE))


def runs_campaigns(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.has_perm(RUN_CAMPAIGNS))


def _owner_or_granted(actor: Any, obj: Any, permission: str) -> bool:
    """The actor's own object, or one they hold `permission` on for this very object."""
    return owns(actor, obj) or bool(actor.has_perm(permission, obj))


def _acts_for(actor: Any, owner: Any, permission: str) -> bool:
    """Creating for `owner`: oneself, or someone with an object-level grant on them."""
    return owner.pk == actor.pk or bool(actor.has_perm(permission, owner))


# --- recipients -----------------------------------------------------------------------


class CreateRecipient(Action[Recipient]):
    """Add a recipient (for oneself; in the admin, for the owner chosen there)."""

    permission = "campaigns.add_recipient"

    def __init__(
        self,
        actor: Any,
        *,
        email: str,
        owner: Any = None,
        lists: Iterable[RecipientList] = (),
        **fields: Any,
    ) -> None:
        super().__init__(actor)
        self.owner = owner if owner is not None else actor
        self.email, self.lists, self.fields = email, list(lists), fields

    def is_allowed(self) -> bool:
        return _acts_for(self.actor, self.owner, self.permission)

    def perform(self) -> Recipient:
        return services.create_recipient(
            owner=self.owner, email=self.email, lists=self.lists, **self.fields
        )


class RecipientAction(Action[Any]):
    """Something done to one existing recipient, by its owner."""

    permission = "campaigns.change_recipient"

    def __init__(self, actor: Any, *, recipient: Recipient, **params: Any) -> None:
        super().__init__(actor, **params)
        self.recipient = recipient

    def is_allowed(self) -> bool:
        return _owner_or_granted(self.actor, self.recipient, self.permission)


class UpdateRecipient(RecipientAction):
    """Change a recipient's fields; with `lists`, also the lists it is on (together)."""

    def __init__(
        self,
        actor: Any,
        *,
        recipient: Recipient,
        email: str | None = None,
        lists: Iterable[RecipientList] | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(actor, recipient=recipient)
        self.email = email if email is not None else recipient.email
        self.lists = list(lists) if lists is not None else None
        self.fields = fields

    def perform(self) -> Recipient:
        if self.lists is None:
            return services.update_recipient(
                actor=self.actor, recipient=self.recipient, email=self.email, **self.fields
            )
        return services.edit_recipient(
            actor=self.actor,
            recipient=self.recipient,
            email=self.email,
            lists=self.lists,
            **self.fields,
        )


class SetRecipientActive(RecipientAction):
    """Deactivate (no mailings reach them) or reactivate a recipient."""

    def perform(self) -> Recipient:
        return services.set_recipient_active(
            actor=self.actor, recipient=self.recipient, active=self.params["active"]
        )


class ResubscribeRecipient(RecipientAction):
    """Undo an unsubscribe or a suppression, when the recipient asked for it."""

    def perform(self) -> Recipient:
        return services.resubscribe_recipient(actor=self.actor, recipient=self.recipient)


class DeleteRecipient(RecipientAction):
    permission = "campaigns.delete_recipient"

    def perform(self) -> None:
        services.delete_recipient(actor=self.actor, recipient=self.recipient)


# --- lists ----------------------------------------------------------------------------


class SaveList(Action[RecipientList]):
    """Create or edit a list; `members` (when given) replaces who is on it, together."""

    def __init__(
        self,
        actor: Any,
        *,
        name: str,
        description: str = "",
        members: Iterable[Recipient] | None = None,
        recipient_list: RecipientList | None = None,
        owner: Any = None,
    ) -> None:
        super().__init__(actor)
        self.recipient_list = recipient_list
        self.owner = owner if owner is not None else actor
        self.name, self.description = name, description
        self.members = list(members) if members is not None else None

    @property
    def permission(self) -> str:  # type: ignore[override]
        if self.recipient_list is None:
            return "campaigns.add_recipientlist"
        return "campaigns.change_recipientlist"

    def is_allowed(self) -> bool:
        if self.recipient_list is None:
            return _acts_for(self.actor, self.owner, self.permission)
        return _owner_or_granted(self.actor, self.recipient_list, self.permission)

    def perform(self) -> RecipientList:
        owner = self.recipient_list.owner if self.recipient_list is not None else self.owner
        return services.save_list_with_members(
            owner=owner,
            name=self.name,
            description=self.description,
            members=self.members,
            recipient_list=self.recipient_list,
        )


class DeleteList(Action[None]):
    """Delete a list; its recipients stay."""

    permission = "campaigns.delete_recipientlist"

    def __init__(self, actor: Any, *, recipient_list: RecipientList) -> None:
        super().__init__(actor)
        self.recipient_list = recipient_list

    def is_allowed(self) -> bool:
        return _owner_or_granted(self.actor, self.recipient_list, self.permission)

    def perform(self) -> None:
        services.delete_list(actor=self.actor, recipient_list=self.recipient_list)


# --- CSV import -----------------------------------------------------------------------


class ConfirmImport(Action[RecipientImport]):
    """Start importing exactly what the actor's own preview showed (the stash and the
    job are per owner)."""

    permission = "campaigns.add_recipient"

    def __init__(self, actor: Any, *, pending: importing.PendingImport | None, token: str) -> None:
        super().__init__(actor)
        self.pending, self.token = pending, token

    def perform(self) -> RecipientImport:
        return importing.confirm_import(owner=self.actor, pending=self.pending, token=self.token)


# --- messages -------------------------------------------------------------------------


class SaveMessage(Action[Message]):
    """Write a new message or change one."""

    def __init__(
        self,
        actor: Any,
        *,
        subject: str,
        html_body: str,
        text_body: str = "",
        is_active: bool = True,
        message: Message | None = None,
        owner: Any = None,
    ) -> None:
        super().__init__(actor)
        self.message = message
        self.owner = owner if owner is not None else actor
        self.values: dict[str, Any] = {
            "subject": subject,
            "html_body": html_body,
            "text_body": text_body,
            "is_active": is_active,
        }

    @property
    def permission(self) -> str:  # type: ignore[override]
        return "campaigns.add_message" if self.message is None else "campaigns.change_message"

    def is_allowed(self) -> bool:
        if self.message is None:
            return _acts_for(self.actor, self.owner, self.permission)
        return _owner_or_granted(self.actor, self.message, self.permission)

    def perform(self) -> Message:
        owner = self.message.owner if self.message is not None else self.owner
        return services.save_message(owner=owner, message=self.message, **self.values)


class MessageAction(Action[None]):
    def __init__(self, actor: Any, *, message: Message) -> None:
        super().__init__(actor)
        self.message = message

    def is_allowed(self) -> bool:
        return _owner_or_granted(self.actor, self.message, self.permission)


class DeleteMessage(MessageAction):
    """Delete a message no mailing uses (a used one is deactivated instead)."""

    permission = "campaigns.delete_message"

    def perform(self) -> None:
        services.delete_message(actor=self.actor, message=self.message)


class SendTestMessage(MessageAction):
    """Send the message to the owner's own address, personalised as for them."""

    permission = "campaigns.change_message"

    def is_allowed(self) -> bool:
        return owns(self.actor, self.message)

    def perform(self) -> None:
        message = self.message
        if placeholder_error(message.subject, message.html_body, message.text_body):
            raise ValidationError(_("Fix the unknown placeholders before sending a test."))
        services.send_test_message(actor=self.actor, message=message)


# --- mailings -------------------------------------------------------------------------


class SaveMailing(Action[Mailing]):
    """Create or edit a mailing; `then_schedule` also schedules a draft, in the same
    transaction, so a schedule refused leaves the edit unsaved too. `scheduled` says
    afterwards whether it did."""

    def __init__(
        self,
        actor: Any,
        *,
        mailing: Mailing | None = None,
        name: str = "",
        message: Message | None = None,
        first_send_at: datetime | None = None,
        periodicity: str = "once",
        cron_expression: str = "",
        end_at: datetime | None = None,
        lists: Iterable[RecipientList] = (),
        recipients: Iterable[Recipient] = (),
        then_schedule: bool = False,
    ) -> None:
        super().__init__(actor)
        self.mailing = mailing
        self.values: dict[str, Any] = {
            "name": name,
            "message": message,
            "first_send_at": first_send_at,
            "periodicity": periodicity,
            "cron_expression": cron_expression,
            "end_at": end_at,
            "lists": lists,
            "recipients": recipients,
        }
        self.then_schedule = then_schedule
        self.scheduled = False

    @property
    def permission(self) -> str:  # type: ignore[override]
        return "campaigns.add_mailing" if self.mailing is None else "campaigns.change_mailing"

    def is_allowed(self) -> bool:
        return self.mailing is None or owns(self.actor, self.mailing)

    def perform(self) -> Mailing:
        with transaction.atomic():
            saved = services.save_mailing(owner=self.actor, mailing=self.mailing, **self.values)
            if self.then_schedule and saved.status == MailingStatus.DRAFT:
                services.schedule_mailing(actor=self.actor, mailing=saved)
                self.scheduled = True
        return saved


class OwnMailingAction(Action[Any]):
    """Something only the mailing's owner does."""

    permission = "campaigns.change_mailing"

    def __init__(self, actor: Any, *, mailing: Mailing) -> None:
        super().__init__(actor)
        self.mailing = mailing

    def is_allowed(self) -> bool:
        return owns(self.actor, self.mailing)


class ScheduleMailing(OwnMailingAction):
    """Start a draft: it fires at its next send time."""

    def perform(self) -> Mailing:
        return services.schedule_mailing(actor=self.actor, mailing=self.mailing)


class DeleteMailing(OwnMailingAction):
    """Delete a mailing with its runs and their delivery log."""

    permission = "campaigns.delete_mailing"

    def perform(self) -> None:
        services.delete_mailing(actor=self.actor, mailing=self.mailing)


class ModeratedMailingAction(Action[Mailing]):
    """Done by the mailing's owner, or by a moderator to anyone's mailing."""

    permission = "campaigns.view_mailing"

    def __init__(self, actor: Any, *, mailing: Mailing) -> None:
        super().__init__(actor)
        self.mailing = mailing

    def is_allowed(self) -> bool:
        return owns(self.actor, self.mailing) or is_moderator(self.actor)


class PauseMailing(ModeratedMailingAction):
    """Owners pause their own mailings; moderators any, and may disable them so that
    the owner cannot resume. Lavka pauses a run failing again and again."""

    def __init__(
        self, actor: Any, *, mailing: Mailing, reason: str = "", disable: bool = False
    ) -> None:
        super().__init__(actor, mailing=mailing)
        self.reason, self.disable = reason, disable

    def is_allowed(self) -> bool:
        if self.disable:
            return is_moderator(self.actor)
        return super().is_allowed()

    def perform(self) -> Mailing:
        return services.pause_mailing(
            actor=self.actor, mailing=self.mailing, reason=self.reason, disable=self.disable
        )


class ResumeMailing(ModeratedMailingAction):
    """Continue a paused mailing from now. One a moderator disabled stays paused until a
    moderator resumes it."""

    def perform(self) -> Mailing:
        if (
            self.mailing.status == MailingStatus.PAUSED
            and self.mailing.disabled_by_manager
            and not is_moderator(self.actor)
        ):
            raise ValidationError(_("A manager disabled this mailing; ask them to resume it."))
        return services.resume_mailing(actor=self.actor, mailing=self.mailing)


class CompleteMailing(ModeratedMailingAction):
    """End a mailing for good: no further runs."""

    def perform(self) -> Mailing:
        return services.complete_mailing(actor=self.actor, mailing=self.mailing)
