#!/usr/bin/env python
"""Lavka's end-to-end latency of a demo run, upload to result page, under N concurrent
visitors, beside the latency of the same call made straight to the service (the
baseline, measured in the same run). Run with Lavka's environment and a vision service:

    .venv/bin/python bench/demos_latency.py --vision-url http://127.0.0.1:12120

(bench/vision.py runs it for you after its throughput, with `--lavka`). It starts its own
gunicorn and Celery worker (queue `demos`) on a fresh embedded database in a temporary
LAVKA_VAR_DIR, and one faces demo on a product; each visitor loads the demo page, posts
NASA's astronaut portrait, follows the progress endpoint and loads the result page.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench._support import free_port  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def visit(base: str, demo_id: int, image: bytes, timings: list[float], errors: list[str]) -> None:
    session = requests.Session()
    page = session.get(f"{base}/demos/{demo_id}/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not token:
        errors.append("no form on the demo page")
        return
    started = time.monotonic()
    posted = session.post(
        f"{base}/demos/{demo_id}/try/",
        data={"csrfmiddlewaretoken": token.group(1)},
        files={"file": ("faces.png", image, "image/png")},
        allow_redirects=False,
        timeout=30,
    )
    if posted.status_code != 302:
        errors.append(f"try answered {posted.status_code}")
        return
    run_url = base + posted.headers["Location"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = session.get(run_url + "progress/", timeout=30).json()
        if progress["finished"]:
            break
        time.sleep(0.1)
    result = session.get(run_url, timeout=30)
    if 'data-testid="result-image"' not in result.text:
        errors.append(f"no result: {progress.get('message')}")
        return
    timings.append(time.monotonic() - started)


def direct(url: str, image: bytes, timings: list[float]) -> None:
    started = time.monotonic()
    answer = requests.post(
        f"{url}/v1/faces", files={"file": ("faces.png", image, "image/png")}, timeout=120
    )
    answer.raise_for_status()
    timings.append(time.monotonic() - started)


def in_parallel(target: object, visitors: int, rounds: int, *args: object) -> float:
    started = time.monotonic()
    for _ in range(rounds):
        threads = [threading.Thread(target=target, args=args) for _ in range(visitors)]  # type: ignore[arg-type]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vision-url", required=True)
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image", type=Path, help="a PNG to send (default: a faces sample)")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="lavka-bench-demos-"))
    env = dict(
        os.environ,
        LAVKA_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="lavka.settings",
        DEMOS_ALLOW_PRIVATE_SERVICES="true",
        DEMOS_RATE_PER_ADDRESS="100000",
        DEMOS_RATE_PER_VISITOR="100000",
        DJANGO_DEBUG="false",
    )
    os.environ.update(env)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True)

    import django

    django.setup()
    from lavka.accounts.tests.factories import CreatorFactory
    from lavka.demos.models import Demo, HealthStatus
    from lavka.marketplace.models import CreatorProfile
    from lavka.marketplace.tests.factories import ProductFactory

    owner = CreatorFactory()
    profile = CreatorProfile.objects.create(user=owner, display_name="Bench", slug="bench")
    demo = Demo.objects.create(
        product=ProductFactory(creator=profile),
        kind="faces",
        service_url=args.vision_url,
        health_status=HealthStatus.UP,
        max_bytes=10 * 1024 * 1024,
        max_pixels=25_000_000,
    )
    if args.image:
        image = args.image.read_bytes()
    else:
        import io

        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (512, 512), "gray").save(out, "PNG")
        image = out.getvalue()

    port = free_port()
    logs = var_dir / "logs"
    logs.mkdir()
    processes = [
        subprocess.Popen(
            [python, "-m", "gunicorn", "lavka.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"],
            cwd=BASE_DIR, env=env, stdout=open(logs / "web.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [python, "-m", "celery", "-A", "lavka", "worker", "--queues=demos",
             "--concurrency=2", "--loglevel=WARNING"],
            cwd=BASE_DIR, env=env, stdout=open(logs / "worker.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        ),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/demos/{demo.pk}/", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        time.sleep(3)  # the worker connects to the broker
        warm: list[float] = []
        in_parallel(visit, 2, 1, base, demo.pk, image, warm, [])
        baseline: list[float] = []
        direct_seconds = in_parallel(direct, args.visitors, args.rounds, args.vision_url, image,
                                     baseline)  # fmt: skip
        timings: list[float] = []
        errors: list[str] = []
        lavka_seconds = in_parallel(
            visit, args.visitors, args.rounds, base, demo.pk, image, timings, errors
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    print(f"{args.visitors} concurrent visitors x {args.rounds} rounds, faces, {len(image)} bytes")
    print(f"  straight to the service: p50 {percentile(baseline, 0.5):.2f} s, "
          f"p95 {percentile(baseline, 0.95):.2f} s ({direct_seconds:.1f} s in all)")  # fmt: skip
    if timings:
        print(f"  Lavka, upload to result page: p50 {percentile(timings, 0.5):.2f} s, "
              f"p95 {percentile(timings, 0.95):.2f} s ({lavka_seconds:.1f} s in all, "
              f"{len(timings)} runs, {len(errors)} errors)")  # fmt: skip
        print(f"  ratio Lavka / straight, p50: "
              f"{statistics.median(timings) / statistics.median(baseline):.2f}")  # fmt: skip
    for error in sorted(set(errors)):
        print(f"  error: {error}")


if __name__ == "__main__":
    main()
