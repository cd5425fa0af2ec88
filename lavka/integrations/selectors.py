"""Reads of the integrations app, scoped to what the acting user may see: an owner their
own connections, mappings and schedules; a manager (view permission, no add) everyone's."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from lavka.integrations.models import (
    Connection,
    ReferenceItem,
    ReferenceKind,
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
