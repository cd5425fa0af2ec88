"""Health checks are delivered at least once and may arrive late: a duplicate gives the
same answer, and a stale one never overwrites a newer answer or another address's."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from lavka.demos import services, tasks
from lavka.demos.models import Demo, HealthStatus

pytestmark = pytest.mark.django_db


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def healthy_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_health_check_delivered_twice_stores_the_same_answer(
    healthy_url: str, make_demo: Any
) -> None:
    demo = make_demo(url=healthy_url, health=HealthStatus.UNKNOWN)

    first = tasks.check_demo_health(demo.pk)
    demo.refresh_from_db()
    first_checked = demo.health_checked_at
    second = tasks.check_demo_health(demo.pk)
    demo.refresh_from_db()

    assert first == second == "up"
    assert demo.health_status == HealthStatus.UP and demo.health_reason == ""
    assert demo.health_checked_at >= first_checked


def test_a_late_health_check_does_not_overwrite_a_newer_answer(
    healthy_url: str, make_demo: Any
) -> None:
    demo = make_demo(url=healthy_url, health=HealthStatus.UNKNOWN)
    newer = timezone.now() + timedelta(minutes=1)
    Demo.objects.filter(pk=demo.pk).update(
        health_status=HealthStatus.DOWN, health_checked_at=newer, health_reason="newer"
    )

    services.check_health(demo=demo)

    demo.refresh_from_db()
    assert (demo.health_status, demo.health_reason) == (HealthStatus.DOWN, "newer")
    assert demo.health_checked_at == newer


def test_a_check_of_an_address_the_owner_changed_meanwhile_is_not_stored(
    healthy_url: str, make_demo: Any
) -> None:
    demo = make_demo(url=healthy_url, health=HealthStatus.UNKNOWN)
    stale = Demo.objects.get(pk=demo.pk)
    Demo.objects.filter(pk=demo.pk).update(service_url="http://127.0.0.1:9")

    services.check_health(demo=stale)

    demo.refresh_from_db()
    assert demo.health_status == HealthStatus.UNKNOWN and demo.health_checked_at is None


def test_a_health_check_of_a_deleted_demo_does_nothing(make_demo: Any) -> None:
    demo = make_demo(health=HealthStatus.UNKNOWN)
    demo_id = demo.pk
    demo.delete()

    assert tasks.check_demo_health(demo_id) == ""
