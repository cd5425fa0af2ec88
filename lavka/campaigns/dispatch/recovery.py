"""Recovering work that a dead worker or a lost message left behind (a beat entry)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from lavka.campaigns.dispatch.finishing import finalize_run
from lavka.campaigns.models import Delivery, DeliveryStatus, MailingRun, RunStatus
from lavka.core import sweeping


def recover_stalled(*, now: datetime | None = None) -> int:
    """Re-queue lost runs still preparing and lost deliveries of sending runs; finish
    sending runs with nothing left to send. Returns how many rows were re-queued."""
    now = now or timezone.now()
    requeued = sweeping.requeue_lost_work(now=now, models=[MailingRun, Delivery])
    finished = MailingRun.objects.filter(status=RunStatus.SENDING).exclude(
        deliveries__status=DeliveryStatus.PENDING
    )
    for run_id in list(finished.values_list("pk", flat=True)):
        finalize_run(run_id=run_id)
    return requeued
