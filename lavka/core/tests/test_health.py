from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lavka.core.models import WorkerHeartbeat


def beat(hostname: str = "celery@test", seconds_ago: int = 0) -> WorkerHeartbeat:
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        hostname=hostname,
        queues=["default"],
        started_at=now,
        last_seen_at=now - timedelta(seconds=seconds_ago),
    )


@pytest.mark.django_db
def test_healthz_is_200_when_database_cache_broker_and_worker_are_up(client):
    beat()

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "worker"}
    assert body["checks"]["worker"]["detail"] == "celery@test"


@pytest.mark.django_db
def test_healthz_is_503_naming_the_worker_when_no_heartbeat_is_fresh(client):
    beat(seconds_ago=3600)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["worker"]


@pytest.mark.django_db
def test_healthz_is_503_naming_the_broker_when_it_cannot_be_reached(client):
    from lavka.celery import app

    beat()
    keys = ("broker_url", "broker_write_url", "broker_transport", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(
        broker_url="amqp://guest:guest@127.0.0.1:1//",
        broker_write_url="amqp://guest:guest@127.0.0.1:1//",
        broker_transport=None,
        broker_transport_options={},
    )
    try:
        response = client.get("/healthz")
    finally:
        app.conf.update(saved)

    assert response.status_code == 503
    assert "broker" in response.json()["down"]
    assert "worker" not in response.json()["down"]


@pytest.mark.django_db
def test_healthz_is_not_cached(client):
    beat()

    response = client.get("/healthz")

    assert "no-cache" in response["Cache-Control"]
