"""Test infrastructure shared by every app: real worker processes, mail sinks, caches.

Lives under the tests (not in conftest) so that tests and benchmarks can both import it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def clear_cache() -> None:
    """Empty the test cache without touching other users of a shared Redis."""
    config = settings.CACHES["default"]
    if config["BACKEND"].endswith("RedisCache"):
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        prefix = config.get("KEY_PREFIX", "")
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
    else:
        cache.clear()


def test_database_url() -> str:
    """A DATABASE_URL naming the database the test run created, for child processes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if user else ""
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


def child_environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="lavka.test_settings",
        DATABASE_URL=test_database_url(),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            return result
        time.sleep(interval)


@dataclass
class WorkerProcess:
    """A `celery worker` child process consuming from the configured broker."""

    hostname: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """Kill -9 the whole worker (main process and pool children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            self.kill()


def purge_queues() -> int:
    """Drop every message waiting on Lavka's queues, so none left by an earlier test
    reaches this one's worker. `app.control.purge()` empties the default queue only:
    Celery knows the others from the task routes alone."""
    from lavka.celery import app

    dropped = 0
    with app.connection_for_write() as broker:
        for name in settings.CELERY_TASK_QUEUES_ALL:
            channel = broker.channel()
            try:
                dropped += channel.queue_purge(name) or 0
            except broker.channel_errors:
                pass  # never declared: nothing waits on it
            finally:
                with contextlib.suppress(*broker.channel_errors, *broker.connection_errors):
                    channel.close()
    return dropped


def celery_worker_command(
    *, hostname: str, queues: str, concurrency: int = 1, loglevel: str = "INFO"
) -> list[str]:
    """The command line of one Lavka worker process (the tests' and the benches')."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "lavka",
        "worker",
        f"--hostname={hostname}",
        f"--queues={queues}",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
    ]


def start_worker(
    log_dir: Path,
    *,
    concurrency: int = 1,
    queues: str = "default,mail,sync,media,demos",
    extra_env: dict[str, str] | None = None,
    wait_for_heartbeat: bool = True,
) -> WorkerProcess:
    from lavka.core.models import WorkerHeartbeat

    hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log_path = log_dir / f"{hostname.split('@')[0]}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            celery_worker_command(hostname=hostname, queues=queues, concurrency=concurrency),
            cwd=BASE_DIR,
            env=child_environment(**(extra_env or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = WorkerProcess(hostname=hostname, log_path=log_path, process=process)
    if not wait_for_heartbeat:
        return worker
    ready = wait_until(
        lambda: (
            process.poll() is not None or WorkerHeartbeat.objects.filter(hostname=hostname).exists()
        ),
        timeout=60,
    )
    if not ready or process.poll() is not None:
        worker.stop()
        raise RuntimeError(f"Celery worker did not start:\n{worker.log_tail()}")
    return worker


def start_beat(log_dir: Path, *, extra_env: dict[str, str] | None = None) -> WorkerProcess:
    """A `celery beat` child process with the database scheduler, on the test database."""
    log_path = log_dir / f"beat-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "lavka",
                "beat",
                "--loglevel=INFO",
                "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
                "--pidfile=",
            ],
            cwd=BASE_DIR,
            env=child_environment(**(extra_env or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return WorkerProcess(hostname="beat", log_path=log_path, process=process)


# Below Linux's ephemeral range (32768-60999): the kernel never hands these ports to an
# outgoing connection, so one probed here is still free when a child process binds it a
# few seconds later, while the other CI suite and its thousands of connections run beside.
_PROBED_PORTS = range(20000, 32768)


def free_port() -> int:
    """A loopback port that is free now, for a server a child process will bind."""
    import secrets
    import socket

    for _ in range(100):
        # not `random`: a test that seeds it would give both suites the same ports
        port = secrets.choice(_PROBED_PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


@dataclass
class ReceivedMail:
    envelope_from: str
    envelope_to: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    def text(self) -> str:
        parts = self.message.walk() if self.message.is_multipart() else [self.message]
        for part in parts:
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload.decode(part.get_content_charset() or "utf-8")
        return ""


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback that records what it receives."""

    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = ReceivedMail(
            envelope_from=envelope.mail_from,
            envelope_to=list(envelope.rcpt_tos),
            message=message_from_bytes(envelope.original_content or envelope.content),
        )
        with self.lock:
            self.received.append(mail)
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname=self.host, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def messages_to(self, address: str) -> list[ReceivedMail]:
        with self.lock:
            return [m for m in self.received if address in m.envelope_to]
