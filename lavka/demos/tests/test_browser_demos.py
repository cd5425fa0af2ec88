"""The demos in Debian's Chromium with a real worker and the real vision service: a
visitor opens each product's demo, downloads its sample, uploads it, watches progress
and sees the annotated result and the JSON; with the service stopped, Try is disabled
with a message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files import File

from lavka.core.tests.support import free_port
from lavka.demos import services
from lavka.demos.models import HealthStatus

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow]
RUN_TIMEOUT_MS = 90_000


def demo_with_sample(make_demo: Any, kind: str, url: str, sample: Path) -> Any:
    demo = make_demo(kind=kind, url=url, max_bytes=50 * 1024 * 1024, health=HealthStatus.UNKNOWN)
    assert services.check_health(demo=demo) == "up"
    demo.refresh_from_db()
    with sample.open("rb") as file:
        services.add_sample(
            demo=demo, upload=File(file, name=sample.name), title=sample.name, source_note="test"
        )
    return demo


@pytest.mark.parametrize(
    ("kind", "sample", "expect"),
    [
        ("faces", "faces.png", '"sex"'),
        ("plates", "plate.png", '"text"'),
        ("exercise", "squats.mp4", '"repetitions"'),
    ],
)
def test_a_visitor_tries_a_demo_with_its_sample_and_sees_the_annotated_result(
    browser_page: Any,
    vision_service: Any,
    vision_samples: Path,
    celery_worker_process: Any,
    make_demo: Any,
    tmp_path: Path,
    kind: str,
    sample: str,
    expect: str,
) -> None:
    demo = demo_with_sample(make_demo, kind, vision_service.url, vision_samples / sample)
    page = browser_page
    page.goto(f"/demos/{demo.pk}/")
    assert page.locator("[data-testid=demo-health]").get_attribute("data-health") == "up"
    with page.expect_download() as download_info:
        page.click("[data-testid=sample-download]")
    downloaded = tmp_path / sample
    download_info.value.save_as(downloaded)
    assert downloaded.read_bytes() == (vision_samples / sample).read_bytes()

    page.set_input_files("input[name=file]", str(downloaded))
    page.click("[data-testid=try-submit]")
    page.wait_for_url("**/demos/runs/*/")
    page.wait_for_selector("[data-testid=run-progress][data-finished=true]", timeout=RUN_TIMEOUT_MS)
    assert page.locator("[data-testid=result-image]").is_visible()
    assert expect in page.locator("[data-testid=result-json]").inner_text()


def test_with_the_service_stopped_try_is_disabled_with_a_message(
    browser_page: Any, make_demo: Any
) -> None:
    demo = make_demo(url=f"http://127.0.0.1:{free_port()}", health=HealthStatus.UP)
    assert services.check_health(demo=demo) == "down"
    page = browser_page
    page.goto(f"/demos/{demo.pk}/")
    assert page.locator("[data-testid=try-submit]").is_disabled()
    message = page.locator("[data-testid=try-unavailable]").inner_text()
    assert "The service is down right now" in message
    assert "cannot be reached" in message
