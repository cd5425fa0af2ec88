"""The Celery application: configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery

from lavka.core import request_id
from lavka.core.worker import HeartbeatStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lavka.settings")

app = Celery("lavka")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add(HeartbeatStep)
request_id.connect_celery_signals()
