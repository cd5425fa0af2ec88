"""Rows of the integrations app for tests that need no system behind them (the access
matrix, page rendering). Tests of connecting use the simulators instead."""

from __future__ import annotations

import uuid
from typing import Any

import factory
from django.utils import timezone

from lavka.accounts.tests.factories import UserFactory
from lavka.integrations.models import (
    Connection,
    ConnectionRole,
    ReferenceItem,
    ReferenceKind,
    ShiftSync,
    SyncJob,
    SyncRun,
    SyncSchedule,
    TradePointMapping,
)


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    owner = factory.SubFactory(UserFactory)
    role = ConnectionRole.ACCOUNTING
    system = "moedelo"
    token = factory.Sequence(lambda n: f"factory-token-{n:06d}-not-valid-anywhere")
    account_external_id = factory.Sequence(str)
    account_name = factory.Sequence(lambda n: f"Firm {n}")


class ReferenceItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferenceItem

    connection = factory.SubFactory(ConnectionFactory)
    kind = ReferenceKind.CASH_DESK
    external_id = factory.Sequence(str)
    name = factory.Sequence(lambda n: f"Item {n}")


def connected_owner(owner: Any) -> dict[str, Any]:
    """Both connections of `owner` with a trade point, a cash desk and a warehouse."""
    accounting = Connection.objects.filter(owner=owner, role=ConnectionRole.ACCOUNTING).first()
    accounting = accounting or ConnectionFactory(owner=owner)
    pos = Connection.objects.filter(owner=owner, role=ConnectionRole.POINT_OF_SALE).first()
    pos = pos or ConnectionFactory(
        owner=owner, role=ConnectionRole.POINT_OF_SALE, system="mtskassa"
    )
    return {
        "accounting": accounting,
        "point_of_sale": pos,
        "trade_point": ReferenceItemFactory(connection=pos, kind=ReferenceKind.TRADE_POINT),
        "cash_desk": ReferenceItemFactory(connection=accounting, kind=ReferenceKind.CASH_DESK),
        "warehouse": ReferenceItemFactory(connection=accounting, kind=ReferenceKind.WAREHOUSE),
    }


def mapping_of(owner: Any) -> TradePointMapping:
    """A mapping of `owner`'s and its two schedules."""
    items = connected_owner(owner)
    mapping = TradePointMapping.objects.create(
        owner=owner,
        trade_point=items["trade_point"],
        cash_desk=items["cash_desk"],
        warehouse=items["warehouse"],
    )
    for job in SyncJob.values:
        SyncSchedule.objects.get_or_create(
            owner=owner, job=job, defaults={"next_run_at": timezone.now()}
        )
    return mapping


def run_of(schedule: SyncSchedule, **fields: Any) -> SyncRun:
    """A finished manual run of `schedule` (a fresh slot each time)."""
    now = timezone.now()
    values: dict[str, Any] = {
        "trigger": "manual",
        "slot": now,
        "status": "done",
        "finished_at": now,
    }
    values.update(fields)
    return SyncRun.objects.create(schedule=schedule, **values)


def shift_sync_of(mapping: TradePointMapping, **fields: Any) -> ShiftSync:
    """A booked shift of `mapping` (`state="attention"` etc. for one that waits)."""
    shift_id = uuid.uuid4().hex[:12]
    values: dict[str, Any] = {
        "shift_external_id": shift_id,
        "shift_number": 1,
        "closed_at": timezone.now(),
        "report_number": f"L{mapping.trade_point.external_id}-{shift_id}",
        "state": "done",
    }
    if fields.get("state", "done") == "done":
        values["document_id"] = f"doc-{shift_id}"  # booked: accounting's report
    values.update(fields)
    return ShiftSync.objects.create(mapping=mapping, **values)
