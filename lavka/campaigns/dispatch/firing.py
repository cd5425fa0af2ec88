"""Firing due slots: each mailing whose next send time has come gets one run per slot."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lavka.campaigns import scheduling, stats
from lavka.campaigns.actions import PauseMailing, runs_campaigns
from lavka.campaigns.dispatch.limits import missed_grace
from lavka.campaigns.models import (
    ACTIVE_STATUSES,
    Mailing,
    MailingRun,
    MailingStatus,
    RunStatus,
)
from lavka.campaigns.personalisation import html_to_text
from lavka.core import background
from lavka.core.actions import SYSTEM
from lavka.core.work import WorkState

logger = logging.getLogger(__name__)


def dispatch_due_mailings(*, now: datetime | None = None) -> list[int]:
    """Fire every mailing whose next send time has come; returns the new run ids.

    Safe under several dispatchers at once: each mailing row is claimed with
    SELECT … FOR UPDATE SKIP LOCKED (SQLite serialises writers instead), and a run is
    unique per (mailing, slot), so a slot fires once whatever happens.
    """
    now = now or timezone.now()
    due = list(
        Mailing.objects.filter(status__in=ACTIVE_STATUSES, next_send_at__lte=now)
        .order_by("next_send_at")
        .values_list("pk", flat=True)[:500]
    )
    fired = []
    for mailing_id in due:
        run_id = fire_due_slot(mailing_id=mailing_id, now=now)
        if run_id is not None:
            fired.append(run_id)
    return fired


def create_run(mailing: Mailing, slot: datetime, status: str) -> MailingRun | None:
    """The run for this slot, or None if it already exists (a duplicate firing).

    A run to send waits for its deliveries (work pending, its task queued now); a
    missed one has no work.
    """
    message = mailing.message
    now = timezone.now()
    missed = status == RunStatus.MISSED
    try:
        with transaction.atomic():
            return MailingRun.objects.create(
                mailing=mailing,
                scheduled_for=slot,
                status=status,
                status_reason=_("Lavka was down at the scheduled time.") if missed else "",
                subject=message.subject,
                html_body=message.html_body,
                text_body=message.text_body or html_to_text(message.html_body),
                finished_at=now if missed else None,
                state=WorkState.DONE if missed else WorkState.PENDING,
                queued_at=None if missed else now,
            )
    except IntegrityError:
        logger.warning(
            "mailing %s slot %s fired twice; the second firing sends nothing", mailing.pk, slot
        )
        return None


def owner_may_not_send_reason() -> str:
    return _("Paused: its owner may no longer send campaigns (only creators may).")


def fire_due_slot(*, mailing_id: int, now: datetime) -> int | None:
    with transaction.atomic():
        mailing = (
            Mailing.objects.select_for_update(skip_locked=True)
            .select_related("message", "owner")
            .filter(pk=mailing_id, status__in=ACTIVE_STATUSES, next_send_at__lte=now)
            .first()
        )
        if mailing is None:
            return None
        if not runs_campaigns(mailing.owner):
            # scheduled before its owner lost the creator role (or was blocked)
            PauseMailing(SYSTEM, mailing=mailing, reason=owner_may_not_send_reason()).execute()
            return None
        slot: datetime | None = mailing.next_send_at
        fired: MailingRun | None = None
        missed = 0
        while slot is not None and slot <= now:
            if now - slot > missed_grace():
                create_run(mailing, slot, RunStatus.MISSED)
                missed += 1
                after = slot if missed < 50 else now - missed_grace()
                slot = scheduling.next_slot(mailing, after=after)
                continue
            fired = create_run(mailing, slot, RunStatus.PREPARING)
            slot = scheduling.next_slot(mailing, after=slot)
            break
        mailing.next_send_at = slot
        if fired is not None:
            mailing.status = MailingStatus.RUNNING
        elif (
            slot is None
            and not mailing.runs.filter(
                status__in=[RunStatus.PREPARING, RunStatus.SENDING, RunStatus.PAUSED]
            ).exists()
        ):
            mailing.status = MailingStatus.COMPLETED
        mailing.save(update_fields=["next_send_at", "status", "updated_at"])
        stats.invalidate(owner_id=mailing.owner_id)
        if fired is None:
            return None
        background.start("campaigns.start_run", fired.pk)
        return fired.pk
