#!/usr/bin/env python
"""Another user's saves during a large CSV import, against the same saves without one.

One owner imports a 100,000-line CSV file (10 % of the lines update recipients they
already have) through the real preview and confirm, and a real worker process runs the
import job. Meanwhile another owner saves one of their recipients again and again
through the same action the edit page uses (`actions.UpdateRecipient`), with a short
pause between saves, as a busy person would. Each save's wall time is its wait.

  baseline  the same saves, with no import running
  import    the saves while the worker imports

Prints the median and the longest save of each, and the ratios; then how long the import
took. Before batching, the confirm held SQLite's write lock for the whole import
(~30 s for 100,000 lines): the longest save was as long as the import.

    .venv/bin/python bench/import_concurrency.py                    # embedded default
    DATABASE_URL=postgres://… .venv/bin/python bench/import_concurrency.py

The database is a fresh one made for the bench (a temporary SQLite file, or
`<name>_bench` on PostgreSQL) and dropped after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench._support import fresh_environment, start_workers, stop_workers  # noqa: E402


def timed_saves(recipient, actor, *, count: int | None, until=None, pause: float) -> list[float]:
    """Save `recipient` again and again; each save's wall time in seconds."""
    from lavka.campaigns import actions

    waits: list[float] = []
    number = 0
    while (count is None or len(waits) < count) and (until is None or not until()):
        number += 1
        started = time.perf_counter()
        actions.UpdateRecipient(
            actor,
            recipient=recipient,
            email=recipient.email,
            full_name=f"Edited {number}",
            phone="",
            country="",
            comment=f"save {number}",
            lists=[],
        ).execute()
        waits.append(time.perf_counter() - started)
        time.sleep(pause)
    return waits


def csv_text(lines: int, updated: int) -> bytes:
    rows = ["email,full_name,country"]
    rows += [f"i{i:06d}@example.net,Imported {i},DE" for i in range(lines)]
    for i in range(updated):  # these emails exist: their lines update them
        rows[1 + i * (lines // updated)] = f"e{i:06d}@example.net,New name {i},FR"
    return ("\n".join(rows) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=10_000, help="lines that update")
    parser.add_argument("--baseline-saves", type=int, default=300)
    parser.add_argument("--pause-ms", type=float, default=50, help="between two saves")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="lavka-bench-import-"))
    env = fresh_environment(tmp, drop=("EMAIL_URL",))
    env.setdefault("CAMPAIGNS_IMPORT_MAX_BYTES", str(64 * 1024 * 1024))
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from lavka.accounts import services
    from lavka.accounts.models import User
    from lavka.campaigns import actions, importing
    from lavka.campaigns.models import ImportStatus, Recipient, RecipientImport
    from lavka.celery import app
    from lavka.core.roles import Role

    app.control.purge()
    importer = User.objects.create_user("importer@example.com", "x")
    other = User.objects.create_user("other@example.com", "x")
    for user in (importer, other):
        for role in (Role.CUSTOMER, Role.CREATOR):
            services.set_role(user=user, role=role, enabled=True)
    Recipient.objects.bulk_create(
        (
            Recipient(owner=importer, email=f"e{i:06d}@example.net", full_name=f"Old {i}")
            for i in range(args.updates)
        ),
        batch_size=2000,
    )
    mine = Recipient.objects.create(owner=other, email="client@example.net", full_name="Client")
    data = csv_text(args.lines, args.updates)
    workers = start_workers(1, env, tmp, queues="default", name="bench-import")
    pause = args.pause_ms / 1000
    try:
        print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}", flush=True)
        baseline = timed_saves(mine, other, count=args.baseline_saves, pause=pause)
        started = time.perf_counter()
        plan, pending = importing.preview_import(
            owner=importer, data=data, filename="big.csv", target_list=None, previous=None
        )
        previewed = time.perf_counter() - started
        counts = plan.counts
        del plan
        started = time.perf_counter()
        job = actions.ConfirmImport(importer, pending=pending, token=pending["token"]).execute()
        confirmed = time.perf_counter() - started

        def finished() -> bool:
            return (
                RecipientImport.objects.get(pk=job.pk).status
                in {
                    ImportStatus.FINISHED,
                    ImportStatus.REFUSED,
                }
                or time.perf_counter() - started > 1800
            )

        during = timed_saves(mine, other, count=None, until=finished, pause=pause)
        took = time.perf_counter() - started
    finally:
        stop_workers(workers)
        shutil.rmtree(tmp, ignore_errors=True)

    job.refresh_from_db()
    if job.status != ImportStatus.FINISHED or job.rows_done != args.lines:
        raise SystemExit(f"import ended {job.status} at {job.rows_done}/{job.total_rows}")
    print(
        f"preview of {args.lines} lines in the request: {previewed:.1f} s "
        f"(to add {counts['create']}, to update {counts['update']}); confirm: {confirmed * 1000:.0f} ms"
    )
    print(
        f"import by the worker: {took:.1f} s ({args.lines / took:.0f} lines/s), "
        f"{job.created} added, {job.updated} updated, batches of {settings.CAMPAIGNS_IMPORT_BATCH_ROWS}"
    )
    print()
    print(f"{'another user saves':<28}{'saves':>7}{'median':>11}{'longest':>11}")
    for label, waits in (("no import (baseline)", baseline), ("during the import", during)):
        print(
            f"{label:<28}{len(waits):>7}{statistics.median(waits) * 1000:>9.1f} ms"
            f"{max(waits) * 1000:>8.0f} ms"
        )
    print(
        f"{'ratio import / baseline':<28}{'':>7}"
        f"{statistics.median(during) / statistics.median(baseline):>10.1f}x"
        f"{max(during) / max(baseline):>10.1f}x"
    )
    longest = max(during)
    print(f"target longest save during the import < 1 s: {'met' if longest < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
