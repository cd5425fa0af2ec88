"""Recording what the SMTP server said, and pausing a run that keeps failing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from lavka.campaigns.actions import PauseMailing
from lavka.campaigns.models import (
    ACTIVE_STATUSES,
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    RunStatus,
    SendingPolicy,
)
from lavka.campaigns.sending import SendResult
from lavka.campaigns.services import suppress_recipients
from lavka.core import work
from lavka.core.actions import SYSTEM


@dataclass
class Outcome:
    delivery_id: int
    recipient_id: int
    attempts_before: int
    result: SendResult


# (status, SMTP code, reply, retry time, sent)
GroupKey = tuple[str, int | None, str, datetime | None, bool]


def _group_fields(key: GroupKey, *, now: datetime) -> dict[str, Any]:
    status, code, reply, not_before, sent = key
    own = {
        "status": status,
        "smtp_code": code,
        "smtp_reply": reply,
        "sent_at": now if sent else None,
        "last_attempt_at": now,
    }
    error = f"{code or ''} {reply}".strip()
    if status == DeliveryStatus.SENT:
        return {**work.done_fields(now=now), "attempts": F("attempts") + 1, **own}
    if status == DeliveryStatus.FAILED:
        return {**work.failed_fields(error=error, now=now), **own}
    assert not_before is not None
    return {**work.retry_fields(error=error, not_before=not_before, now=now), **own}


def record_outcomes(run: MailingRun, outcomes: list[Outcome], *, lease_owner: str) -> None:
    """Store each outcome; count failures in a row and pause the run past the limit.

    Outcomes with the same result are written by one UPDATE, so a batch of accepted
    messages costs one statement, not one per row. Only rows still under this caller's
    lease are written: a worker whose lease ran out never overwrites the outcome of the
    one that took over.
    """
    if not outcomes:
        return
    now = timezone.now()
    groups: dict[GroupKey, list[int]] = {}
    suppress: dict[str, list[int]] = {}
    failures_in_a_row, saw_success, last_failure = 0, False, ""
    retry_at: dict[int, datetime] = {}
    for outcome in outcomes:
        result, code = outcome.result, outcome.result.code or None
        reply = f"{result.code or ''} {result.reply}".strip()
        key: GroupKey
        if result.ok:
            key = (DeliveryStatus.SENT, code, result.reply, None, True)
            failures_in_a_row, saw_success = 0, True
        elif result.permanent or outcome.attempts_before + 1 >= Delivery.max_attempts:
            key = (DeliveryStatus.FAILED, code, result.reply, None, False)
            failures_in_a_row += 1
            last_failure = reply
            if result.permanent:
                suppress.setdefault(reply, []).append(outcome.recipient_id)
        else:
            attempt = outcome.attempts_before + 1
            if attempt not in retry_at:
                retry_at[attempt] = now + work.backoff(
                    attempt,
                    base_seconds=Delivery.retry_base_seconds,
                    cap_seconds=Delivery.retry_cap_seconds,
                )
            key = (DeliveryStatus.PENDING, code, result.reply, retry_at[attempt], False)
            last_failure = reply
        groups.setdefault(key, []).append(outcome.delivery_id)
    with transaction.atomic():
        for key, ids in groups.items():
            Delivery.objects.filter(pk__in=ids, lease_owner=lease_owner).update(
                **_group_fields(key, now=now)
            )
        for reason, recipient_ids in suppress.items():
            suppress_recipients(recipient_ids=recipient_ids, reason=reason)
        if saw_success:
            MailingRun.objects.filter(pk=run.pk).update(consecutive_failures=failures_in_a_row)
        elif failures_in_a_row:
            MailingRun.objects.filter(pk=run.pk).update(
                consecutive_failures=F("consecutive_failures") + failures_in_a_row
            )
    if failures_in_a_row:
        pause_if_failing(run, last_failure)


def pause_if_failing(run: MailingRun, last_failure: str) -> None:
    """Past the owner's limit of failures in a row, the run pauses with the reason and
    Lavka pauses its mailing through the pause action."""
    policy = SendingPolicy.objects.filter(owner_id=run.mailing.owner_id).first()
    limit = policy.pause_after_consecutive_failures if policy else 20
    current = (
        MailingRun.objects.filter(pk=run.pk).values_list("consecutive_failures", flat=True).first()
        or 0
    )
    if current < limit:
        return
    reason = _("Paused after %(count)s failures in a row. Last reply: %(reply)s") % {
        "count": current,
        "reply": last_failure or "—",
    }
    with transaction.atomic():
        paused = MailingRun.objects.filter(pk=run.pk, status=RunStatus.SENDING).update(
            status=RunStatus.PAUSED, status_reason=reason[:500]
        )
        if not paused:
            return
        mailing = (
            Mailing.objects.select_for_update()
            .filter(pk=run.mailing_id, status__in=ACTIVE_STATUSES)
            .first()
        )
        if mailing is not None:
            PauseMailing(SYSTEM, mailing=mailing, reason=reason).execute()
