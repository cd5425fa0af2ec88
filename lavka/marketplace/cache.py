"""The catalogue's cache: rendered product lists kept under a catalogue version.

A list (a shop page's product listing, a page of the catalogue API) is stored under a
key made of the catalogue version, the language and the list's normalised filters. Any
change to the catalogue calls `catalog_changed()`, which gives the catalogue a new
version: every stored list becomes unreachable at once, and nothing has to be deleted
(the entries expire by themselves).

The version lives in the shared cache; a list served before costs one read of it (the
list itself is usually still in the process, see `cached_list`) and no query.
`catalog_changed()` sets a new version at once and again when the transaction commits:
a list read between the two (from data not yet committed, or from the old data) is
stored under the in-between version, which the second change leaves behind.

Products, images, categories and creator profiles call it from `save()` and `delete()`,
so every path (services, admin, demo data, a shell) counts. Writes that skip `save()`
(`QuerySet.update()`, as stock reservations do) must call it themselves. What it cannot
see — a creator's user account blocked elsewhere — shows when entries expire, after
`LIST_SECONDS` at most.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.utils import translation

VERSION_KEY = "marketplace:catalog-version"
LIST_SECONDS = 60

T = TypeVar("T")


def _new_version() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(8), timeout=None)


def catalog_changed() -> None:
    """Make every cached list unreachable, now and once more after the commit."""
    _new_version()
    transaction.on_commit(_new_version, robust=True)


def catalog_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:  # first use, or the cache was emptied
        cache.add(VERSION_KEY, secrets.token_hex(8), timeout=None)
        version = cache.get(VERSION_KEY) or "unset"
    return str(version)


def list_key(kind: str, parts: Iterable[tuple[str, Any]]) -> str:
    """A key for one list: its kind, the catalogue version, the active language and the
    (already validated) values that choose what the list shows."""
    described = json.dumps(sorted((name, str(value)) for name, value in parts))
    digest = hashlib.sha256(described.encode()).hexdigest()[:32]
    language = translation.get_language() or "en"
    return f"marketplace:list:{kind}:{catalog_version()}:{language}:{digest}"


# Each process keeps the lists it served last, by the same keys: the key names the
# catalogue version, so a kept list is exactly as fresh as the shared one, and reading
# it skips the cache's file or network read. Bounded in number and, like the shared
# entries, in age.
LOCAL_ENTRIES = 256
_local: OrderedDict[str, tuple[float, Any]] = OrderedDict()
_local_lock = threading.Lock()


def _remember(key: str, value: Any) -> None:
    with _local_lock:
        _local[key] = (time.monotonic() + LIST_SECONDS, value)
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def _recall(key: str) -> Any:
    with _local_lock:
        entry = _local.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del _local[key]
            return None
        _local.move_to_end(key)
        return entry[1]


def recall(key: str) -> Any:
    """What was kept for the key, in this process or the shared cache; None if nothing."""
    value = _recall(key)
    if value is None:
        value = cache.get(key)
        if value is not None:
            _remember(key, value)
    return value


def keep(key: str, value: Any) -> None:
    cache.set(key, value, timeout=LIST_SECONDS)
    _remember(key, value)


def cached_list(key: str, compute: Callable[[], T]) -> T:
    """The value kept for the key (in this process, else in the shared cache), or
    `compute()` kept for next time."""
    value = _recall(key)
    if value is not None:
        return value  # type: ignore[no-any-return]
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=LIST_SECONDS)
    _remember(key, value)
    return value
