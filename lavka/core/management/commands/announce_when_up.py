from __future__ import annotations

import io
import signal
import time
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from lavka.core import selectors

# a worker whose heartbeat began this long before we did belongs to this start, not to
# a run killed a moment ago whose row is still fresh
START_MARGIN = timedelta(seconds=30)


class Command(BaseCommand):
    help = (
        "The last process of `make run`: waits until a worker beats and the web server "
        "answers /healthz with 200, loads the demo data, prints the logins, then stays "
        "running until stopped (honcho stops every process when one ends)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="the web server's port")
        parser.add_argument("--timeout", type=float, default=180, help="seconds to wait")
        parser.add_argument("--no-demo-data", action="store_true", help="only wait and say so")
        parser.add_argument("--exit", action="store_true", help="exit once announced")

    def handle(self, *args: Any, port: int, timeout: float, **options: Any) -> None:
        started = timezone.now() - START_MARGIN
        deadline = time.monotonic() + timeout
        # first the worker, read from the database: polling /healthz meanwhile would log
        # a warning for every 503
        while not selectors.live_workers_started_since(started):
            self._wait(deadline, "no Celery worker heartbeat")
        url = f"http://127.0.0.1:{port}/healthz"
        while (status := _status(url)) != 200:
            self._wait(deadline, f"{url} answers {status}")
        logins = io.StringIO()
        if not options["no_demo_data"]:
            # `make run` loaded them before starting; this finds every row and only
            # gives the lines to print (so no work it starts logs after them)
            call_command("load_demo_data", stdout=logins)
        self.stdout.write(f"Lavka is up: the web server answers {url} and a worker is running.")
        self.stdout.write(logins.getvalue(), ending="")
        self.stdout.flush()
        if options["exit"]:
            return
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            return

    def _wait(self, deadline: float, reason: str) -> None:
        if time.monotonic() > deadline:
            raise CommandError(f"Lavka did not come up: {reason}. See the lines above.")
        time.sleep(0.5)


def _status(url: str) -> int | str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own)
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError as error:
        return f"nothing ({error.__class__.__name__})"
