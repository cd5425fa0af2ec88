#!/usr/bin/env python
"""Content API throughput and view counting, measured side by side in one run.

The production web server (gunicorn, 2 sync workers, access log on) serves, in turn:

  baseline  a bare Django view returning a constant JSON body (bench/content_api_wsgi.py
            adds it to the same application, behind the same middleware)
  detail    /api/v1/pages/{id}/ for a page of 10 blocks (counts 10 views per response)
  list      /api/v1/pages/?page=1 (20 of 30 pages)

each loaded by wrk (`-t2 -c16 --latency`, or a Python generator when wrk is missing)
for --duration seconds. A real Celery worker applies the counted views while the load
runs; at the end the bench stops gunicorn gracefully (its workers write the views still
buffered in them as they exit), sends the flush the beat entry would send, waits for the
buffer to drain and compares every block's counter with the detail responses (200 and
304) that gunicorn's access log shows were sent. Prints req/s, p99 and the ratios to the
baseline, and the lost (and extra) increments. Targets: detail >= 0.5 x baseline, 0 lost.

    .venv/bin/python bench/content_api.py                      # SQLite, 20 s each
    .venv/bin/python bench/content_api.py --duration 3         # a quick run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lavka .venv/bin/python bench/content_api.py

The database is a fresh one made for the bench and removed after: a temporary SQLite
file, or `<name>_bench_content` on the PostgreSQL server of DATABASE_URL (no other
database is touched). Broker and cache are the embedded defaults in a temporary
directory unless CELERY_BROKER_URL / CACHE_URL are set.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench._support import (  # noqa: E402
    add_load_arguments,
    choose_load,
    drop_database,
    free_port,
    measure_in_rounds,
    production_environment,
    start_gunicorn,
    start_worker,
    stop,
    wait_for_http,
)

# --- setup ------------------------------------------------------------------------------


def seed(block_count: int, page_count: int) -> tuple[int, list[int]]:
    """Pages for the list, and one page of `block_count` blocks for the detail."""
    from lavka.content import services
    from lavka.content.models import AudioBlock, StoredFile, TextBlock, VideoBlock
    from lavka.content.storage import store_bytes

    def fake(signature: bytes, serial: int) -> bytes:
        return signature + serial.to_bytes(8, "big") + bytes(64)

    for number in range(page_count - 1):
        services.create_page(title=f"Page {number:03d}", summary="A page", is_published=True)
    page = services.create_page(
        title="Bench page",
        summary="Ten blocks",
        cover=store_bytes(fake(b"\x89PNG\r\n\x1a\n", 0), kind=StoredFile.Kind.IMAGE, name="c.png"),
        is_published=True,
    )
    block_ids = []
    for number in range(block_count):
        if number % 3 == 0:
            block = VideoBlock(
                title=f"Video {number}",
                video_file=store_bytes(
                    fake(b"\x00\x00\x00\x18ftypisom", number), kind="video", name="v.mp4"
                ),
                subtitles_url="https://media.example.com/v.vtt",
            )
        elif number % 3 == 1:
            block = AudioBlock(
                title=f"Audio {number}",
                audio_url="https://media.example.com/a.mp3",
                transcript="word " * 400,
            )
        else:
            block = TextBlock(title=f"Text {number}", body="## Notes\n\n" + "Some *text*. " * 80)
        services.save_block(block=block)
        services.add_block(page=page, block=block)
        block_ids.append(block.pk)
    return page.pk, block_ids


def served(access_log: Path, path: str) -> int:
    """Responses with status 200 or 304 that gunicorn logged for the path."""
    count = 0
    for line in access_log.read_text().splitlines():
        logged_path, _, status = line.rpartition(" ")
        if logged_path == path and status in {"200", "304"}:
            count += 1
    return count


def drain(block_ids: list[int], timeout: float) -> dict[int, int]:
    """Send the flush the beat entry would send, and wait until no view is pending."""
    from lavka.content.models import Block, PendingBlockViews
    from lavka.content.tasks import flush_views

    flush_views.delay()
    deadline = time.monotonic() + timeout
    while PendingBlockViews.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    return dict(Block.objects.filter(pk__in=block_ids).values_list("pk", "views"))


def compare_mechanisms(views: int) -> dict[str, float]:
    """Microseconds per view of the two ways of counting, in this process, no worker:

    request side: (a) publishing one Celery message per view (what a task per view costs
    the response) and (b) recording it in the process's buffer (what Lavka does; a thread
    writes the buffer with one INSERT per 0.1 s, off the response);
    apply side: (a) one transaction per view, UPDATE of the page's blocks (a lower bound
    for a task per view: no broker, no idempotency marker) and (b) one flush of the
    buffer. Measured on a page of its own so the counters checked above are untouched.
    """
    import uuid

    from django.db import transaction
    from django.db.models import F

    from lavka.celery import app
    from lavka.content import counting
    from lavka.content.models import Block

    page_id, block_ids = seed_probe_page()
    counting._last_nudge = float("inf")  # no flush requests from this process
    timings: dict[str, float] = {}

    started = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for _ in range(views):
            app.send_task(
                "content.count_view_probe",
                args=[page_id, block_ids, uuid.uuid4().hex],
                queue="bench_content_probe",
                producer=producer,
            )
    timings["request: (a) a task per view"] = (time.perf_counter() - started) / views * 1e6

    started = time.perf_counter()
    for _ in range(views):
        counting.record_page_view(page_id=page_id, block_ids=block_ids)
    timings["request: (b) buffered view"] = (time.perf_counter() - started) / views * 1e6

    started = time.perf_counter()
    for _ in range(views):
        with transaction.atomic():
            Block.objects.filter(pk__in=block_ids).update(views=F("views") + 1)
    timings["apply: (a) a transaction per view"] = (time.perf_counter() - started) / views * 1e6

    started = time.perf_counter()
    applied = counting.flush_pending_views()
    timings["apply: (b) batched flush"] = (time.perf_counter() - started) / views * 1e6
    assert applied == views * len(block_ids), applied
    return timings


def seed_probe_page() -> tuple[int, list[int]]:
    from lavka.content import services
    from lavka.content.models import TextBlock

    page = services.create_page(title="Probe page", is_published=True)
    block_ids = []
    for number in range(10):
        block = services.save_block(block=TextBlock(title=f"Probe {number}", body="x"))
        services.add_block(page=page, block=block)
        block_ids.append(block.pk)
    return page.pk, block_ids


# --- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--python-load", action="store_true", help="do not use wrk")
    parser.add_argument(
        "--mechanism-views", type=int, default=2000, help="views per counting-mechanism probe"
    )
    args = parser.parse_args()

    load, use_wrk = choose_load(args.python_load)
    tmp = Path(tempfile.mkdtemp(prefix="lavka-bench-content-"))
    env, made_database = production_environment(
        tmp, database_suffix="_bench_content", allowed_hosts="127.0.0.1,localhost"
    )
    worker = gunicorn = None
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        page_id, block_ids = seed(args.blocks, args.pages)
        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(
            f"database {database}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
            f"broker {settings.CELERY_BROKER_URL.split('://', 1)[0]}, "
            f"load {'wrk' if use_wrk else 'python'} -t{args.threads} -c{args.connections} "
            f"{args.duration:g}s each",
            flush=True,
        )

        worker = start_worker(
            env,
            tmp / "worker.log",
            hostname=f"bench-content-{time.time_ns()}@localhost",
            queues="default",
        )
        port = free_port()
        gunicorn = start_gunicorn(
            env,
            port,
            tmp,
            "bench.content_api_wsgi:application",
            f"--access-logfile={tmp / 'access.log'}",
            "--access-logformat=%(U)s %(s)s",
        )
        wait_for_http(port, "/bench/baseline/")
        root = f"http://127.0.0.1:{port}"
        detail_path = f"/api/v1/pages/{page_id}/"
        targets = {
            "baseline": "/bench/baseline/",
            "detail": detail_path,
            "list": "/api/v1/pages/?page=1",
        }
        results = measure_in_rounds(load, root, targets, args)
        stop(gunicorn)  # waits for the requests in flight, so the access log is complete

        expected = served(tmp / "access.log", detail_path)
        started = time.monotonic()
        counted = drain(block_ids, timeout=180)
        drain_seconds = time.monotonic() - started
        stop(worker)
        mechanisms: dict[str, float] = {}
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            mechanisms = compare_mechanisms(args.mechanism_views)
    finally:
        for process in (gunicorn, worker):
            if process is not None:
                stop(process)
        from django.db import connections

        connections.close_all()
        drop_database(made_database)
        shutil.rmtree(tmp, ignore_errors=True)

    base = results["baseline"]
    print()
    print(f"{'endpoint':<10}{'req/s':>9}{'p99 ms':>9}{'x baseline':>12}{'responses':>11}")
    for name, row in results.items():
        ratio = row.requests_per_second / base.requests_per_second
        print(
            f"{name:<10}{row.requests_per_second:>9.0f}{row.p99_ms:>9.1f}{ratio:>12.2f}"
            f"{row.completed:>11}"
        )
    lost = sum(max(0, expected - counted.get(block_id, 0)) for block_id in block_ids)
    extra = sum(max(0, counted.get(block_id, 0) - expected) for block_id in block_ids)
    print(
        f"views: {expected} detail responses (200/304 in the access log) x {len(block_ids)} "
        f"blocks = {expected * len(block_ids)} increments expected; "
        f"lost {lost}, extra {extra}; drained {drain_seconds:.1f} s after the load"
    )
    if mechanisms:
        print("counting mechanisms, microseconds per view (this process, no load):")
        for name, value in mechanisms.items():
            print(f"  {name:<38}{value:>9.1f}")
    else:
        print("counting mechanisms: compared on the filesystem broker only (skipped)")
    detail_ratio = results["detail"].requests_per_second / base.requests_per_second
    print(f"target detail >= 0.5 x baseline: {'met' if detail_ratio >= 0.5 else 'NOT met'}")
    print(f"target 0 lost: {'met' if lost == 0 and extra == 0 else 'NOT met'}")


if __name__ == "__main__":
    main()
