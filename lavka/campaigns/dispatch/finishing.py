"""Finishing a run: its counters from its deliveries, completed (or failed) when done."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from lavka.campaigns import stats
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    MailingStatus,
    RunStatus,
)


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
