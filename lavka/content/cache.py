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

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

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
    updated = ContentRevision.objects.filter(pk=1).update(
        number=F("number") + 1, changed_at=timezone.now()
    )
    if not updated:
        ContentRevision.objects.get_or_create(pk=1, defaults={"number": 1})


def current_revision() -> tuple[int, datetime]:
    row = ContentRevision.objects.filter(pk=1).values_list("number", "changed_at").first()
    return row if row is not None else (0, EPOCH)


def validators(
    kind: str, parts: Iterable[Any], *, modified: Iterable[datetime | None]
) -> Validators:
    """Validators for a representation identified by `parts` (anything with a stable str)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=16).hexdigest()
    times = [moment for moment in modified if moment is not None]
    return Validators(
        key=f"content-api:{kind}:{digest}",
        etag=f'W/"{digest}"',
        last_modified=max(times, default=EPOCH),
    )


def get(found: Validators) -> Any:
    return cache.get(found.key)


def put(found: Validators, value: Any) -> None:
    cache.set(found.key, value, timeout=settings.CONTENT_API_CACHE_SECONDS)
