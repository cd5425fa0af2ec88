"""Thin Celery tasks of the content app: take ids, call a service. Safe to run twice.

Retries, acknowledgement and time limits are the kernel's (`lavka.core.background`);
queues come from CELERY_TASK_ROUTES.
"""

from __future__ import annotations

from lavka.content import counting, services, storage
from lavka.core.background import background_task


@background_task("content.process_file", soft_time_limit=600, time_limit=660)
def process_file(stored_file_id: int) -> None:
    services.process_stored_file(stored_file_id=stored_file_id, take_over=process_file.redelivered)


@background_task("content.flush_views", soft_time_limit=50, time_limit=60, retry_backoff_max=30)
def flush_views() -> int:
    """Add recorded block views to the counters (beat entry, and nudged by responses)."""
    return counting.flush_pending_views()


@background_task("content.sweep_orphan_files")
def sweep_orphan_files() -> int:
    """Remove stored files no row owns (left by rolled-back or killed uploads)."""
    return storage.sweep_orphan_files()
