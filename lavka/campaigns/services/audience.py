"""Writes about recipients and lists: who an owner may email."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lavka.accounts.models import User
from lavka.campaigns import stats
from lavka.campaigns.models import (
    Recipient,
    RecipientList,
)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def not_owned_by(owner_id: int | None, objects: Iterable[Any]) -> list[Any]:
    """Those of `objects` that belong to someone other than `owner_id`."""
    return [obj for obj in objects if obj.owner_id != owner_id]


def require_same_owner(owner_id: int | None, objects: Iterable[Any]) -> None:
    """One owner's mailing, lists and recipients never mix with another's."""
    foreign = not_owned_by(owner_id, objects)
    if foreign:
        raise ValidationError(
            _("These belong to someone else: %(names)s")
            % {"names": ", ".join(str(obj) for obj in foreign)}
        )


# --- recipients and lists -------------------------------------------------------------

RECIPIENT_FIELDS = ("full_name", "comment", "phone", "country", "is_active")


def create_recipient(
    *, owner: User, email: str, lists: Iterable[RecipientList] = (), **fields: Any
) -> Recipient:
    recipient = Recipient(owner=owner, email=normalize_email(email), **fields)
    recipient.full_clean(exclude=["owner"])
    if Recipient.objects.filter(owner=owner, email__iexact=recipient.email).exists():
        raise ValidationError({"email": _("You already have a recipient with this email.")})
    lists = list(lists)
    require_same_owner(owner.pk, lists)
    with transaction.atomic():
        recipient.save()
        for recipient_list in lists:
            recipient_list.recipients.add(recipient)
    stats.invalidate(owner_id=owner.pk)
    return recipient


def update_recipient(*, actor: User, recipient: Recipient, email: str, **fields: Any) -> Recipient:
    recipient.email = normalize_email(email)
    for name, value in fields.items():
        if name not in RECIPIENT_FIELDS:
            raise TypeError(name)
        setattr(recipient, name, value)
    recipient.full_clean(exclude=["owner"])
    duplicate = Recipient.objects.filter(
        owner_id=recipient.owner_id, email__iexact=recipient.email
    ).exclude(pk=recipient.pk)
    if duplicate.exists():
        raise ValidationError({"email": _("You already have a recipient with this email.")})
    recipient.save()
    stats.invalidate(owner_id=recipient.owner_id)
    return recipient


def set_recipient_active(*, actor: User, recipient: Recipient, active: bool) -> Recipient:
    recipient.is_active = active
    recipient.save(update_fields=["is_active", "updated_at"])
    stats.invalidate(owner_id=recipient.owner_id)
    return recipient


def delete_recipient(*, actor: User, recipient: Recipient) -> None:
    owner_id = recipient.owner_id
    recipient.delete()
    stats.invalidate(owner_id=owner_id)


def unsubscribe_recipient(*, recipient_id: int) -> Recipient | None:
    """One-click unsubscribe; repeating it changes nothing."""
    recipient = Recipient.objects.filter(pk=recipient_id).first()
    if recipient is not None and recipient.unsubscribed_at is None:
        Recipient.objects.filter(pk=recipient.pk, unsubscribed_at__isnull=True).update(
            unsubscribed_at=timezone.now()
        )
        recipient.refresh_from_db()
        stats.invalidate(owner_id=recipient.owner_id)
    return recipient


def resubscribe_recipient(*, actor: User, recipient: Recipient) -> Recipient:
    recipient.unsubscribed_at = None
    recipient.suppressed_at = None
    recipient.suppression_reason = ""
    recipient.save(
        update_fields=["unsubscribed_at", "suppressed_at", "suppression_reason", "updated_at"]
    )
    stats.invalidate(owner_id=recipient.owner_id)
    return recipient


def suppress_recipients(*, recipient_ids: list[int], reason: str) -> None:
    """A permanent rejection: later mailings of the owner skip these addresses."""
    owner_ids = set(
        Recipient.objects.filter(pk__in=recipient_ids).values_list("owner_id", flat=True)
    )
    Recipient.objects.filter(pk__in=recipient_ids, suppressed_at__isnull=True).update(
        suppressed_at=timezone.now(), suppression_reason=reason[:500]
    )
    for owner_id in owner_ids:
        stats.invalidate(owner_id=owner_id)


def save_list(
    *, owner: User, name: str, description: str = "", recipient_list: RecipientList | None = None
) -> RecipientList:
    if recipient_list is None:
        recipient_list = RecipientList(owner=owner)
    recipient_list.name = name.strip()
    recipient_list.description = description
    recipient_list.full_clean(exclude=["owner"], validate_unique=False)
    clash = RecipientList.objects.filter(
        owner_id=recipient_list.owner_id, name=recipient_list.name
    ).exclude(pk=recipient_list.pk)
    if clash.exists():
        raise ValidationError({"name": _("You already have a list with this name.")})
    recipient_list.save()
    return recipient_list


def set_list_members(
    *, actor: User, recipient_list: RecipientList, recipients: Iterable[Recipient]
) -> None:
    members = list(recipients)
    require_same_owner(recipient_list.owner_id, members)
    recipient_list.recipients.set(members)


def set_recipient_lists(
    *, actor: User, recipient: Recipient, lists: Iterable[RecipientList]
) -> None:
    chosen = list(lists)
    require_same_owner(recipient.owner_id, chosen)
    recipient.lists.set(chosen)


def edit_recipient(
    *,
    actor: User,
    recipient: Recipient,
    email: str,
    lists: Iterable[RecipientList],
    **fields: Any,
) -> Recipient:
    """The edit page's save: the recipient's fields and the lists it is on, together."""
    with transaction.atomic():
        update_recipient(actor=actor, recipient=recipient, email=email, **fields)
        set_recipient_lists(actor=actor, recipient=recipient, lists=lists)
    return recipient


def save_list_with_members(
    *,
    owner: User,
    name: str,
    description: str,
    members: Iterable[Recipient] | None,
    recipient_list: RecipientList | None = None,
) -> RecipientList:
    """The list and who is on it, together; `members=None` leaves the members as they are."""
    with transaction.atomic():
        recipient_list = save_list(
            owner=owner, name=name, description=description, recipient_list=recipient_list
        )
        if members is not None:
            set_list_members(actor=owner, recipient_list=recipient_list, recipients=members)
    return recipient_list


def delete_list(*, actor: User, recipient_list: RecipientList) -> None:
    recipient_list.delete()
