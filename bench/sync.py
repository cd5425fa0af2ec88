#!/usr/bin/env python
"""Bookkeeping sync throughput against the two stand-ins, measured side by side.

Both simulators run as their own processes on loopback (`python -m
services.simulators.moedelo` / `mtskassa`). For each measure:

  limit   one process, no database: the adapters alone read each shift from the register
          and send its report to accounting (look-up, takings, report), one after another
  lavka   a real sales run on the configured broker with 1, then 2 worker processes: the
          dispatcher fires the schedule, the run lists the shifts into work rows and
          queues a task per row; a task books its row and goes on with further due
          rows of the trade point; the clock stops when every row is done

and the same for goods (10,000 goods from accounting to a fresh trade point: a goods run
is one task, so a second worker does not speed it up). Prints shifts/s and goods/s, the
ratios to the limit, and the HTTP calls per shift counted by the simulators against the
minimum the APIs allow.

    .venv/bin/python bench/sync.py                          # 1,000 shifts x 50 receipts
    .venv/bin/python bench/sync.py --shifts 200 --receipts 20 --goods 2000
    DATABASE_URL=postgres://… CELERY_BROKER_URL=amqp://… .venv/bin/python bench/sync.py

The database is a fresh one made for the bench (a temporary SQLite file, or
`<name>_bench` on PostgreSQL); bench/_support.py starts the workers and simulators.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import (
    fresh_environment,
    start_simulator,
    start_workers,
    stop_process,
    stop_workers,
)

# A shift's minimum HTTP calls: its detail (1, with every receipt) and, in accounting, the
# takings and the report (2); 1 more for the look-up by number that makes a retry safe.
MINIMUM_CALLS = 3
MINIMUM_SAFE_CALLS = 4


def total_calls(mts_url: str, md_url: str) -> int:
    from services.simulators.moedelo.testing import control as md_control
    from services.simulators.mtskassa.testing import control as mts_control

    return sum(mts_control(mts_url, "GET", "")["calls"].values()) + sum(
        md_control(md_url, "")["calls"].values()
    )


class Firm:
    """An accounting account (a warehouse, a cash desk, goods) and a register account
    with one trade point holding those goods and `shifts` closed shifts."""

    def __init__(self, md_url: str, mts_url: str, *, goods: int) -> None:
        from services.simulators.moedelo.testing import control as md_control
        from services.simulators.mtskassa.testing import new_account

        self.md_url, self.mts_url = md_url, mts_url
        self.md_token = md_control(md_url, "/accounts", {})["token"]
        ids = md_control(
            md_url,
            f"/accounts/{self.md_token}/seed",
            {
                "stocks": [{"Name": "Склад", "IsMain": True}],
                "cashiers": [{"Name": "Касса", "IsMain": True}],  # noqa: RUF001
                "generate_goods": goods,
            },
        )
        self.stock_id, self.cashier_id = str(ids["stocks"][0]), str(ids["cashiers"][0])
        self.mts_token, points = new_account(mts_url, "Bench", trade_points=1)
        self.point = str(points[0])

    def accounting(self) -> Any:
        from lavka.integrations.adapters.moedelo import MoeDeloAdapter

        return MoeDeloAdapter(token=self.md_token, base_url=self.md_url)

    def register(self) -> Any:
        from lavka.integrations.adapters.mtskassa import MtsKassaAdapter

        return MtsKassaAdapter(token=self.mts_token, base_url=self.mts_url)

    def stock_register(self) -> None:
        """The register gets accounting's goods (for the limit, without Lavka's rows)."""
        from lavka.integrations.sync.goods import batches, plan_goods

        plan = plan_goods(self.accounting().goods(), [])
        register = self.register()
        for batch in batches(plan.to_send, register.batch_size):
            register.upsert_products(self.point, [item.product for item in batch])

    def close_shifts(self, shifts: int, receipts: int) -> dict[str, Any]:
        from services.simulators.mtskassa.testing import control

        return control(  # type: ignore[no-any-return]
            self.mts_url,
            "POST",
            f"/trade-units/{self.point}/generate",
            {"shifts": shifts, "receipts": receipts},
        )


def measure_limit(
    md_url: str, mts_url: str, shifts: int, receipts: int, goods: int
) -> tuple[float, float]:
    """Shifts/s and goods/s of the adapters alone, as Lavka calls them on a first
    attempt (look the report up, then create it `fresh`), one after another."""
    from lavka.integrations.sync.sales import MappingIds, retail_report_for

    firm = Firm(md_url, mts_url, goods=goods)
    started = time.perf_counter()
    firm.stock_register()
    goods_per_second = goods / (time.perf_counter() - started)
    firm.close_shifts(shifts, receipts)
    register, accounting = firm.register(), firm.accounting()
    ids = MappingIds(cash_desk_id=firm.cashier_id, warehouse_id=firm.stock_id)
    started = time.perf_counter()
    for summary in register.closed_shifts(
        firm.point, closed_since=datetime(2000, 1, 1, tzinfo=UTC)
    ):
        report = retail_report_for(
            register.shift(firm.point, summary.external_id), ids, f"B-{summary.external_id}"
        )
        if accounting.find_retail_report(report.number) is None:
            accounting.create_retail_report(report, fresh=True)
    return shifts / (time.perf_counter() - started), goods_per_second


def connect(firm: Firm) -> Any:
    """A creator with both connections and the trade point mapped, cursor in 2000."""
    from lavka.accounts import services as account_services
    from lavka.accounts.models import User
    from lavka.core.roles import Role
    from lavka.integrations.models import (
        Connection,
        ReferenceItem,
        ReferenceKind,
        TradePointMapping,
    )

    owner = User.objects.create_user(f"bench-{time.time_ns()}@example.com", "x")
    account_services.set_role(user=owner, role=Role.CREATOR, enabled=True)
    books = Connection.objects.create(
        owner=owner, role="accounting", system="moedelo", base_url=firm.md_url, token=firm.md_token
    )
    till = Connection.objects.create(
        owner=owner,
        role="point_of_sale",
        system="mtskassa",
        base_url=firm.mts_url,
        token=firm.mts_token,
    )

    def item(connection: Any, kind: str, external_id: str) -> Any:
        return ReferenceItem.objects.create(
            connection=connection, kind=kind, external_id=external_id, name=kind
        )

    TradePointMapping.objects.create(
        owner=owner,
        trade_point=item(till, ReferenceKind.TRADE_POINT, firm.point),
        cash_desk=item(books, ReferenceKind.CASH_DESK, firm.cashier_id),
        warehouse=item(books, ReferenceKind.WAREHOUSE, firm.stock_id),
        sales_cursor=datetime(2000, 1, 1, tzinfo=UTC),
    )
    return owner


def run_job(owner: Any, job: str) -> Any:
    """Fire the owner's `job` schedule now and wait for its run (and, for sales, for every
    shift row) to finish; returns the run and the seconds it took."""
    from django.utils import timezone

    from lavka.core.work import WorkState
    from lavka.integrations.models import ShiftSync, SyncRun, SyncSchedule
    from lavka.integrations.sync import dispatch

    SyncSchedule.objects.create(owner=owner, job=job, next_run_at=timezone.now())
    started = time.perf_counter()
    (run_id,) = dispatch.dispatch_due_schedules()
    while True:
        run = SyncRun.objects.get(pk=run_id)
        if run.finished_at is not None:
            if job == "goods" or run.status != "done":
                break
            open_rows = ShiftSync.objects.filter(run=run).exclude(state=WorkState.DONE)
            if not open_rows.exists():
                break
            if open_rows.filter(state__in=[WorkState.ATTENTION, WorkState.FAILED]).exists():
                raise RuntimeError(f"shifts in attention: {open_rows.first().last_error}")  # type: ignore[union-attr]
        if time.perf_counter() - started > 3600:
            raise RuntimeError("the run did not finish in an hour")
        time.sleep(0.2)
    return run, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shifts", type=int, default=1000)
    parser.add_argument("--receipts", type=int, default=50)
    parser.add_argument("--goods", type=int, default=10_000)
    parser.add_argument("--limit-sample", type=int, default=200, help="shifts sent by the limit")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="lavka-bench-sync-"))
    env = fresh_environment(tmp)
    import django

    django.setup()
    from django.core.management import call_command

    from lavka.celery import app

    call_command("migrate", verbosity=0)
    app.control.purge()
    moedelo, md_url = start_simulator("moedelo", tmp)
    mts, mts_url = start_simulator("mtskassa", tmp)
    rows: dict[str, float] = {}
    try:
        rows["limit shifts/s"], rows["limit goods/s"] = measure_limit(
            md_url, mts_url, args.limit_sample, args.receipts, args.goods
        )
        print(
            f"limit: {rows['limit shifts/s']:.1f} shifts/s, {rows['limit goods/s']:.0f} goods/s",
            flush=True,
        )
        for workers in (1, 2):
            firm = Firm(md_url, mts_url, goods=args.goods)
            owner = connect(firm)
            procs = start_workers(workers, env, tmp, queues="default,sync")
            try:
                goods_run, goods_seconds = run_job(owner, "goods")
                if goods_run.status != "done" or goods_run.goods_sent != args.goods:
                    raise RuntimeError(f"goods run: {goods_run.status} {goods_run.last_error}")
                rows[f"lavka x{workers} goods/s"] = args.goods / goods_seconds
                firm.close_shifts(args.shifts, args.receipts)
                calls_before = total_calls(mts_url, md_url)
                sales_run, sales_seconds = run_job(owner, "sales")
                calls = total_calls(mts_url, md_url) - calls_before
            finally:
                stop_workers(procs)
            if sales_run.shifts_booked != args.shifts:
                raise RuntimeError(f"booked {sales_run.shifts_booked} of {args.shifts} shifts")
            rows[f"lavka x{workers} shifts/s"] = args.shifts / sales_seconds
            rows[f"lavka x{workers} calls/shift"] = calls / args.shifts
            print(
                f"lavka x{workers}: {rows[f'lavka x{workers} shifts/s']:.1f} shifts/s, "
                f"{rows[f'lavka x{workers} goods/s']:.0f} goods/s, "
                f"{rows[f'lavka x{workers} calls/shift']:.2f} HTTP calls per shift",
                flush=True,
            )
    finally:
        for process in (moedelo, mts):
            stop_process(process)
        shutil.rmtree(tmp, ignore_errors=True)

    limit, goods_limit = rows["limit shifts/s"], rows["limit goods/s"]
    print()
    print(f"{args.shifts} shifts x {args.receipts} receipts, {args.goods} goods")
    print(f"limit (adapters alone): {limit:.1f} shifts/s, {goods_limit:.0f} goods/s")
    for workers in (1, 2):
        print(
            f"lavka x{workers}: {rows[f'lavka x{workers} shifts/s']:.1f} shifts/s "
            f"({rows[f'lavka x{workers} shifts/s'] / limit:.2f} x limit), "
            f"{rows[f'lavka x{workers} goods/s']:.0f} goods/s "
            f"({rows[f'lavka x{workers} goods/s'] / goods_limit:.2f} x limit), "
            f"{rows[f'lavka x{workers} calls/shift']:.2f} HTTP calls per shift"
        )
    print(f"x2/x1 shifts: {rows['lavka x2 shifts/s'] / rows['lavka x1 shifts/s']:.2f}")
    print(
        f"HTTP calls per shift: {rows['lavka x1 calls/shift']:.2f} "
        f"(minimum {MINIMUM_CALLS}; {MINIMUM_SAFE_CALLS} with the look-up that makes a retry safe)"
    )


if __name__ == "__main__":
    main()
