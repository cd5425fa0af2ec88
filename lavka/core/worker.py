"""A worker bootstep that writes a heartbeat row, so /healthz can tell a live worker.

Remote-control pings do not work on every broker (the filesystem transport has no
replies), and a heartbeat in the database works on all of them.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

logger = logging.getLogger(__name__)


class HeartbeatStep(bootsteps.StartStopStep):
    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None
        self.started_at: Any = None

    def start(self, parent: Any) -> None:
        from django.conf import settings
        from django.utils import timezone

        self.started_at = timezone.now()
        self._beat(parent)
        self.tref = parent.timer.call_repeatedly(
            settings.WORKER_HEARTBEAT_INTERVAL, self._beat, (parent,), priority=10
        )

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        from lavka.core import services

        try:
            services.forget_worker(hostname=parent.hostname)
        except Exception:  # the database may be gone at shutdown
            logger.warning("could not remove heartbeat of %s", parent.hostname)

    def _beat(self, parent: Any) -> None:
        from lavka.core import services

        queues = sorted(q.name for q in parent.app.amqp.queues.consume_from.values())
        try:
            services.record_worker_heartbeat(
                hostname=parent.hostname, queues=queues, started_at=self.started_at
            )
        except Exception:
            logger.exception("could not record heartbeat of %s", parent.hostname)
