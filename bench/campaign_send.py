#!/usr/bin/env python
"""Campaign sending throughput, measured side by side in one run.

Sinks: Postfix's `smtp-sink` on loopback, and the same sink behind a TCP proxy that
delays every byte by 10 ms each way (a remote SMTP relay). For each sink:

  limit   one process, one persistent SMTP connection, EmailMessage built per message
  seed    `send_mail()` per recipient: a new connection for every message (seed 004)
  lavka   a real mailing run on the configured broker with 1, then 2 worker processes

Prints messages/s, the ratios, and each Lavka run's worker peak memory.

    .venv/bin/python bench/campaign_send.py                    # embedded default
    DATABASE_URL=postgres://… CELERY_BROKER_URL=amqp://… .venv/bin/python bench/campaign_send.py

Needs `smtp-sink` (Debian package postfix). The database is a fresh one made for the
bench (a temporary SQLite file, or `<name>_bench` on PostgreSQL; bench/_support.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import (
    free_port,
    fresh_environment,
    start_workers,
    stop_workers,
    wait_for_port,
)

# --- the delaying relay ---------------------------------------------------------------


def run_delay_proxy(listen_port: int, target_port: int, delay: float) -> None:
    """Forward TCP to the target, holding every chunk `delay` seconds in each direction."""

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((time.monotonic() + delay, data))
                if not data:
                    break
        except ConnectionError:
            await queue.put((0.0, b""))
        await sender

    async def handle(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, server_writer),
            pump(server_reader, client_writer),
            return_exceptions=True,
        )

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- the three ways of sending -------------------------------------------------------------


def build_message(index: int):
    from django.core.mail import EmailMultiAlternatives

    message = EmailMultiAlternatives(
        subject=f"News for Reader {index}",
        body=f"Hello Reader {index},\n\nOur news.\n",
        from_email="shop@example.com",
        to=[f"reader{index:05d}@example.net"],
    )
    message.attach_alternative(f"<p>Hello Reader {index},</p><p>Our news.</p>", "text/html")
    return message


def measure_limit(port: int, count: int) -> float:
    from django.core.mail import get_connection

    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="127.0.0.1",
        port=port,
        use_tls=False,
        username="",
        password="",
        timeout=30,
    )
    connection.open()
    started = time.perf_counter()
    for index in range(count):
        connection.send_messages([build_message(index)])
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def measure_seed_way(port: int, count: int) -> float:
    from django.conf import settings
    from django.core.mail import send_mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    started = time.perf_counter()
    for index in range(count):
        send_mail(
            f"News for Reader {index}",
            "Hello",
            "shop@example.com",
            [f"reader{index:05d}@example.net"],
        )
    return count / (time.perf_counter() - started)


def peak_memory_mb(pids: list[int]) -> float:
    """Sum of the processes' peak resident sets (VmHWM), in MiB."""
    total_kb = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


def process_tree(root: int) -> list[int]:
    children = subprocess.run(
        ["pgrep", "-g", str(os.getpgid(root))], capture_output=True, text=True
    ).stdout.split()
    return [int(pid) for pid in children] or [root]


def measure_lavka(
    port: int, recipients: int, workers: int, env: dict[str, str], log_dir: Path
) -> tuple[float, float]:
    from datetime import timedelta

    from django.utils import timezone

    from lavka.accounts import services as account_services
    from lavka.accounts.models import User
    from lavka.campaigns import dispatch
    from lavka.campaigns.models import (
        Mailing,
        MailingRun,
        Message,
        Recipient,
        RunStatus,
        SendingPolicy,
    )
    from lavka.celery import app
    from lavka.core.roles import Role

    app.control.purge()
    owner = User.objects.create_user(f"bench-{time.time_ns()}@example.com", "x")
    account_services.set_role(user=owner, role=Role.CREATOR, enabled=True)  # campaigns are theirs
    SendingPolicy.objects.create(owner=owner, messages_per_minute=10_000_000)
    Recipient.objects.bulk_create(
        (
            Recipient(owner=owner, email=f"reader{i:05d}@example.net", full_name=f"Reader {i}")
            for i in range(recipients)
        ),
        batch_size=2000,
    )
    message = Message.objects.create(
        owner=owner,
        subject="News for {{ name }}",
        html_body="<p>Hello {{ name }},</p><p>Our news.</p><p><a href='{{ unsubscribe_url }}'>Unsubscribe</a></p>",
    )
    mailing = Mailing.objects.create(
        owner=owner,
        name="Bench",
        message=message,
        time_zone="UTC",
        first_send_at=timezone.now() + timedelta(minutes=10),
    )
    mailing.recipients.set(Recipient.objects.filter(owner=owner))
    worker_env = dict(env, EMAIL_URL=f"smtp://127.0.0.1:{port}")
    procs = start_workers(workers, worker_env, log_dir, queues="default,mail")
    mailing.status = "scheduled"
    mailing.next_send_at = timezone.now()
    mailing.save()
    started = time.perf_counter()
    run_id = dispatch.dispatch_due_mailings()[0]
    peak = 0.0
    while True:
        run = MailingRun.objects.get(pk=run_id)
        if run.status in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.PAUSED):
            break
        peak = max(peak, max(peak_memory_mb(process_tree(p.pid)) / len(procs) for p in procs))
        if time.perf_counter() - started > 1800:
            raise RuntimeError("run did not finish in 30 minutes")
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    for proc in procs:
        peak = max(peak, peak_memory_mb(process_tree(proc.pid)))
    stop_workers(procs)
    if run.status != RunStatus.COMPLETED or run.sent != recipients:
        raise RuntimeError(
            f"run ended {run.status}: sent {run.sent}/{recipients} {run.status_reason}"
        )
    return recipients / elapsed, peak


