"""Sending campaigns: firing due slots, fanning out chunks, recording every outcome.

Reliability comes from the rows, not from the broker. A Delivery is `pending` until an
SMTP server accepted or refused it; a worker claims a few deliveries at a time with a
short lease before sending them; a sweeper re-enqueues pending deliveries whose lease
ran out or whose task message was lost. So a worker killed with -9, a broker that drops
messages (the filesystem transport) or a restart loses nothing, and a claimed delivery
is sent by one worker only. A resend after a crash between SMTP's 250 and our commit
carries the same Message-ID, so it is recognisable.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypedDict

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lavka.campaigns import scheduling, stats
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    MailingStatus,
    RunStatus,
    SendingPolicy,
)
from lavka.campaigns.personalisation import Personalisation, html_to_text
from lavka.campaigns.sending import ConnectionFailed, Sender, SendResult, open_sender
from lavka.campaigns.services import ACTIVE_STATUSES, audience_queryset
from lavka.campaigns.unsubscribe import unsubscribe_url

logger = logging.getLogger(__name__)

RATE_WINDOW = timedelta(seconds=60)


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def chunk_size() -> int:
    return _setting("CAMPAIGNS_CHUNK_SIZE", 500)


def connections_per_chunk() -> int:
    return _setting("CAMPAIGNS_CONNECTIONS_PER_CHUNK", 4)


def batch_size() -> int:
    return _setting("CAMPAIGNS_BATCH_SIZE", 50)


def claim_lease() -> timedelta:
    return timedelta(seconds=_setting("CAMPAIGNS_CLAIM_SECONDS", 60))


def requeue_after() -> timedelta:
    return timedelta(seconds=_setting("CAMPAIGNS_REQUEUE_AFTER_SECONDS", 120))


def missed_grace() -> timedelta:
    return timedelta(seconds=_setting("CAMPAIGNS_MISSED_GRACE_SECONDS", 3600))


def max_attempts() -> int:
    return _setting("CAMPAIGNS_MAX_ATTEMPTS", 5)


def rate_slack() -> timedelta:
    """How long after reserving a rate slot a message may still go out on it."""
    return timedelta(seconds=_setting("CAMPAIGNS_RATE_SLACK_SECONDS", 5))


def retry_delay(attempts: int) -> timedelta:
    """Bounded, jittered exponential backoff for temporary SMTP failures."""
    base = _setting("CAMPAIGNS_RETRY_BASE_SECONDS", 30)
    delay = min(base * 2 ** max(0, attempts - 1), 3600)
    return timedelta(seconds=delay * random.uniform(0.8, 1.2))


# --- firing due slots ------------------------------------------------------------------


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


def _next_slot(mailing: Mailing, after: datetime) -> datetime | None:
    return scheduling.next_occurrence(
        periodicity=mailing.periodicity,
        first_send_at=mailing.first_send_at,
        time_zone=mailing.time_zone,
        after=after,
        cron_expression=mailing.cron_expression,
        end_at=mailing.end_at,
    )


def _create_run(mailing: Mailing, slot: datetime, status: str) -> MailingRun | None:
    """The run for this slot, or None if it already exists (a duplicate firing)."""
    message = mailing.message
    try:
        with transaction.atomic():
            return MailingRun.objects.create(
                mailing=mailing,
                scheduled_for=slot,
                status=status,
                status_reason=_("Lavka was down at the scheduled time.")
                if status == RunStatus.MISSED
                else "",
                subject=message.subject,
                html_body=message.html_body,
                text_body=message.text_body or html_to_text(message.html_body),
                finished_at=timezone.now() if status == RunStatus.MISSED else None,
            )
    except IntegrityError:
        logger.warning(
            "mailing %s slot %s fired twice; the second firing sends nothing", mailing.pk, slot
        )
        return None


def fire_due_slot(*, mailing_id: int, now: datetime) -> int | None:
    with transaction.atomic():
        mailing = (
            Mailing.objects.select_for_update(skip_locked=True)
            .select_related("message")
            .filter(pk=mailing_id, status__in=ACTIVE_STATUSES, next_send_at__lte=now)
            .first()
        )
        if mailing is None:
            return None
        slot: datetime | None = mailing.next_send_at
        fired: MailingRun | None = None
        missed = 0
        while slot is not None and slot <= now:
            if now - slot > missed_grace():
                _create_run(mailing, slot, RunStatus.MISSED)
                missed += 1
                slot = _next_slot(mailing, slot if missed < 50 else now - missed_grace())
                continue
            fired = _create_run(mailing, slot, RunStatus.PREPARING)
            slot = _next_slot(mailing, slot)
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
        run_id = fired.pk
        from lavka.campaigns.tasks import start_run as start_run_task

        transaction.on_commit(lambda: start_run_task.delay(run_id))
        return run_id


# --- preparing a run --------------------------------------------------------------------


def start_run(*, run_id: int) -> None:
    """Write one Delivery per recipient and fan out the sending. Safe to repeat."""
    run = MailingRun.objects.select_related("mailing").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.PREPARING:
        return
    mailing = run.mailing
    audience = audience_queryset(mailing).values_list(
        "pk", "email", "is_active", "unsubscribed_at", "suppressed_at"
    )
    now = timezone.now()
    deliveries = []
    for recipient_id, email, is_active, unsubscribed_at, suppressed_at in audience.iterator(
        chunk_size=2000
    ):
        skip_reason = (
            "unsubscribed"
            if unsubscribed_at
            else "suppressed"
            if suppressed_at
            else "inactive"
            if not is_active
            else ""
        )
        deliveries.append(
            Delivery(
                run=run,
                recipient_id=recipient_id,
                email=email,
                owner_id=mailing.owner_id,
                status=DeliveryStatus.SKIPPED if skip_reason else DeliveryStatus.PENDING,
                skip_reason=skip_reason,
                enqueued_at=now,
            )
        )
    Delivery.objects.bulk_create(deliveries, batch_size=1000, ignore_conflicts=True)
    started = MailingRun.objects.filter(pk=run.pk, status=RunStatus.PREPARING).update(
        status=RunStatus.SENDING, started_at=now
    )
    if started:
        enqueue_pending(run_id=run.pk, force=True)
    finalize_run(run_id=run.pk)


def _ranges(ids: list[int], size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, len(ids), size):
        part = ids[start : start + size]
        yield part[0], part[-1]


def enqueue_pending(*, run_id: int, force: bool = False) -> int:
    """Queue send tasks for the run's due, unclaimed pending deliveries.

    Without `force`, only deliveries not queued in the last `requeue_after()` are
    taken, so the sweeper re-queues lost work without flooding the queue.
    """
    now = timezone.now()
    pending = Delivery.objects.filter(run_id=run_id, status=DeliveryStatus.PENDING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        Q(not_before__isnull=True) | Q(not_before__lte=now),
    )
    if not force:
        pending = pending.filter(
            Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - requeue_after())
        )
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    from lavka.campaigns.tasks import send_chunk

    ranges = list(_ranges(ids, chunk_size()))

    def publish() -> None:
        for first_id, last_id in ranges:
            send_chunk.delay(run_id, first_id, last_id)

    transaction.on_commit(publish)
    return len(ids)


def resume_run(*, run_id: int) -> None:
    updated = MailingRun.objects.filter(pk=run_id, status=RunStatus.PAUSED).update(
        status=RunStatus.SENDING, status_reason="", consecutive_failures=0
    )
    if updated:
        if not Delivery.objects.filter(run_id=run_id).exists():
            MailingRun.objects.filter(pk=run_id).update(status=RunStatus.PREPARING)
            from lavka.campaigns.tasks import start_run as start_run_task

            transaction.on_commit(lambda: start_run_task.delay(run_id))
        else:
            enqueue_pending(run_id=run_id, force=True)


# --- sending a chunk ---------------------------------------------------------------------


@dataclass
class Outcome:
    delivery_id: int
    recipient_id: int
    attempts_before: int
    result: SendResult


def send_chunk(*, run_id: int, first_id: int, last_id: int) -> None:
    """Send the run's pending deliveries with ids in [first_id, last_id].

    The chunk is spread over several SMTP connections so that a slow, distant server is
    kept busy; each connection claims a small batch at a time.
    """
    run = MailingRun.objects.select_related("mailing").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.SENDING:
        return
    ids = list(
        Delivery.objects.filter(
            run_id=run_id, pk__gte=first_id, pk__lte=last_id, status=DeliveryStatus.PENDING
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    lanes = max(1, min(connections_per_chunk(), len(ids) // max(1, batch_size()) or 1))
    groups = [ids[lane::lanes] for lane in range(lanes)]
    if lanes == 1:
        _send_group(run, groups[0])
    else:
        threads = [
            threading.Thread(target=_send_group_in_thread, args=(run, group)) for group in groups
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finalize_run(run_id=run_id)


def _send_group_in_thread(run: MailingRun, ids: list[int]) -> None:
    try:
        _send_group(run, ids)
    except Exception:
        logger.exception("sending lane of run %s failed", run.pk)
    finally:
        connection.close()


def _run_is_sending(run_id: int) -> bool:
    return MailingRun.objects.filter(pk=run_id, status=RunStatus.SENDING).exists()


def _send_group(run: MailingRun, ids: list[int]) -> None:
    sender = open_sender()
    try:
        for start in range(0, len(ids), batch_size()):
            if not _run_is_sending(run.pk):
                return
            claimed = _claim(ids[start : start + batch_size()])
            if not claimed:
                continue
            granted, retry_at = reserve_rate_slots(
                owner_id=run.mailing.owner_id, delivery_ids=[d["pk"] for d in claimed]
            )
            granted_set = set(granted)
            held_back = [d["pk"] for d in claimed if d["pk"] not in granted_set]
            if held_back:
                _release(held_back, not_before=retry_at)
            outcomes = _send_batch(run, sender, [d for d in claimed if d["pk"] in granted_set])
            _record(run, outcomes)
            if held_back:
                return  # the rest waits for the rate window; the sweeper re-queues it
    finally:
        sender.close()


class ClaimedDelivery(TypedDict):
    pk: int
    email: str
    recipient_id: int
    recipient__full_name: str
    attempts: int


def _claim(ids: list[int]) -> list[ClaimedDelivery]:
    now = timezone.now()
    token = uuid.uuid4().hex
    Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        Q(not_before__isnull=True) | Q(not_before__lte=now),
    ).update(claim_token=token, claimed_until=now + claim_lease())
    return list(
        Delivery.objects.filter(pk__in=ids, claim_token=token)
        .order_by("pk")
        .values("pk", "email", "recipient_id", "recipient__full_name", "attempts")
    )


def _release(ids: list[int], *, not_before: datetime | None) -> None:
    Delivery.objects.filter(pk__in=ids).update(
        claim_token="", claimed_until=None, not_before=not_before, enqueued_at=None
    )


def reserve_rate_slots(
    *, owner_id: int, delivery_ids: list[int], now: datetime | None = None
) -> tuple[list[int], datetime | None]:
    """Grant as many sends as the owner's per-minute limit allows right now.

    Counted over every worker: the owner's policy row is locked while counting the
    slots taken in the last minute (plus the slack a granted message has to go out),
    so no 60-second window of sends holds more than the limit. Returns the granted ids
    and, when some were held back, when to try again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        SendingPolicy.objects.get_or_create(owner_id=owner_id)
        policy = SendingPolicy.objects.select_for_update().get(owner_id=owner_id)
        window = Delivery.objects.filter(
            owner_id=owner_id, rate_slot_at__gt=now - RATE_WINDOW - rate_slack()
        )
        used = window.count()
        free = max(0, policy.messages_per_minute - used)
        granted = delivery_ids[:free]
        if granted:
            Delivery.objects.filter(pk__in=granted).update(rate_slot_at=now)
        retry_at = None
        if len(granted) < len(delivery_ids):
            oldest = window.order_by("rate_slot_at").values_list("rate_slot_at", flat=True).first()
            retry_at = (oldest or now) + RATE_WINDOW + rate_slack() + timedelta(milliseconds=10)
    return granted, retry_at


