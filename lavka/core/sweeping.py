"""Work rows across apps: the sweeper that queues lost work again, what the operator
page lists (failed, waiting for a person, stuck) with its retry and discard, and the
counts per state that /healthz shows; the same periodic sweep deletes expired prepared
files. The rows and their claiming are in `work.py`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from lavka.core.work import (
    ERROR_CHARS,
    PROBLEM_STATES,
    W,
    WorkItem,
    WorkState,
    claimable,
    mark_queued,
)


def work_models() -> list[type[WorkItem]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, WorkItem) and not model._meta.abstract
    ]


def work_model(label: str) -> type[WorkItem] | None:
    return next((m for m in work_models() if m._meta.label_lower == label.lower()), None)


def lost(model: type[W], *, now: datetime | None = None) -> QuerySet[W]:
    """Rows due for work whose task has not been queued recently: lost messages, dead
    workers, rows retried by `not_before`."""
    now = now or timezone.now()
    return claimable(model.in_motion(model._default_manager.all()), now=now).filter(
        Q(queued_at__isnull=True)
        | Q(queued_at__lt=now - timedelta(seconds=model.requeue_after_seconds))
    )


def requeue_lost_work(
    *,
    now: datetime | None = None,
    limit: int = 5000,
    models: Sequence[type[WorkItem]] | None = None,
) -> int:
    """Queue tasks again for lost work of every queueable work model (a beat entry), or
    of `models` only (an app sweeping its own more often)."""
    now = now or timezone.now()
    total = 0
    for model in work_models() if models is None else models:
        if not model.is_queueable():
            continue
        with transaction.atomic():
            ids = list(lost(model, now=now).order_by("pk").values_list("pk", flat=True)[:limit])
            if ids:
                mark_queued(model._default_manager.filter(pk__in=ids), now=now)
                model.queue_work(ids)
        total += len(ids)
    return total


def delete_expired_files(*, now: datetime | None = None) -> int:
    """Delete prepared files past their expiry (lavka/core/prepared_files.py)."""
    from lavka.core import prepared_files

    return prepared_files.delete_expired(now=now)


def stuck(model: type[W], *, now: datetime | None = None) -> QuerySet[W]:
    """Open rows that should have moved long ago: a lease long expired, or due work
    waiting far past the sweeper's period."""
    now = now or timezone.now()
    late = now - timedelta(seconds=max(model.requeue_after_seconds, model.lease_seconds) * 5)
    return model.in_motion(model._default_manager.all()).filter(
        Q(state=WorkState.CLAIMED, lease_expires_at__lt=late)
        | Q(state=WorkState.PENDING, not_before__isnull=True, state_changed_at__lt=late)
        | Q(state=WorkState.PENDING, not_before__lt=late)
    )


def state_counts() -> dict[str, dict[str, int]]:
    """Rows per state of every work model, for /healthz."""
    counts: dict[str, dict[str, int]] = {}
    for model in work_models():
        per_state = dict(
            model._default_manager.order_by()
            .values_list("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
        counts[model._meta.label_lower] = {
            state: per_state.get(state, 0) for state in WorkState.values
        }
    return counts


@dataclass(frozen=True)
class Problem:
    label: str
    model_name: str
    item: WorkItem
    stuck: bool


def problems(*, limit_per_model: int = 50, now: datetime | None = None) -> list[Problem]:
    """Failed, waiting-for-a-person and stuck rows of every app, newest first."""
    found: list[Problem] = []
    for model in work_models():
        label = model._meta.label_lower
        name = str(model._meta.verbose_name_plural)
        for item in model._default_manager.filter(state__in=PROBLEM_STATES).order_by(
            "-state_changed_at"
        )[:limit_per_model]:
            found.append(Problem(label, name, item, stuck=False))
        for item in stuck(model, now=now).order_by("state_changed_at")[:limit_per_model]:
            found.append(Problem(label, name, item, stuck=True))
    found.sort(key=lambda problem: problem.item.state_changed_at, reverse=True)
    return found


def retry_manually(model: type[W], pks: Iterable[int]) -> int:
    """Start failed, waiting or stuck rows again from the first attempt."""
    now = timezone.now()
    with transaction.atomic():
        rows = model._default_manager.filter(pk__in=list(pks)).filter(
            Q(state__in=PROBLEM_STATES) | Q(pk__in=stuck(model, now=now).values("pk"))
        )
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            return 0
        selected = model._default_manager.filter(pk__in=ids)
        narrowed = model.before_manual_retry(selected)
        if narrowed is not None:
            selected = narrowed
            ids = list(selected.values_list("pk", flat=True))
        selected.update(
            state=WorkState.PENDING,
            attempts=0,
            not_before=None,
            lease_owner="",
            lease_expires_at=None,
            queued_at=now,
            state_changed_at=now,
        )
        if model.is_queueable():
            model.queue_work(ids)
    return len(ids)


def discard(model: type[W], pks: Iterable[int], *, note: str) -> int:
    """Give up on failed or waiting rows for good: they leave the operator's list."""
    return model._default_manager.filter(pk__in=list(pks), state__in=PROBLEM_STATES).update(
        state=WorkState.DONE,
        last_error=note[:ERROR_CHARS],
        state_changed_at=timezone.now(),
    )
