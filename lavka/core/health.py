"""Health of the pieces Lavka needs: database, cache, broker and a live worker."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string

from lavka.core.registry import declarations


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str


def check_database() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return CheckResult(True, connection.vendor)


def check_cache() -> CheckResult:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "ok":
        return CheckResult(False, "value written was not read back")
    return CheckResult(True, settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1])


def check_broker() -> CheckResult:
    from lavka.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)
        return CheckResult(True, str(conn.transport.driver_type))


def check_worker() -> CheckResult:
    from lavka.core.models import WorkerHeartbeat

    fresh_since = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_GRACE)
    alive = list(
        WorkerHeartbeat.objects.filter(last_seen_at__gte=fresh_since).values_list(
            "hostname", flat=True
        )
    )
    if not alive:
        return CheckResult(
            False, f"no worker heartbeat in the last {settings.WORKER_HEARTBEAT_GRACE} s"
        )
    return CheckResult(True, ", ".join(sorted(alive)))


def checks() -> dict[str, Callable[[], CheckResult]]:
    """Every installed app's declared checks (core's four come first)."""
    return {check.name: import_string(check.check) for check in declarations().health_checks}


def run_checks() -> dict[str, CheckResult]:
    results: dict[str, CheckResult] = {}
    for name, check in checks().items():
        try:
            results[name] = check()
        except Exception as exc:  # a health check reports failures, it never raises
            results[name] = CheckResult(False, f"{type(exc).__name__}: {exc}"[:300])
    return results
