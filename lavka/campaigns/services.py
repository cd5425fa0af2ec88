"""Every write that matters in campaigns, one function per business action.

Who may do what is decided in `actions.py`, before any of these run; a function here
takes the acting user only to attribute the change, and raises ValidationError for input
that cannot be written (objects of different owners mixed, a wrong status, a bad
schedule). Sending itself (firing runs, fanning out chunks, rate limits) is in
the `dispatch/` package.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lavka.accounts.models import User
from lavka.campaigns import scheduling, stats
from lavka.campaigns.models import (
    ACTIVE_STATUSES,
    Mailing,
    MailingRun,
    MailingStatus,
    Message,
    Periodicity,
    Recipient,
    RecipientList,
    RunStatus,
)
from lavka.campaigns.personalisation import placeholder_error
from lavka.core import background
from lavka.core.work import WorkState


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def not_owned_by(owner_id: int | None, objects: Iterable[Any]) -> list[Any]:
    """Those of `objects` that belong to someone other than `owner_id`."""
    return [obj for obj in objects if obj.owner_id != owner_id]


def _require_same_owner(owner_id: int | None, objects: Iterable[Any]) -> None:
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
    _require_same_owner(owner.pk, lists)
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
    _require_same_owner(recipient_list.owner_id, members)
    recipient_list.recipients.set(members)


def set_recipient_lists(
    *, actor: User, recipient: Recipient, lists: Iterable[RecipientList]
) -> None:
    chosen = list(lists)
    _require_same_owner(recipient.owner_id, chosen)
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


# --- messages -------------------------------------------------------------------------


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


# --- mailings -------------------------------------------------------------------------


def audience_queryset(mailing: Mailing) -> Any:
    """Everyone the mailing addresses, whether or not they can currently receive it."""
    return Recipient.objects.filter(
        Q(lists__mailings=mailing) | Q(mailings=mailing), owner=mailing.owner_id
    ).distinct()


def _validate_schedule(mailing: Mailing, *, now: datetime, for_scheduling: bool) -> None:
    errors: dict[str, str] = {}
    if mailing.periodicity == Periodicity.CRON:
        try:
            scheduling.validate_cron(mailing.cron_expression)
        except scheduling.ScheduleError:
            errors["cron_expression"] = _(
                "Not a valid cron expression (five fields, e.g. '0 9 * * 1')."
            )
    if mailing.end_at is not None and mailing.end_at <= mailing.first_send_at:
        errors["end_at"] = _("The end must be after the first send.")
    if (
        for_scheduling
        and mailing.periodicity == Periodicity.ONCE
        and mailing.first_send_at < now - timedelta(minutes=1)
    ):
        errors["first_send_at"] = _("A one-off mailing cannot start in the past.")
    if errors:
        raise ValidationError(errors)


def compute_next_send_at(mailing: Mailing, *, now: datetime) -> datetime | None:
    """The next slot at or after now (a one-off keeps its time if just past)."""
    first = mailing.first_send_at.replace(microsecond=0)
    after = max(now, first) if mailing.periodicity != Periodicity.ONCE else first
    return scheduling.next_slot(mailing, after=after, inclusive=True)


def save_mailing(
    *,
    owner: User,
    name: str,
    message: Message,
    first_send_at: datetime,
    periodicity: str,
    lists: Iterable[RecipientList] = (),
    recipients: Iterable[Recipient] = (),
    cron_expression: str = "",
    end_at: datetime | None = None,
    mailing: Mailing | None = None,
) -> Mailing:
    """Create or edit a mailing; an active one is rescheduled from its new settings."""
    now = timezone.now()
    if mailing is None:
        mailing = Mailing(owner=owner, time_zone=owner.time_zone)
    elif mailing.status == MailingStatus.COMPLETED:
        raise ValidationError(_("A completed mailing cannot be edited."))
    lists, recipients = list(lists), list(recipients)
    _require_same_owner(mailing.owner_id, [message, *lists, *recipients])
    mailing.name = name.strip()
    mailing.message = message
    mailing.first_send_at = first_send_at.replace(microsecond=0)
    mailing.periodicity = periodicity
    mailing.cron_expression = cron_expression.strip() if periodicity == Periodicity.CRON else ""
    mailing.end_at = end_at
    mailing.full_clean(exclude=["owner", "message"])
    active = mailing.status in ACTIVE_STATUSES
    _validate_schedule(mailing, now=now, for_scheduling=active)
    with transaction.atomic():
        if active:
            mailing.next_send_at = compute_next_send_at(mailing, now=now)
        mailing.save()
        mailing.lists.set(lists)
        mailing.recipients.set(recipients)
    stats.invalidate(owner_id=mailing.owner_id)
    return mailing


def schedule_mailing(*, actor: User, mailing: Mailing) -> Mailing:
    if mailing.status not in (MailingStatus.DRAFT,):
        raise ValidationError(_("Only a draft can be scheduled; use resume for a paused mailing."))
    now = timezone.now()
    _validate_schedule(mailing, now=now, for_scheduling=True)
    if not mailing.message.is_active:
        raise ValidationError({"message": _("The message is deactivated.")})
    if not audience_queryset(mailing).exists():
        raise ValidationError({"recipients": _("Add recipients or lists before scheduling.")})
    next_send_at = compute_next_send_at(mailing, now=now)
    if next_send_at is None:
        raise ValidationError(_("The schedule has no future send time."))
    mailing.status = MailingStatus.SCHEDULED
    mailing.status_reason = ""
    mailing.next_send_at = next_send_at
    mailing.save(update_fields=["status", "status_reason", "next_send_at", "updated_at"])
    stats.invalidate(owner_id=mailing.owner_id)
    return mailing


def pause_mailing(
    *, actor: Any, mailing: Mailing, reason: str = "", disable: bool = False
) -> Mailing:
    """Freeze a mailing: no new runs fire and a run in progress stops sending.

    A person pausing someone else's mailing (a moderator) is named in the reason when
    they give none; `disable` also keeps the owner from resuming.
    """
    by_someone_else = actor.pk is not None and mailing.owner_id != actor.pk
    return freeze_mailing(
        mailing=mailing,
        reason=reason or (paused_by_manager_reason() if by_someone_else else ""),
        disable=disable,
    )


def paused_by_manager_reason() -> str:
    return _("Paused by a manager.")


@transaction.atomic
def freeze_mailing(*, mailing: Mailing, reason: str, disable: bool = False) -> Mailing:
    """The write of a pause, for the pause action and the auto-pause alike."""
    if mailing.status not in (*ACTIVE_STATUSES, MailingStatus.PAUSED):
        raise ValidationError(_("Only a scheduled or running mailing can be paused."))
    mailing.status = MailingStatus.PAUSED
    mailing.status_reason = reason[:500]
    mailing.disabled_by_manager = mailing.disabled_by_manager or disable
    mailing.save(update_fields=["status", "status_reason", "disabled_by_manager", "updated_at"])
    MailingRun.objects.filter(
        mailing=mailing, status__in=[RunStatus.PREPARING, RunStatus.SENDING]
    ).update(status=RunStatus.PAUSED, status_reason=_("The mailing was paused."))
    stats.invalidate(owner_id=mailing.owner_id)
    return mailing


@transaction.atomic
def resume_mailing(*, actor: Any, mailing: Mailing) -> Mailing:
    """Pick up from now: slots that passed while paused are not sent."""
    if mailing.status != MailingStatus.PAUSED:
        raise ValidationError(_("Only a paused mailing can be resumed."))
    now = timezone.now()
    has_runs = mailing.runs.exclude(status=RunStatus.MISSED).exists()
    next_send_at = scheduling.next_slot(
        mailing, after=max(now, mailing.first_send_at), inclusive=True
    )
    paused_runs = list(mailing.runs.filter(status=RunStatus.PAUSED).values_list("pk", flat=True))
    if next_send_at is None and not paused_runs:
        mailing.status = MailingStatus.COMPLETED
    else:
        mailing.status = MailingStatus.RUNNING if has_runs else MailingStatus.SCHEDULED
    mailing.next_send_at = next_send_at
    mailing.status_reason = ""
    mailing.disabled_by_manager = False
    mailing.save(
        update_fields=[
            "status",
            "status_reason",
            "next_send_at",
            "disabled_by_manager",
            "updated_at",
        ]
    )
    if paused_runs:
        # A run paused before its deliveries were written is prepared again; one with
        # deliveries sends on. Both in this transaction, so no sweep can see a sending
        # run without deliveries and call it finished.
        unprepared = set(
            MailingRun.objects.filter(pk__in=paused_runs)
            .exclude(deliveries__isnull=False)
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        MailingRun.objects.filter(pk__in=unprepared, status=RunStatus.PAUSED).update(
            status=RunStatus.PREPARING,
            status_reason="",
            consecutive_failures=0,
            state=WorkState.PENDING,
            lease_owner="",
            lease_expires_at=None,
            queued_at=now,
            state_changed_at=now,
        )
        sending = [run_id for run_id in paused_runs if run_id not in unprepared]
        MailingRun.objects.filter(pk__in=sending, status=RunStatus.PAUSED).update(
            status=RunStatus.SENDING, status_reason="", consecutive_failures=0
        )
        background.start_each("campaigns.start_run", [(run_id,) for run_id in unprepared])
        background.start_each("campaigns.resume_run", [(run_id,) for run_id in sending])
    stats.invalidate(owner_id=mailing.owner_id)
    return mailing


def complete_mailing(*, actor: Any, mailing: Mailing) -> Mailing:
    """Final: no further runs. A run already sending finishes."""
    if mailing.status == MailingStatus.COMPLETED:
        return mailing
    mailing.status = MailingStatus.COMPLETED
    mailing.next_send_at = None
    mailing.save(update_fields=["status", "next_send_at", "updated_at"])
    stats.invalidate(owner_id=mailing.owner_id)
    return mailing


def delete_mailing(*, actor: User, mailing: Mailing) -> None:
    owner_id = mailing.owner_id
    mailing.delete()
    stats.invalidate(owner_id=owner_id)


def delete_message(*, actor: User, message: Message) -> None:
    if message.mailings.exists():
        raise ValidationError(_("This message is used by a mailing; deactivate it instead."))
    try:
        message.delete()
    except IntegrityError as exc:  # pragma: no cover - the check above covers it
        raise ValidationError(str(exc)) from exc
