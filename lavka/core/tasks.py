from __future__ import annotations

from celery import shared_task
from django.conf import settings

from lavka.core import services


@shared_task(name="core.prune_outbox", acks_late=True)
def prune_outbox() -> int:
    """Drop captured emails past their retention; running it twice deletes nothing more."""
    return services.prune_outbox(older_than_days=settings.OUTBOX_RETENTION_DAYS)
