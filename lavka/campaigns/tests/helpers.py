"""Test-only shortcuts around the sending pipeline."""

from __future__ import annotations

from lavka.campaigns import dispatch, import_batches, services
from lavka.campaigns.models import Delivery, DeliveryStatus, RecipientImport


def send_everything_now(*, run_id: int) -> None:
    """Drive a run to the end in this process, retries included (no waiting)."""
    dispatch.start_run(run_id=run_id)
    for _round in range(Delivery.max_attempts + 2):
        ids = list(
            Delivery.objects.filter(run_id=run_id, status=DeliveryStatus.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            break
        dispatch.send_chunk(run_id=run_id, first_id=ids[0], last_id=ids[-1])
        Delivery.objects.filter(run_id=run_id, status=DeliveryStatus.PENDING).update(
            not_before=None
        )
    dispatch.finalize_run(run_id=run_id)


def suppress_recipient(*, recipient_id: int, reason: str) -> None:
    services.suppress_recipients(recipient_ids=[recipient_id], reason=reason)


def run_confirmed_imports() -> None:
    """What a worker does with the confirmed CSV imports (here, in this process)."""
    for pk in RecipientImport.objects.order_by("pk").values_list("pk", flat=True):
        import_batches.run_import(job_id=pk)