def build_email(
    run: MailingRun, delivery_id: int, recipient_id: int, email: str, name: str
) -> EmailMultiAlternatives:
    unsubscribe = unsubscribe_url(recipient_id)
    personal = Personalisation(name=name or email, email=email, unsubscribe_url=unsubscribe)
    domain = (
        settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "lavka.localhost"
    )
    message = EmailMultiAlternatives(
        subject=personal.render_text(run.subject),
        body=personal.render_text(run.text_body),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
        headers={
            "Message-ID": f"<lavka-delivery-{delivery_id}@{domain}>",
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-Lavka-Run": str(run.pk),
        },
    )
    message.attach_alternative(personal.render_html(run.html_body), "text/html")
    return message


def _send_batch(
    run: MailingRun, sender: Sender, deliveries: list[ClaimedDelivery]
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    deadline = timezone.now() + rate_slack()
    for index, delivery in enumerate(deliveries):
        delivery_id, recipient_id = delivery["pk"], delivery["recipient_id"]
        if timezone.now() > deadline:
            # The rate slot is too old to use; give the rest back for a new reservation.
            _release([d["pk"] for d in deliveries[index:]], not_before=None)
            break
        email = build_email(
            run,
            delivery_id,
            recipient_id,
            str(delivery["email"]),
            str(delivery["recipient__full_name"] or ""),
        )
        try:
            result = sender.send(email)
        except ConnectionFailed as exc:
            reply = str(exc)[:490]
            outcomes.extend(
                Outcome(d["pk"], d["recipient_id"], d["attempts"], SendResult(0, reply))
                for d in deliveries[index:]
            )
            break
        outcomes.append(Outcome(delivery_id, recipient_id, delivery["attempts"], result))
    return outcomes


def _record(run: MailingRun, outcomes: list[Outcome]) -> None:
    """Store each outcome; count failures in a row and pause the run past the limit.

    Outcomes with the same result are written by one UPDATE, so a batch of accepted
    messages costs one statement, not one per row.
    """
    if not outcomes:
        return
    now = timezone.now()
    released = {
        "claim_token": "",
        "claimed_until": None,
        "last_attempt_at": now,
        "attempts": F("attempts") + 1,
    }
    GroupKey = tuple[str, int | None, str, datetime | None, bool]
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
        elif result.permanent or outcome.attempts_before + 1 >= max_attempts():
            key = (DeliveryStatus.FAILED, code, result.reply, None, False)
            failures_in_a_row += 1
            last_failure = reply
            if result.permanent:
                suppress.setdefault(reply, []).append(outcome.recipient_id)
        else:
            attempt = outcome.attempts_before + 1
            retry_at.setdefault(attempt, now + retry_delay(attempt))
            key = (DeliveryStatus.PENDING, code, result.reply, retry_at[attempt], False)
            last_failure = reply
        groups.setdefault(key, []).append(outcome.delivery_id)
    with transaction.atomic():
        for (status, code, reply, not_before, sent), ids in groups.items():
            Delivery.objects.filter(pk__in=ids).update(
                status=status,
                smtp_code=code,
                smtp_reply=reply,
                sent_at=now if sent else None,
                not_before=not_before,
                **({"enqueued_at": None} if not_before else {}),
                **released,
            )
        for reason, recipient_ids in suppress.items():
            from lavka.campaigns.services import suppress_recipients

            suppress_recipients(recipient_ids=recipient_ids, reason=reason)
        if saw_success:
            MailingRun.objects.filter(pk=run.pk).update(consecutive_failures=failures_in_a_row)
        elif failures_in_a_row:
            MailingRun.objects.filter(pk=run.pk).update(
                consecutive_failures=F("consecutive_failures") + failures_in_a_row
            )
    if failures_in_a_row:
        _pause_if_failing(run, last_failure)


def _pause_if_failing(run: MailingRun, last_failure: str) -> None:
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
        if paused:
            Mailing.objects.filter(pk=run.mailing_id, status__in=ACTIVE_STATUSES).update(
                status=MailingStatus.PAUSED, status_reason=reason[:500]
            )


# --- finishing and recovering -------------------------------------------------------------


def finalize_run(*, run_id: int) -> None:
    """Bring the run's counters in line with its deliveries; complete it when done.

    Several lanes and workers finish at once; the run row is locked while counting so a
    finaliser that counted earlier cannot overwrite the counts of one that counted later.
    """
    with transaction.atomic():
        _finalize_locked_run(run_id)


def _finalize_locked_run(run_id: int) -> None:
    run = (
        MailingRun.objects.select_for_update(of=("self",)).select_related("mailing").get(pk=run_id)
    )
    counts = dict(
        Delivery.objects.filter(run_id=run_id).values_list("status").annotate(n=Count("pk"))
    )
    total = sum(counts.values())
    pending = counts.get(DeliveryStatus.PENDING, 0)
    fields = {
        "total": total,
        "sent": counts.get(DeliveryStatus.SENT, 0),
        "failed": counts.get(DeliveryStatus.FAILED, 0),
        "skipped": counts.get(DeliveryStatus.SKIPPED, 0),
    }
    MailingRun.objects.filter(pk=run_id).update(**fields)
    if pending == 0 and run.status == RunStatus.SENDING:
        failed_everything = fields["sent"] == 0 and fields["failed"] > 0
        reason = ""
        if failed_everything:
            last = (
                Delivery.objects.filter(run_id=run_id, status=DeliveryStatus.FAILED)
                .order_by("-last_attempt_at")
                .values_list("smtp_code", "smtp_reply")
                .first()
            )
            reason = _("Every delivery failed. Last reply: %(reply)s") % {
                "reply": f"{last[0] or ''} {last[1]}".strip() if last else "—"
            }
        MailingRun.objects.filter(pk=run_id, status=RunStatus.SENDING).update(
            status=RunStatus.FAILED if failed_everything else RunStatus.COMPLETED,
            status_reason=reason[:500],
            finished_at=timezone.now(),
        )
        Mailing.objects.filter(
            pk=run.mailing_id, status=MailingStatus.RUNNING, next_send_at__isnull=True
        ).update(status=MailingStatus.COMPLETED)
    stats.invalidate(owner_id=run.mailing.owner_id)


def recover_stalled(*, now: datetime | None = None) -> int:
    """Re-queue work that a dead worker or a lost message left behind."""
    now = now or timezone.now()
    requeued = 0
    stuck_preparing = MailingRun.objects.filter(
        status=RunStatus.PREPARING, created_at__lt=now - requeue_after()
    ).values_list("pk", flat=True)
    from lavka.campaigns.tasks import start_run as start_run_task

    for run_id in list(stuck_preparing):
        transaction.on_commit(partial(start_run_task.delay, run_id))
        requeued += 1
    for run_id in list(
        MailingRun.objects.filter(status=RunStatus.SENDING).values_list("pk", flat=True)
    ):
        count = enqueue_pending(run_id=run_id)
        if (
            count == 0
            and not Delivery.objects.filter(run_id=run_id, status=DeliveryStatus.PENDING).exists()
        ):
            finalize_run(run_id=run_id)
        requeued += count
    return requeued


def send_everything_now(*, run_id: int) -> None:
    """Drive a run to the end in this process: for tests and the command line."""
    start_run(run_id=run_id)
    for _round in range(max_attempts() + 2):
        ids = list(
            Delivery.objects.filter(run_id=run_id, status=DeliveryStatus.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            break
        send_chunk(run_id=run_id, first_id=ids[0], last_id=ids[-1])
        Delivery.objects.filter(run_id=run_id, status=DeliveryStatus.PENDING).update(
            not_before=None
        )
    finalize_run(run_id=run_id)
