"""Thin Celery tasks of the content app: take ids, call a service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from lavka.content import services


@shared_task(
    name="content.process_file",
    queue="media",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=10,
    soft_time_limit=600,
    time_limit=660,
)
def process_file(stored_file_id: int) -> None:
    services.process_stored_file(stored_file_id=stored_file_id)


@shared_task(
    name="content.flush_views",
    queue="default",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=10,
    soft_time_limit=50,
    time_limit=60,
)
def flush_views() -> int:
    """Add recorded block views to the counters (beat entry, and nudged by responses)."""
    from lavka.content.counting import flush_pending_views

    return flush_pending_views()


@shared_task(name="content.sweep_orphan_files", queue="media", acks_late=True)
def sweep_orphan_files() -> int:
    """Remove stored files no row owns (left by rolled-back or killed uploads)."""
    from lavka.content.storage import sweep_orphan_files as sweep

    return sweep()
