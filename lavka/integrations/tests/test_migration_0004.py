"""Migration 0004: the shop's trade point gets the owner's id, and rows whose sending
began are entered in the report-send ledger."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("integrations", "0003_shift_sync_send_started_at")]
AFTER = [("integrations", "0004_report_send_and_shop_ids_per_owner")]


@pytest.fixture
def latest_schema_after() -> Iterator[None]:
    """The tests after this one need the app's newest schema, not 0004's."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("integrations"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_shop_points_are_renamed_and_started_sends_noted(creator: Any) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    shop = old.get_model("integrations", "Connection").objects.create(
        owner_id=creator.pk, role="shop", system="lavka_shop", token=""
    )
    point = old.get_model("integrations", "ReferenceItem").objects.create(
        connection=shop, kind="trade_point", external_id="lavka-shop", name="Online shop"
    )
    books = old.get_model("integrations", "Connection").objects.create(
        owner_id=creator.pk, role="accounting", system="moedelo", token="t" * 36
    )
    items = old.get_model("integrations", "ReferenceItem").objects
    mapping = old.get_model("integrations", "TradePointMapping").objects.create(
        owner_id=creator.pk,
        trade_point=point,
        cash_desk=items.create(connection=books, kind="cash_desk", external_id="1", name="d"),
        warehouse=items.create(connection=books, kind="warehouse", external_id="2", name="w"),
        sales_cursor=timezone.now(),
    )
    rows = old.get_model("integrations", "ShiftSync").objects
    for day, started in (("2026-11-30", timezone.now()), ("2026-12-01", None)):
        rows.create(
            mapping=mapping,
            shift_external_id=day,
            closed_at=timezone.now(),
            report_number=f"Llavka-shop-{day}",
            send_started_at=started,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps

    renamed = new.get_model("integrations", "ReferenceItem").objects.get(pk=point.pk)
    assert renamed.external_id == f"lavka-shop-{creator.pk}"
    numbers = new.get_model("integrations", "ShiftSync").objects.values_list(
        "report_number", flat=True
    )
    assert sorted(numbers) == ["Llavka-shop-2026-11-30", "Llavka-shop-2026-12-01"]  # kept
    ledger = new.get_model("integrations", "ReportSend").objects
    assert list(ledger.values_list("owner_id", "report_number")) == [
        (creator.pk, "Llavka-shop-2026-11-30")
    ]
