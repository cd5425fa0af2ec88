"""Log filters: routine periodic work is logged at DEBUG, so INFO shows what happened."""

from __future__ import annotations

import logging

from django.conf import settings


def routine_task_names() -> frozenset[str]:
    """The tasks beat fires on its own every few seconds (settings.CELERY_BEAT_SCHEDULE)."""
    return frozenset(str(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values())


def _names_a_routine_task(record: logging.LogRecord) -> bool:
    args = record.args
    if isinstance(args, dict):  # Celery's "Task … received" and "Task … succeeded"
        return args.get("name") in routine_task_names()
    if record.name == "celery.beat" and isinstance(args, tuple) and len(args) == 2:
        return args[1] in routine_task_names()  # "Scheduler: Sending due task %s (%s)"
    return False


class RoutineTaskFilter(logging.Filter):
    """Lowers Celery's INFO lines about routine periodic tasks to DEBUG.

    Beat sends a dispatch tick or a sweep every few seconds; at INFO they buried the
    lines that say something happened. With LOG_LEVEL=DEBUG they show again, as DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not _names_a_routine_task(record):
            return True
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
