"""Caching and validators (ETag, Last-Modified) for the content API's responses.

A cached body is found by a key made of what it shows, read with one cheap query per
request, so a change is never served stale and nothing has to delete entries:

- a page's detail: the page's `updated_at`, each of its blocks' id, position and
  `updated_at` (one query that also gives the current view counters), and the content
  revision. Editing the page, editing, adding, removing or reordering its blocks changes
  the key by itself;
- the page list: the newest `updated_at` and the number of pages, and the revision;
- the content revision (`ContentRevision`) is raised by `content_changed()`, which the
  services call for changes the timestamps above do not show (a file finished
  processing, a block updated with `QuerySet.update()`).

View counters are never part of a key: the cached body holds no counters, and every
response merges in the counters read by the same query (they trail the views by at most
a flush interval). ETags are weak for that reason: two responses with the same ETag show
the same content, not necessarily the same counters.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection

from lavka.content.models import ContentRevision

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Validators:
    """The cache key and the HTTP validators of one representation."""

    key: str
    etag: str
    last_modified: datetime


def content_changed() -> None:
    """Make every cached content response unreachable; call it inside the change's
    transaction so that the new revision and the new content commit together."""
    ContentRevision.raise_number()


def current_revision() -> tuple[int, datetime]:
    row = ContentRevision.objects.filter(pk=1).values_list("number", "changed_at").first()
    return row if row is not None else (0, EPOCH)


# Timestamps in the state query are "stamps": text on SQLite (as Django stores them, which
# sorts in time order) and integer microseconds since the epoch on PostgreSQL. They key
# the cache as they are; only the latest is made a datetime, for Last-Modified. Reading
# thirty datetimes per response cost more than the query.
Stamp = str | int


@dataclass(frozen=True)
class Link:
    """A block's place on the page, with what keys the cache and its current counter."""

    block_id: int
    position: int
    kind: str
    views: int
    updated_at: Stamp


@dataclass(frozen=True)
class PageState:
    is_published: bool
    updated_at: Stamp
    revision: int
    revised_at: Stamp | None
    links: list[Link]

    def last_modified(self) -> datetime:
        stamps = [self.updated_at, *(link.updated_at for link in self.links)]
        if self.revised_at is not None:
            stamps.append(self.revised_at)
        return _from_stamp(max(stamps))  # type: ignore[type-var]


def page_state(*, page_id: int) -> PageState | None:
    """The page's publication, timestamps and blocks in order, with the content revision:
    one SELECT, written as SQL because it runs on every detail response."""
    if connection.vendor == "postgresql":
        rows = _postgresql_state_rows(page_id)
    else:
        with connection.cursor() as cursor:
            cursor.execute(_page_state_sql(connection.vendor), [page_id])
            rows = cursor.fetchall()
    if not rows:
        return None
    is_published, updated_at, revision, revised_at = rows[0][:4]
    return PageState(
        is_published=bool(is_published),
        updated_at=updated_at,
        revision=revision or 0,
        revised_at=revised_at,
        links=[
            Link(block_id, position, kind, views, changed)
            for *_page, block_id, position, kind, views, changed in rows
            if block_id is not None and kind is not None
        ],
    )


@functools.cache
def _page_state_sql(vendor: str) -> str:
    from lavka.content.models import Block, Page, PageBlock

    q = connection.ops.quote_name
    page, link, block = (q(model._meta.db_table) for model in (Page, PageBlock, Block))
    revision = q(ContentRevision._meta.db_table)
    if vendor == "postgresql":
        stamp = "(extract(epoch FROM {}) * 1000000)::bigint".format
    else:
        stamp = "CAST({} AS TEXT)".format
    # Only quoted table names are interpolated; the page id is a parameter.
    return (
        f"SELECT p.is_published, {stamp('p.updated_at')}, r.number, {stamp('r.changed_at')}, "  # noqa: S608
        f"l.block_id, l.position, b.kind, b.views, {stamp('b.updated_at')} "
        f"FROM {page} p "
        f"LEFT JOIN {revision} r ON r.id = 1 "
        f"LEFT JOIN {link} l ON l.page_id = p.id "
        f"LEFT JOIN {block} b ON b.id = l.block_id "
        "WHERE p.id = %s ORDER BY l.position, l.id"
    )


