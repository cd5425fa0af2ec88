"""Recovering work that a dead worker or a lost message left behind (a beat entry)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from lavka.campaigns.dispatch.finishing import finalize_run
from lavka.campaigns.models import Delivery, DeliveryStatus, MailingRun, RunStatus
from lavka.core import work

SWEEP_LIMIT = 5000


def _requeue(queryset: QuerySet[MailingRun] | QuerySet[Delivery], *, now: datetime) -> int:
    """The kernel's sweep (`work.requeue_lost_work`) for one of campaigns' models."""
    model = queryset.model
    with transaction.atomic():
        ids: Sequence[int] = list(
            queryset.order_by("pk").values_list("pk", flat=True)[:SWEEP_LIMIT]
        )
        if ids:
            work.mark_queued(model._default_manager.filter(pk__in=ids), now=now)
            model.queue_work(ids)
    return len(ids)


def recover_stalled(*, now: datetime | None = None) -> int:
    """Re-queue lost runs still preparing and lost deliveries of sending runs; finish
    sending runs with nothing left to send. Returns how many rows were re-queued."""
    now = now or timezone.now()
    requeued = _requeue(work.lost(MailingRun, now=now).filter(status=RunStatus.PREPARING), now=now)
    requeued += _requeue(
        work.lost(Delivery, now=now).filter(run__status=RunStatus.SENDING), now=now
    )
    finished = MailingRun.objects.filter(status=RunStatus.SENDING).exclude(
        deliveries__status=DeliveryStatus.PENDING
    )
    for run_id in list(finished.values_list("pk", flat=True)):
        finalize_run(run_id=run_id)
    return requeued
