"""Block view counters: recorded by every page response, applied in the background.

Chosen by measuring it (bench/content_api.py prints the numbers):

- A response records its views with one INSERT into `PendingBlockViews` (the page and
  the ids of the blocks it showed). The row is in the database, so a cache flush, a
  restarted worker or a killed web process loses nothing once the response is sent.
- `flush_pending_views` (the `content.flush_views` task, on a beat entry every
  CONTENT_VIEWS_FLUSH_SECONDS and nudged by the web processes) takes a batch of rows,
  sums them per block, adds each sum with one UPDATE per distinct amount and deletes the
  rows, all in one transaction. A task that is redelivered after it committed finds the
  rows gone; one killed before it committed rolled back and counts them again, once.
  Concurrent flushes skip each other's rows (`SELECT ... FOR UPDATE SKIP LOCKED` on
  PostgreSQL; on SQLite the IMMEDIATE transaction makes them take turns).

One Celery task per view (the other candidate) measured about 6x the INSERT's cost in
every response on SQLite, and 40x the flush's cost to apply, before the row per view it
would still need to be idempotent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from lavka.content.models import Block, PendingBlockViews

logger = logging.getLogger(__name__)

# Ids per IN (...) list: under every backend's limit on query parameters.
ID_CHUNK = 500

_nudge_lock = threading.Lock()
_last_nudge = -1e9


def record_page_view(*, page_id: int, block_ids: Sequence[int]) -> None:
    """Count one view for each of the blocks a response for the page showed.

    One INSERT written as SQL: it runs on every detail response, and building it through
    the ORM cost more than executing it (measured with bench/content_api.py).
    """
    if not block_ids:
        return
    ids = json.dumps([int(block_id) for block_id in block_ids], separators=(",", ":"))
    asynchronous = (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and not connection.settings_dict["OPTIONS"].get("server_side_binding")
    )
    with connection.cursor() as cursor:
        try:
            cursor.execute(
                _insert_sql(connection.vendor, asynchronous=asynchronous),
                [page_id, ids, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
        except DatabaseError:
            if asynchronous:  # end the transaction the failed statement left open
                cursor.execute("ROLLBACK")
            raise
    transaction.on_commit(_nudge)


@cache
def _insert_sql(vendor: str, *, asynchronous: bool) -> str:
    """The INSERT of one response's views.

    On PostgreSQL it commits in the same round trip without waiting for the WAL flush,
    as SQLite's synchronous=NORMAL does: a crash of a web or worker process loses
    nothing; a crash of the database server may lose its last fraction of a second.
    (Several statements in one execute need psycopg's client-side binding, Django's
    default; with server-side binding the INSERT commits synchronously.)
    """
    table = connection.ops.quote_name(PendingBlockViews._meta.db_table)
    ids = "CAST(%s AS jsonb)" if vendor == "postgresql" else "%s"
    # Only the quoted table name is interpolated; the values are parameters.
    insert = f"INSERT INTO {table} (page_id, block_ids, created_at) VALUES (%s, {ids}, %s)"  # noqa: S608
    if asynchronous:
        return f"BEGIN; SET LOCAL synchronous_commit TO OFF; {insert}; COMMIT"
    return insert


def _nudge() -> None:
    """Ask for a flush soon, at most once per CONTENT_VIEWS_NUDGE_SECONDS per process.

    The flush is delayed by that interval so that it also takes the views recorded until
    the next nudge may be sent; the beat entry catches whatever a lost nudge leaves.
    """
    global _last_nudge
    interval = float(settings.CONTENT_VIEWS_NUDGE_SECONDS)
    now = time.monotonic()
    if now - _last_nudge < interval:
        return
    with _nudge_lock:
        if now - _last_nudge < interval:
            return
        _last_nudge = now
    from lavka.content.tasks import flush_views

    try:
        flush_views.apply_async(countdown=interval)
    except Exception:  # the views are stored; the beat entry flushes them
        logger.warning("could not queue content.flush_views", exc_info=True)


def flush_pending_views(*, batch_size: int = 5000, max_batches: int = 100) -> int:
    """Apply pending views to the block counters; returns the number of views applied."""
    applied = 0
    for _ in range(max_batches):
        rows, views = _flush_batch(batch_size)
        applied += views
        if rows < batch_size:
            break
    return applied


def _flush_batch(batch_size: int) -> tuple[int, int]:
    with transaction.atomic():
        rows = list(
            PendingBlockViews.objects.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "block_ids")[:batch_size]
        )
        if not rows:
            return 0, 0
        per_block: Counter[int] = Counter()
        for _row_id, block_ids in rows:
            per_block.update(block_ids)
        blocks_by_amount: dict[int, list[int]] = defaultdict(list)
        for block_id, amount in per_block.items():
            blocks_by_amount[amount].append(block_id)
        for amount, block_ids in blocks_by_amount.items():
            for chunk in _chunks(block_ids):
                Block.objects.filter(pk__in=chunk).update(views=F("views") + amount)
        for chunk in _chunks([row_id for row_id, _ids in rows]):
            PendingBlockViews.objects.filter(pk__in=chunk).delete()
    return len(rows), sum(per_block.values())


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + ID_CHUNK] for start in range(0, len(ids), ID_CHUNK)]


def pending_view_count() -> int:
    """Rows still waiting for a flush (for health checks, tests and the bench)."""
    return PendingBlockViews.objects.count()
