"""Runs end to end: a real worker process consumes the `demos` queue and calls the real
reference vision service (or a local misbehaving server standing in for a broken one)."""

from __future__ import annotations

import base64
import http.server
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from lavka.core.tests.support import free_port, start_worker, wait_until
from lavka.demos import services
from lavka.demos.conftest import VISION_VENV
from lavka.demos.models import DemoRun, HealthStatus

pytestmark = pytest.mark.django_db(transaction=True)


def try_file(client: Any, demo: Any, path: Path) -> DemoRun:
    with path.open("rb") as file:
        response = client.post(
            reverse("demos:try", args=[demo.pk]), {"file": ContentFile(file.read(), path.name)}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    return DemoRun.objects.order_by("-pk").first()  # type: ignore[return-value]


def finished(run: DemoRun, timeout: float = 90) -> DemoRun:
    def settled() -> bool:
        run.refresh_from_db()
        return run.state in ("done", "failed", "attention")

    wait_until(settled, timeout=timeout)
    return run


@pytest.mark.parametrize(
    ("kind", "sample"),
    [("faces", "faces.png"), ("plates", "plate.png"), ("exercise", "squats.mp4")],
)
def test_each_kind_runs_end_to_end_on_the_vision_service(
    client: Any,
    vision_service: Any,
    vision_samples: Path,
    celery_worker_process: Any,
    make_demo: Any,
    kind: str,
    sample: str,
) -> None:
    demo = make_demo(kind=kind, url=vision_service.url, max_bytes=50 * 1024 * 1024)
    run = finished(try_file(client, demo, vision_samples / sample))
    assert run.state == "done", run.last_error
    page = client.get(reverse("demos:run", args=[run.pk])).content.decode()
    assert 'data-testid="result-image"' in page
    assert "base64,iVBOR" in page or "base64,/9j/" in page
    if kind == "faces":
        (face,) = run.result["faces"]
        assert face["sex"] in ("female", "male")
        assert 10 <= face["age"] <= 80
    elif kind == "plates":
        assert run.result["plates"]
        assert 'data-testid="plate-image"' in page
    else:
        assert run.result["exercise"] == "squats"
        assert run.result["repetitions"] >= 1
    progress = client.get(reverse("demos:run_progress", args=[run.pk])).json()
    assert progress["finished"] and progress["succeeded"]


def video_of(folder: Path, frames: int) -> Path:
    """An MP4 of `frames` black frames, written by the vision environment's OpenCV."""
    path = folder / f"{frames}-frames.mp4"
    script = (
        "import cv2, numpy as np, sys\n"
        "w = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*'mp4v'), 25, (64, 64))\n"
        f"for _ in range({frames}): w.write(np.zeros((64, 64, 3), np.uint8))\n"
        "w.release()\n"
    )
    subprocess.run([str(VISION_VENV / "python"), "-c", script, str(path)], check=True)
    return path


def one_frame_video(folder: Path) -> Path:
    return video_of(folder, 1)


def test_a_zero_frame_video_gets_a_clear_message_and_no_hanging_run(
    client: Any, vision_service: Any, celery_worker_process: Any, make_demo: Any, tmp_path: Path
) -> None:
    demo = make_demo(kind="exercise", url=vision_service.url)
    path = video_of(tmp_path, 0)
    response = client.post(
        reverse("demos:try", args=[demo.pk]), {"file": ContentFile(path.read_bytes(), path.name)}
    )
    if response.status_code == 400:  # refused by Lavka already: no container, or empty
        assert "video" in response.content.decode() or "empty" in response.content.decode()
        assert not DemoRun.objects.exists()
        return
    run = finished(DemoRun.objects.get())
    assert run.state == "failed"
    assert run.last_error


def test_the_beat_task_checks_every_demo_through_the_worker(
    vision_service: Any, celery_worker_process: Any, make_demo: Any
) -> None:
    from lavka.demos.tasks import check_all_health

    up = make_demo(url=vision_service.url, health=HealthStatus.UNKNOWN)
    down = make_demo(url=f"http://127.0.0.1:{free_port()}", health=HealthStatus.UP)
    check_all_health.delay()

    def checked() -> bool:
        up.refresh_from_db()
        down.refresh_from_db()
        return bool(up.health_checked_at and down.health_checked_at)

    assert wait_until(checked, timeout=60)
    assert (up.health_status, down.health_status) == ("up", "down")


def test_the_services_refusal_is_final_and_shown_as_it_says(
    client: Any,
    vision_service: Any,
    celery_worker_process: Any,
    make_demo: Any,
    tmp_path: Path,
) -> None:
    demo = make_demo(kind="exercise", url=vision_service.url)
    run = finished(try_file(client, demo, one_frame_video(tmp_path)))
    assert run.state == "failed"
    assert run.attempts == 1
    assert "frame" in run.last_error.lower()
    page = client.get(reverse("demos:run", args=[run.pk])).content.decode()
    assert run.last_error.split(".")[0] in page


class Misbehaving(http.server.BaseHTTPRequestHandler):
    mode = "slow"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "slow":
            time.sleep(8)
        body = {
            "garbage": b"<html>surprise</html>",
            # 200 KB of JSON: more than the answer limit the test's worker runs with
            "huge": b'{"faces": [' + b"1," * 100_000 + b"1]}",
            "not_image": b'{"faces": [], "annotated_image": {"base64": "'
            + base64.b64encode(b"<script>alert(1)</script>" * 10)
            + b'", "media_type": "image/png"}}',
        }.get(self.mode, b"{}")
        self.send_response(429 if self.mode == "busy" else 200)
        if self.mode == "busy":
            self.send_header("Retry-After", "86400")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def misbehaving() -> Iterator[Any]:
    def serve(mode: str) -> str:
        handler = type("Handler", (Misbehaving,), {"mode": mode})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # no probe race
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    servers: list[Any] = []
    yield serve
    for server in servers:
        server.shutdown()


@pytest.mark.parametrize(("mode", "says"), [("slow", "did not answer in time"), ("busy", "busy")])
def test_a_slow_or_busy_service_is_retried_and_never_hangs_a_worker(
    client: Any, misbehaving: Any, make_demo: Any, tmp_path: Path, mode: str, says: str
) -> None:
    from lavka.demos.tests.test_demo_pages import png_bytes

    worker = start_worker(tmp_path, extra_env={"DEMOS_CALL_TIMEOUT_SECONDS": "1"})
    try:
        demo = make_demo(url=misbehaving(mode))
        sample = tmp_path / "a.png"
        sample.write_bytes(png_bytes())
        run = try_file(client, demo, sample)

        def retried() -> bool:
            run.refresh_from_db()
            return run.attempts >= 1

        assert wait_until(retried, timeout=60)
        assert run.state in ("pending", "claimed")
        assert says in run.last_error
        page = client.get(reverse("demos:run", args=[run.pk])).content.decode()
        assert says in page
        if mode == "busy":
            # Retry-After: 86400 is honoured up to a minute: the visitor is waiting.
            def queued_again() -> bool:
                run.refresh_from_db()
                return run.queued_at is not None

            assert wait_until(queued_again, timeout=90)
            assert run.not_before is not None and run.queued_at == run.not_before
            assert run.not_before - run.state_changed_at <= timedelta(
                seconds=services.MAX_RETRY_AFTER_SECONDS + 1
            )
    finally:
        worker.stop()


def test_a_video_demo_sends_its_own_longest_video_to_the_service(
    client: Any,
    vision_service: Any,
    celery_worker_process: Any,
    make_demo: Any,
    vision_samples: Path,
) -> None:
    demo = make_demo(kind="exercise", url=vision_service.url, max_bytes=50 * 1024 * 1024)
    demo.max_video_seconds = 1
    demo.save()
    run = finished(try_file(client, demo, vision_samples / "squats.mp4"))
    assert (run.state, run.attempts) == ("failed", 1)
    assert "at most 1 s" in run.last_error


def test_a_2xx_answer_that_is_not_json_fails_at_once_with_a_clear_message(
    client: Any, misbehaving: Any, make_demo: Any, tmp_path: Path
) -> None:
    from lavka.demos.tests.test_demo_pages import png_bytes

    worker = start_worker(tmp_path)
    try:
        demo = make_demo(url=misbehaving("garbage"))
        sample = tmp_path / "a.png"
        sample.write_bytes(png_bytes())
        run = finished(try_file(client, demo, sample), timeout=60)
        assert (run.state, run.attempts) == ("failed", 1)
        assert "not JSON" in run.last_error
    finally:
        worker.stop()


@pytest.mark.parametrize(
    ("mode", "says"),
    [("huge", "could not be read"), ("not_image", "not a readable image")],
)
def test_a_too_large_answer_or_a_fake_image_fails_at_once_and_nothing_is_kept(
    client: Any, misbehaving: Any, make_demo: Any, tmp_path: Path, mode: str, says: str
) -> None:
    from lavka.demos.tests.test_demo_pages import png_bytes

    worker = start_worker(tmp_path, extra_env={"DEMOS_MAX_ANSWER_BYTES": "100000"})
    try:
        demo = make_demo(url=misbehaving(mode))
        sample = tmp_path / "a.png"
        sample.write_bytes(png_bytes())
        run = finished(try_file(client, demo, sample), timeout=60)
        assert (run.state, run.attempts) == ("failed", 1)
        assert says in run.last_error
        assert run.result is None and not run.result_image
    finally:
        worker.stop()


def test_health_is_up_for_the_vision_service_and_down_with_a_reason_otherwise(
    vision_service: Any, make_demo: Any
) -> None:
    up = make_demo(url=vision_service.url, health=HealthStatus.UNKNOWN)
    down = make_demo(url=f"http://127.0.0.1:{free_port()}", health=HealthStatus.UNKNOWN)
    assert services.check_health(demo=up) == "up"
    assert services.check_health(demo=down) == "down"
    down.refresh_from_db()
    assert down.health_reason == "The service cannot be reached."
    assert down.health_checked_at is not None


def test_a_run_that_kills_every_worker_is_given_up_and_the_visitor_is_told(
    client: Any, make_demo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lavka.core import work
    from lavka.demos import tasks
    from lavka.demos.tests.test_demo_pages import png_bytes

    # given a visitor's run that a worker took for its last attempt and died on
    monkeypatch.setattr(tasks.run_demo, "delay", lambda *args: None)  # no broker here
    sample = tmp_path / "a.png"
    sample.write_bytes(png_bytes())
    run = try_file(client, make_demo(), sample)
    now = timezone.now()
    DemoRun.objects.filter(pk=run.pk).update(
        state=work.WorkState.CLAIMED,
        lease_owner="dead-worker",
        started_by="dead-worker",
        lease_expires_at=now - timedelta(minutes=5),
        attempts=DemoRun.max_attempts - 1,
    )

    # when its task comes again, the run is given up
    assert services.execute_run(run_id=run.pk) == ""

    # then it failed, and the visitor reads what happened rather than the operator's note
    run.refresh_from_db()
    assert run.state == work.WorkState.FAILED
    assert run.last_error == (
        "The analysis stopped before it finished, every time it was tried. Please try another file."
    )
    progress = client.get(reverse("demos:run_progress", args=[run.pk])).json()
    assert (progress["state"], progress["finished"], progress["succeeded"]) == (
        "failed",
        True,
        False,
    )
    assert progress["message"] == run.last_error
    assert (
        "every time it was tried"
        in client.get(reverse("demos:run", args=[run.pk])).content.decode()
    )
