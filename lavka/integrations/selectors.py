"""Reads of the integrations app, scoped to what the acting user may see: an owner their
own connections, mappings and schedules; a manager (view permission, no add) everyone's."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from lavka.core.work import WorkState
from lavka.integrations.models import (
    Connection,
    ReferenceItem,
    ReferenceKind,
    ShiftSync,
    SyncRun,
    SyncSchedule,
    TradePointMapping,
)

SEE_ALL = "integrations.view_connection"
OWN = "integrations.add_connection"


def sees_all(actor: Any) -> bool:
    """Managers (and superusers) read every owner's connections; creators their own."""
    return bool(actor.has_perm(SEE_ALL)) and (actor.is_superuser or not actor.has_perm(OWN))


def connections_of(*, actor: Any) -> QuerySet[Connection]:
    connections = Connection.objects.select_related("owner")
    return connections if sees_all(actor) else connections.filter(owner=actor)


def own_connections(*, actor: Any) -> QuerySet[Connection]:
    """The connections the actor may change: their own only (superusers included)."""
    return Connection.objects.filter(owner_id=actor.pk)


def own_trade_points(*, actor: Any) -> QuerySet[ReferenceItem]:
    return ReferenceItem.objects.filter(
        connection__owner_id=actor.pk, kind=ReferenceKind.TRADE_POINT
    ).select_related("connection")


def own_mappings(*, actor: Any) -> QuerySet[TradePointMapping]:
    return TradePointMapping.objects.filter(owner_id=actor.pk).select_related(
        "trade_point", "cash_desk", "warehouse"
    )


def own_schedules(*, actor: Any) -> QuerySet[SyncSchedule]:
    return SyncSchedule.objects.filter(owner_id=actor.pk)


def reference_items_of(*, connection: Connection) -> QuerySet[ReferenceItem]:
    return connection.reference_items.order_by("kind", "gone_at", "-is_main", "name", "pk")


# --- the sync page: one owner's mappings, schedules, runs and shifts ----------------------


def mappings_of(*, owner_id: int) -> QuerySet[TradePointMapping]:
    return TradePointMapping.objects.filter(owner_id=owner_id).select_related(
        "trade_point", "cash_desk", "warehouse"
    )


def schedules_of(*, owner_id: int) -> QuerySet[SyncSchedule]:
    return SyncSchedule.objects.filter(owner_id=owner_id).order_by("job")


def runs_of(*, owner_id: int) -> QuerySet[SyncRun]:
    """The owner's runs, newest first."""
    return SyncRun.objects.filter(schedule__owner_id=owner_id).select_related("schedule")


def visible_runs(*, actor: Any) -> QuerySet[SyncRun]:
    """Runs the actor may read: their own, or everyone's for a manager."""
    found = SyncRun.objects.select_related("schedule__owner")
    return found if sees_all(actor) else found.filter(schedule__owner_id=actor.pk)


def shift_syncs_of_run(*, run: SyncRun) -> QuerySet[ShiftSync]:
    return run.shift_syncs.select_related("mapping__trade_point").order_by("closed_at", "pk")


def shift_counts(*, owner_id: int) -> dict[str, int]:
    """The owner's shifts per work state (every state present, zero when none)."""
    counted = dict(
        ShiftSync.objects.filter(mapping__owner_id=owner_id)
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return {state: counted.get(state, 0) for state in WorkState.values}


def run_shift_counts(*, run: SyncRun) -> dict[str, int]:
    counted = dict(
        run.shift_syncs.order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return {state: counted.get(state, 0) for state in WorkState.values}


def run_is_sending(*, run: SyncRun) -> bool:
    """Whether a shift of the run is being sent or due now (not only waiting out a
    backoff, which may take hours): the run page polls often only then."""
    return (
        run.shift_syncs.filter(
            Q(state=WorkState.CLAIMED)
            | Q(state=WorkState.PENDING, not_before__isnull=True)
            | Q(state=WorkState.PENDING, not_before__lte=timezone.now())
        )
        .order_by()
        .exists()
    )


def waiting_shifts(*, owner_id: int) -> QuerySet[ShiftSync]:
    """The owner's shifts that wait for a person (dead letters and refusals)."""
    return (
        ShiftSync.objects.filter(mapping__owner_id=owner_id, state=WorkState.ATTENTION)
        .select_related("mapping__trade_point")
        .order_by("closed_at", "pk")
    )


def own_shift_syncs(*, actor: Any) -> QuerySet[ShiftSync]:
    """The shifts the actor may retry: their own only."""
    return ShiftSync.objects.filter(mapping__owner_id=actor.pk).select_related(
        "mapping__trade_point__connection"
    )


def unbooked_shifts(*, mappings: QuerySet[TradePointMapping]) -> int:
    """How many shifts of these mappings are not done (pending, being sent, waiting for
    a retry or for a person): removing the mappings would lose them without a trace."""
    return ShiftSync.objects.filter(mapping__in=mappings).exclude(state=WorkState.DONE).count()


def discarded_shifts(*, owner_id: int) -> int:
    """The owner's shifts given up on (discarded: done without a document)."""
    return ShiftSync.objects.filter(
        mapping__owner_id=owner_id, state=WorkState.DONE, document_id=""
    ).count()


def mappings_using(*, connection: Connection) -> QuerySet[TradePointMapping]:
    """The mappings that go with a connection (its trade point, cash desk or warehouse)."""
    return TradePointMapping.objects.filter(
        Q(trade_point__connection=connection)
        | Q(cash_desk__connection=connection)
        | Q(warehouse__connection=connection)
    )