# --- setup ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=2000,
        help="messages sent by the limit and the seed's way on loopback",
    )
    parser.add_argument(
        "--relay-baseline-sample",
        type=int,
        default=300,
        help="messages sent by the limit and the seed's way through the relay",
    )
    parser.add_argument("--delay-ms", type=float, default=10.0)
    parser.add_argument("--only", choices=["loopback", "relay"], help="measure one sink only")
    args = parser.parse_args()

    sink_binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not Path(sink_binary).exists():
        sys.exit("smtp-sink not found: apt-get install postfix")
    tmp = Path(tempfile.mkdtemp(prefix="lavka-bench-"))
    env = fresh_environment(tmp, drop=("EMAIL_URL",))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    sink_port, relay_port = free_port(), free_port()
    sink = subprocess.Popen(
        [sink_binary, "-u", "nobody", f"127.0.0.1:{sink_port}", "1024"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    relay = multiprocessing.Process(
        target=run_delay_proxy, args=(relay_port, sink_port, args.delay_ms / 1000), daemon=True
    )
    relay.start()
    wait_for_port(sink_port)
    wait_for_port(relay_port)

    results: dict[str, dict[str, float]] = {}
    memory: dict[str, float] = {}
    try:
        for label, port, sample in (
            ("loopback", sink_port, args.baseline_sample),
            ("relay", relay_port, args.relay_baseline_sample),
        ):
            if args.only and args.only != label:
                continue
            row: dict[str, float] = {}
            row["limit"] = measure_limit(port, sample)
            row["seed"] = measure_seed_way(port, sample)
            for workers in (1, 2):
                rate, peak = measure_lavka(port, args.recipients, workers, env, tmp)
                row[f"lavka x{workers}"] = rate
                memory[f"{label} x{workers}"] = peak
            results[label] = row
            print(
                f"{label}: " + ", ".join(f"{k} {v:.0f} msg/s" for k, v in row.items()), flush=True
            )
    finally:
        sink.terminate()
        relay.terminate()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"{'sink':<10}{'limit':>10}{'seed':>10}{'lavka x1':>10}{'lavka x2':>10}   ratios")
    for label, row in results.items():
        print(
            f"{label:<10}{row['limit']:>10.0f}{row['seed']:>10.0f}{row['lavka x1']:>10.0f}{row['lavka x2']:>10.0f}   "
            f"x1/limit {row['lavka x1'] / row['limit']:.2f}  x1/seed {row['lavka x1'] / row['seed']:.1f}  "
            f"x2/x1 {row['lavka x2'] / row['lavka x1']:.2f}"
        )
    print(
        "worker peak memory (MiB per worker process tree): "
        + ", ".join(f"{k} {v:.0f}" for k, v in memory.items())
    )
    targets = {}
    if "loopback" in results:
        loop = results["loopback"]
        targets["loopback: lavka x1 >= 0.5 x limit"] = loop["lavka x1"] >= 0.5 * loop["limit"]
    if "relay" in results:
        relay_row = results["relay"]
        targets["relay: lavka x1 >= 5 x seed"] = relay_row["lavka x1"] >= 5 * relay_row["seed"]
        targets["relay: lavka x2 >= 1.6 x lavka x1"] = (
            relay_row["lavka x2"] >= 1.6 * relay_row["lavka x1"]
        )
    for name, met in targets.items():
        print(f"target {name}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
