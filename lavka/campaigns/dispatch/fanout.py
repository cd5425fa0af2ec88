"""Preparing a run (one Delivery per recipient) and handing its deliveries to tasks."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from lavka.campaigns.dispatch.finishing import finalize_run
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    MailingRun,
    RunStatus,
)
from lavka.campaigns.services import audience_queryset
from lavka.core import work
from lavka.core.work import WorkState


def _skip_reason(*, is_active: bool, unsubscribed: bool, suppressed: bool) -> str:
    if unsubscribed:
        return "unsubscribed"
    if suppressed:
        return "suppressed"
    if not is_active:
        return "inactive"
    return ""


def start_run(*, run_id: int) -> None:
    """Write one Delivery per recipient and fan out the sending. Safe to repeat: the run
    is claimed while its deliveries are written, and a recipient gets one delivery."""
    run = work.claim_one(MailingRun.objects.filter(pk=run_id, status=RunStatus.PREPARING))
    if run is None:
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
        skip_reason = _skip_reason(
            is_active=is_active,
            unsubscribed=unsubscribed_at is not None,
            suppressed=suppressed_at is not None,
        )
        deliveries.append(
            Delivery(
                run=run,
                recipient_id=recipient_id,
                email=email,
                owner_id=mailing.owner_id,
                status=DeliveryStatus.SKIPPED if skip_reason else DeliveryStatus.PENDING,
                state=WorkState.DONE if skip_reason else WorkState.PENDING,
                skip_reason=skip_reason,
                queued_at=now,
                state_changed_at=now,
            )
        )
    Delivery.objects.bulk_create(deliveries, batch_size=1000, ignore_conflicts=True)
    with transaction.atomic():
        if not work.complete(run):
            return  # its lease ran out: the worker that took the run over (or gave it up) owns it
        started = MailingRun.objects.filter(pk=run.pk, status=RunStatus.PREPARING).update(
            status=RunStatus.SENDING, started_at=now
        )
        if started:
            enqueue_pending(run_id=run.pk)
    finalize_run(run_id=run.pk)


def enqueue_pending(*, run_id: int) -> int:
    """Queue send tasks for the run's due, unclaimed pending deliveries (after the
    commit); the sweeper covers whatever is lost after that."""
    now = timezone.now()
    pending = work.claimable(
        Delivery.objects.filter(run_id=run_id, status=DeliveryStatus.PENDING), now=now
    )
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    work.mark_queued(Delivery.objects.filter(pk__in=ids), now=now)
    Delivery.queue_work(ids)
    return len(ids)


def resume_run(*, run_id: int) -> None:
    """Carry on a run that `resume_mailing` set sending again: queue its pending
    deliveries (a run paused before it had any is prepared again by `start_run`)."""
    if MailingRun.objects.filter(pk=run_id, status=RunStatus.SENDING).exists():
        enqueue_pending(run_id=run_id)
