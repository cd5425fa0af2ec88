"""Block view counters: recorded by every page response, applied in the background.

Chosen by measuring it (bench/content_api.py prints the numbers):

- A response records its views in its process's buffer (an append to a list). A thread
  of the process writes the buffer with one multi-row INSERT into `PendingBlockViews`
  (a row per response: the page and the ids of the blocks it showed) at most
  WRITE_INTERVAL after the first view it holds, and the process writes what is left
  when it exits (atexit: a graceful gunicorn worker restart, max-requests, a reload, the
  end of runserver or of a test run). A cache flush or a restarted Celery worker loses
  nothing; a web process killed with -9 loses the views of its last WRITE_INTERVAL
  (0.1 s) at most. Inside a transaction (a test, a caller in `atomic()`) the views are
  written at once, in that transaction, so they commit or roll back with it.
  `write_buffered_views()` writes this process's buffer now: the flush below calls it
  first, so a flush in the process that served the views (tests) sees all of them.
- `flush_pending_views` (the `content.flush_views` task, on a beat entry every
  CONTENT_VIEWS_FLUSH_SECONDS and nudged by the web processes) takes a batch of rows,
  sums them per block, adds each sum with one UPDATE per distinct amount and deletes the
  rows, all in one transaction. A task that is redelivered after it committed finds the
  rows gone; one killed before it committed rolled back and counts them again, once.
  Concurrent flushes skip each other's rows (`SELECT ... FOR UPDATE SKIP LOCKED` on
  PostgreSQL; on SQLite the IMMEDIATE transaction makes them take turns).

Measured with bench/content_api.py (2 gunicorn workers, 2 cores, 20 s): with an INSERT
per response (on PostgreSQL committed without waiting for the WAL flush) the detail
endpoint made 0.38x the bare Django view on PostgreSQL and 0.58x on SQLite; with the
buffer (and the state query prepared, lavka/content/cache.py) 0.52x and 0.67x, 0 lost.
Skipping the INSERT alone was worth about 0.09x on PostgreSQL. One Celery task per view
(the other candidate) measured about 6x the INSERT's cost in every response on SQLite,
and 40x the flush's cost to apply, before the row per view it would still need to be
idempotent. The writer keeps one database connection while views come in and closes it
after IDLE_SECONDS without any.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from lavka.content.models import Block, PendingBlockViews
from lavka.core import background

logger = logging.getLogger(__name__)

# Ids per IN (...) list: under every backend's limit on query parameters.
ID_CHUNK = 500
# A buffered view is written at most this many seconds after the first one buffered
# with it: what a web process killed with -9 can lose.
WRITE_INTERVAL = 0.1
# Rows per INSERT (3 parameters each: under SQLite's limit of 999).
INSERT_BATCH = 300
# A failed write is tried again after this many seconds; the views stay buffered.
RETRY_SECONDS = 1.0
# The writer closes its database connection after this many seconds without views.
IDLE_SECONDS = 1.0

_nudge_lock = threading.Lock()
_last_nudge = -1e9


class _Buffer:
    """This process's recorded views not yet in the database."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, list[int]]] = []  # (page id, block ids) per response
        self.lock = threading.Lock()  # guards rows and writer
        self.write_lock = threading.Lock()  # one write at a time; a drain waits for it
        self.pending = threading.Event()  # rows is not empty
        self.writer: threading.Thread | None = None


_buffer = _Buffer()


def record_page_view(*, page_id: int, block_ids: Sequence[int]) -> None:
    """Count one view for each of the blocks a response for the page showed."""
    if not block_ids:
        return
    row = (page_id, [int(pk) for pk in block_ids])
    if connection.in_atomic_block:
        _insert([row])
        return
    with _buffer.lock:
        _buffer.rows.append(row)
        _buffer.pending.set()
        if _buffer.writer is None:
            _buffer.writer = threading.Thread(
                target=_write_periodically, name="content-views-writer", daemon=True
            )
            _buffer.writer.start()


def write_buffered_views() -> int:
    """Write this process's buffered views now, after any write under way; returns the
    number of responses written. Raises if the database refuses (they stay buffered).

    Call it outside a transaction: one that rolled back would take the views with it."""
    with _buffer.write_lock:
        with _buffer.lock:
            rows, _buffer.rows = _buffer.rows, []
            _buffer.pending.clear()
        if not rows:
            return 0
        try:
            _insert(rows)
        except BaseException:
            with _buffer.lock:
                _buffer.rows[:0] = rows
                _buffer.pending.set()
            raise
    return len(rows)


def _insert(rows: list[tuple[int, list[int]]]) -> None:
    PendingBlockViews.objects.bulk_create(
        [PendingBlockViews(page_id=page_id, block_ids=ids) for page_id, ids in rows],
        batch_size=INSERT_BATCH,
    )
    transaction.on_commit(_nudge)


def _write_periodically() -> None:
    while True:
        if not _buffer.pending.wait(timeout=IDLE_SECONDS):
            connection.close()  # no views for a while: hold no database connection
            _buffer.pending.wait()
        time.sleep(WRITE_INTERVAL)
        try:
            write_buffered_views()
        except Exception:
            logger.warning("could not write buffered content views; retrying", exc_info=True)
            connection.close()  # a broken connection is opened anew for the next try
            time.sleep(RETRY_SECONDS)


@atexit.register
def _write_at_exit() -> None:
    try:
        write_buffered_views()
    except Exception:
        logger.exception("content views buffered in this process could not be written")


def _forget_after_fork() -> None:
    """A forked child starts with an empty buffer and no writer: the parent's buffered
    views are the parent's to write."""
    global _buffer
    _buffer = _Buffer()


os.register_at_fork(after_in_child=_forget_after_fork)


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
    try:
        # By name (counting is below the tasks module), delayed: so not `start`.
        background.task_named("content.flush_views").apply_async(countdown=interval)
    except Exception:  # the views are stored; the beat entry flushes them
        logger.warning("could not queue content.flush_views", exc_info=True)


def flush_pending_views(*, batch_size: int = 5000, max_batches: int = 100) -> int:
    """Apply pending views to the block counters; returns the number of views applied.

    Outside a transaction it first writes this process's buffered views (a Celery worker
    has none; a test's live server has them)."""
    if not connection.in_atomic_block:
        write_buffered_views()
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
