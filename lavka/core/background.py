"""Background work, the one way: tasks that start after commit and carry their retry
policy.

Every Lavka task is declared with `@background_task("app.name")`. Its options are the
kernel's (acknowledged late, redelivered when the worker dies, transient database errors
retried with bounded jittered backoff, soft and hard time limits); its queue comes from
`CELERY_TASK_ROUTES` alone. Services start tasks by name with `start(...)` /
`start_each(...)` (so they never import their tasks module), which waits for the
surrounding transaction: a task never runs against rows that are not yet committed, or
that a rollback removed. A task module may queue itself with `task.after_commit(...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError, transaction

F = TypeVar("F", bound=Callable[..., Any])

# Errors that say "try again later" for any task: the database was busy, locked (SQLite)
# or restarting.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


class BackgroundTask(Task):  # type: ignore[misc]
    """Base of every Lavka task; see the module docstring."""

    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for: tuple[type[BaseException], ...] = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 10
    soft_time_limit = 240
    time_limit = 300

    @property
    def redelivered(self) -> bool:
        """This message was delivered before and not acknowledged: the worker that ran
        it died (acks late, rejected on worker loss), so its leases may be taken over."""
        info = getattr(self.request, "delivery_info", None) or {}
        return bool(info.get("redelivered"))

    def after_commit(self, *args: Any) -> None:
        """Queue this task with `args` once the current transaction commits (at once
        outside a transaction)."""
        _publish_after_commit(self, [args])

    def after_commit_each(self, calls: Iterable[Sequence[Any]]) -> None:
        """Queue one task per argument tuple, all after the commit."""
        _publish_after_commit(self, calls)


def background_task(
    name: str,
    *,
    retry_for: tuple[type[BaseException], ...] = (),
    soft_time_limit: int = 240,
    time_limit: int = 300,
    max_retries: int = 10,
    retry_backoff: int = 2,
    retry_backoff_max: int = 60,
) -> Callable[[F], BackgroundTask]:
    """Declare a task with a stable `name` ("app.verb_noun").

    `retry_for` adds errors worth retrying to the transient database errors. Queues
    are set by name in `CELERY_TASK_ROUTES`, never here.
    """

    def decorate(function: F) -> BackgroundTask:
        task: BackgroundTask = shared_task(
            base=BackgroundTask,
            name=name,
            autoretry_for=(*TRANSIENT_ERRORS, *retry_for),
            soft_time_limit=soft_time_limit,
            time_limit=time_limit,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            retry_backoff_max=retry_backoff_max,
        )(function)
        return task

    return decorate


def task_named(name: str) -> Task:
    """The registered task called `name`; raises celery's NotRegistered (a KeyError)
    for a name no installed app declares.

    A web process has not imported the apps' `tasks` modules (only a worker does at
    start), so the first look-up that misses runs Celery's autodiscovery once.
    """
    from celery import current_app

    try:
        return current_app.tasks[name]
    except KeyError:
        current_app.loader.import_default_modules()
        return current_app.tasks[name]


def start(name: str, *args: Any) -> None:
    """Queue the task called `name` after the commit, without importing its module.

    Services start their app's tasks this way, so `tasks` imports `services` and never
    the other way round (no import circle). An unknown name fails here, at once.
    """
    _publish_after_commit(task_named(name), [args])


# The longest a message waits in a worker for its ETA. A worker holds such a message
# unacknowledged: past 30 minutes RabbitMQ closes its channel (consumer_timeout), and
# past the visibility timeout Redis hands a second copy, marked redelivered, to another
# worker. Work that waits longer is a row with `not_before`: its task, arriving early,
# finds it not due, and the sweeper queues it again once it is.
MAX_COUNTDOWN_SECONDS = 20 * 60


def start_later(name: str, *args: Any, countdown: float) -> None:
    """Queue the task called `name` after the commit, to run no sooner than `countdown`
    seconds from now (the message carries an ETA the worker holds it to), at most
    MAX_COUNTDOWN_SECONDS: for work that must wait, e.g. a system's Retry-After, without
    a worker sleeping on it."""
    task = task_named(name)
    delay = min(max(0.0, countdown), MAX_COUNTDOWN_SECONDS)
    transaction.on_commit(partial(task.apply_async, tuple(args), countdown=delay))


def start_each(name: str, calls: Iterable[Sequence[Any]]) -> None:
    """Queue the task called `name` once per argument tuple, all after the commit."""
    _publish_after_commit(task_named(name), calls)


def _publish_after_commit(task: Task, calls: Iterable[Sequence[Any]]) -> None:
    pending = [tuple(args) for args in calls]
    if not pending:
        return

    def publish() -> None:
        for args in pending:
            task.delay(*args)

    transaction.on_commit(publish)
