"""A prepared-file producer for the kernel's tests: `rows` numbered rows, optionally
slowed down (`pause_ms` after every 100 rows) so a test can kill a worker mid-file."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from lavka.core.prepared_files import Producer, register


def _check(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    rows, pause = params.get("rows"), params.get("pause_ms", 0)
    if not isinstance(rows, int) or not 0 <= rows <= 1_000_000:
        raise ValidationError("rows must be a whole number from 0 to 1,000,000")
    if not isinstance(pause, int) or not 0 <= pause <= 1000:
        raise ValidationError("pause_ms must be a whole number from 0 to 1000")
    return {"rows": rows, "pause_ms": pause}


def _rows(user: Any, params: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    yield ("n", "price", "note")
    for n in range(params["rows"]):
        if params["pause_ms"] and n % 100 == 0:
            time.sleep(params["pause_ms"] / 1000)
        yield (n, Decimal(n).scaleb(-2), f"строка {n}")


NUMBERS = Producer(
    name="core_tests.numbers",
    check=_check,
    count=lambda user, params: int(params["rows"]),
    rows=_rows,
)


def _lease_seen(user: Any, params: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    """One row: how long the job's lease runs, read while the file is being written."""
    from django.utils import timezone

    from lavka.core.models import PreparedFile

    expires = (
        PreparedFile.objects.filter(state="claimed")
        .values_list("lease_expires_at", flat=True)
        .get()
    )
    yield ("lease seconds",)
    yield (int((expires - timezone.now()).total_seconds()),)


LONG_LEASE = Producer(
    name="core_tests.long_lease",
    check=lambda user, params: {},
    count=lambda user, params: 1,
    rows=_lease_seen,
    lease_seconds=3600,
)


def register_producers() -> None:
    register(NUMBERS)
    register(LONG_LEASE)
