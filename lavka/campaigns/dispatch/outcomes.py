"""Recording what the SMTP server said, and pausing a run that keeps failing."""

from __future__ import annotations

import contextlib
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


class OutcomeLog:
    """Writes each delivery's outcome the moment it is known, and keeps the run's count
    of failures in a row.

    One small UPDATE per message, right after the server answered, so a worker killed
    mid-batch leaves at most the message on the wire unrecorded (sent again, with the
    same Message-ID, after its lease). Only rows still under this caller's lease are
    written: a worker whose lease ran out never overwrites the outcome of the one that
    took over, and `record` says so, so that it stops sending. The run's counter and the
    pause check are written once per batch by `close`.
    """

    def __init__(self, run: MailingRun, *, lease_owner: str) -> None:
        self.run, self.lease_owner = run, lease_owner
        self.failures_in_a_row, self.saw_success, self.last_failure = 0, False, ""
        self._retry_at: dict[int, datetime] = {}

    def record(self, outcomes: list[Outcome], *, begin: int | None = None) -> bool:
        """Store these outcomes (one UPDATE per distinct result), then begin the delivery
        `begin` (sent next); False when none of the rows was still this caller's to
        write, or the one to begin was not."""
        if not outcomes:
            return True
        now = timezone.now()
        groups: dict[GroupKey, list[int]] = {}
        suppress: dict[str, list[int]] = {}
        for outcome in outcomes:
            key = self._classify(outcome, now=now)
            groups.setdefault(key, []).append(outcome.delivery_id)
            if outcome.result.permanent:
                reason = f"{outcome.result.code} {outcome.result.reply}".strip()
                suppress.setdefault(reason, []).append(outcome.recipient_id)
        written, began = 0, True
        # Begun after the outcome, not in one transaction with it: it only has to come
        # before the next send, and on SQLite a transaction holding the write lock across
        # both statements cut two workers' sending by a fifth (bench/campaign_send.py).
        with transaction.atomic() if suppress else contextlib.nullcontext():
            for key, ids in groups.items():
                rows = Delivery.objects.filter(pk__in=ids, lease_owner=self.lease_owner)
                written += rows.update(**_group_fields(key, now=now))
            for reason, recipient_ids in suppress.items():
                suppress_recipients(recipient_ids=recipient_ids, reason=reason)
            # Only when the outcome was still ours: otherwise the batch stops, and a row
            # begun but never sent would cost an attempt when taken over.
            if begin is not None and written:
                began = work.begin(Delivery, begin, lease_owner=self.lease_owner)
        return written > 0 and began

    def _classify(self, outcome: Outcome, *, now: datetime) -> GroupKey:
        result, code = outcome.result, outcome.result.code or None
        if result.ok:
            self.failures_in_a_row, self.saw_success = 0, True
            return (DeliveryStatus.SENT, code, result.reply, None, True)
        self.last_failure = f"{result.code or ''} {result.reply}".strip()
        attempt = outcome.attempts_before + 1
        if result.not_sent or result.permanent or attempt >= Delivery.max_attempts:
            self.failures_in_a_row += 1
            return (DeliveryStatus.FAILED, code, result.reply, None, False)
        if attempt not in self._retry_at:
            self._retry_at[attempt] = now + work.backoff(
                attempt,
                base_seconds=Delivery.retry_base_seconds,
                cap_seconds=Delivery.retry_cap_seconds,
            )
        return (DeliveryStatus.PENDING, code, result.reply, self._retry_at[attempt], False)

    def close(self) -> None:
        """Write the run's failures in a row for this batch; pause it past the limit."""
        if self.saw_success:
            MailingRun.objects.filter(pk=self.run.pk).update(
                consecutive_failures=self.failures_in_a_row
            )
        elif self.failures_in_a_row:
            MailingRun.objects.filter(pk=self.run.pk).update(
                consecutive_failures=F("consecutive_failures") + self.failures_in_a_row
            )
        if self.failures_in_a_row:
            pause_if_failing(self.run, self.last_failure)


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
