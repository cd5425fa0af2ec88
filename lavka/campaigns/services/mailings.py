"""Writes about mailings: scheduling, pausing, resuming, completing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
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
from lavka.campaigns.services.audience import require_same_owner
from lavka.core import background
from lavka.core.work import WorkState


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
    _require_a_firing(mailing)


def _require_a_firing(mailing: Mailing) -> None:
    """Every schedule accepted must be able to fire: a cron such as February 30th never
    does (and would leave a mailing waiting forever), nor one whose firings all fall
    after its end."""
    schedule: dict[str, Any] = {
        "periodicity": mailing.periodicity,
        "first_send_at": mailing.first_send_at,
        "time_zone": mailing.time_zone,
        "cron_expression": mailing.cron_expression,
    }
    if scheduling.first_firing(**schedule) is None:
        field = "cron_expression" if mailing.periodicity == Periodicity.CRON else "first_send_at"
        raise ValidationError({field: _("This schedule never fires.")})
    if (
        mailing.end_at is not None
        and scheduling.first_firing(**schedule, end_at=mailing.end_at) is None
    ):
        raise ValidationError({"end_at": _("This schedule never fires before its end.")})


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
    require_same_owner(mailing.owner_id, [message, *lists, *recipients])
    mailing.name = name.strip()
    mailing.message = message
    mailing.first_send_at = first_send_at.replace(microsecond=0)
    mailing.periodicity = periodicity
    mailing.cron_expression = cron_expression.strip() if periodicity == Periodicity.CRON else ""
    mailing.end_at = end_at
    mailing.full_clean(exclude=["owner", "message"])
    active = mailing.status in ACTIVE_STATUSES
    _validate_schedule(mailing, now=now, for_scheduling=active)
    if active:
        mailing.next_send_at = compute_next_send_at(mailing, now=now)
        if mailing.next_send_at is None:
            raise ValidationError(_("The schedule has no future send time."))
    with transaction.atomic():
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