# On PostgreSQL the state query is a prepared statement of the connection: planning its
# four joins cost twice as long as running them (about 330 against 160 microseconds a
# query on the bench's machine). PREPARE belongs to the database session, so it needs a
# direct connection or a pooler in session mode, not pgbouncer's transaction mode.
PREPARED_STATE = "lavka_content_page_state"
_prepared_on: weakref.WeakSet[Any] = weakref.WeakSet()  # psycopg connections


def _postgresql_state_rows(page_id: int) -> list[tuple[Any, ...]]:
    """The state query also serves as the request's connection health check: Django's
    (CONN_HEALTH_CHECKS) sends a SELECT 1 first, a round trip that cost the detail
    endpoint 0.04x of the baseline. If the kept connection turns out broken (a restarted
    server) it is replaced, and a session that lost the statement prepares it again; then
    the query runs once more, unless the failure aborted a transaction."""
    # Django's own flag (not typed in its stubs); were it renamed, the SELECT 1 would be
    # back, which costs time, not correctness.
    connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return _execute_state(page_id)
    except DatabaseError:
        if connection.in_atomic_block:
            raise
        if not connection.is_usable():
            connection.close()
        return _execute_state(page_id)


def _execute_state(page_id: int) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        session = connection.connection
        if session not in _prepared_on:
            cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [PREPARED_STATE])
            if cursor.fetchone() is not None:  # from older code, or before an error
                cursor.execute(f"DEALLOCATE {PREPARED_STATE}")
            sql = _page_state_sql(connection.vendor).replace("%s", "$1")
            cursor.execute(f"PREPARE {PREPARED_STATE}(bigint) AS {sql}")
            _prepared_on.add(session)
        try:
            cursor.execute(f"EXECUTE {PREPARED_STATE}(%s)", [page_id])
        except DatabaseError:
            _prepared_on.discard(session)  # checked and prepared again on the next use
            raise
        return cursor.fetchall()


def _from_stamp(stamp: Stamp) -> datetime:
    if isinstance(stamp, int):
        return datetime.fromtimestamp(stamp / 1_000_000, tz=UTC)
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def validators(kind: str, parts: Iterable[Any], *, last_modified: datetime) -> Validators:
    """Validators for a representation identified by `parts` (anything with a stable str)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=16).hexdigest()
    return Validators(
        key=f"content-api:{kind}:{digest}", etag=f'W/"{digest}"', last_modified=last_modified
    )


# Keys name content, never a moment, so an entry cannot go stale: each process keeps the
# ones it used last in memory, before the shared cache (a file or Redis read per request
# cost as much as the rest of a cached response).
LOCAL_ENTRIES = 128
_local: OrderedDict[str, Any] = OrderedDict()
_local_lock = threading.Lock()


def get(found: Validators) -> Any:
    with _local_lock:
        value = _local.get(found.key)
        if value is not None:
            _local.move_to_end(found.key)
            return value
    value = cache.get(found.key)
    if value is not None:
        _remember(found.key, value)
    return value


def put(found: Validators, value: Any) -> None:
    cache.set(found.key, value, timeout=settings.CONTENT_API_CACHE_SECONDS)
    _remember(found.key, value)


def _remember(key: str, value: Any) -> None:
    with _local_lock:
        _local[key] = value
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def forget_local() -> None:
    """Empty this process's copies (tests that count queries of a cold cache)."""
    with _local_lock:
        _local.clear()


@dataclass(frozen=True)
class BodyTemplate:
    """A rendered JSON body with holes where the view counters go.

    `parts` alternates fixed bytes and slots: a block id (its counter) or None (the
    page's total). Filling it is a join, so the counters of a cached body cost nothing
    to refresh.
    """

    parts: tuple[bytes | int | None, ...]

    @classmethod
    def render(cls, data: Any, render: Any, *, blocks_key: str = "blocks") -> BodyTemplate:
        """Render `data` (whose blocks and total carry placeholder counters) with the
        `render` function, then cut it at the placeholders."""
        nonce = secrets.token_hex(8)
        for block in data[blocks_key]:
            block["views"] = f"{nonce}:{block['id']}"
        data["views"] = f"{nonce}:total"
        pieces = re.split(rf'"{nonce}:(\d+|total)"'.encode(), render(data))
        parts: list[bytes | int | None] = []
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                parts.append(piece)
            else:
                parts.append(None if piece == b"total" else int(piece))
        return cls(tuple(parts))

    def fill(self, views: dict[int, int]) -> bytes:
        total = str(sum(views.values())).encode()
        return b"".join(
            part
            if isinstance(part, bytes)
            else total
            if part is None
            else str(views.get(part, 0)).encode()
            for part in self.parts
        )
