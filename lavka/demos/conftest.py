"""Fixtures of the demos tests: the real reference vision service (its own venv, a
uvicorn process on a free port), its sample inputs, and demos attached to products."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

VISION_VENV = Path(settings.BASE_DIR) / "services" / "vision" / ".venv" / "bin"


def _need_vision() -> None:
    if not (VISION_VENV / "uvicorn").exists():
        pytest.skip("the vision service's environment is missing: run `make vision-env`")


class VisionService:
    def __init__(self, log_dir: Path) -> None:
        from lavka.core.tests.support import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"vision-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(VISION_VENV / "uvicorn"),
                    "services.vision.app:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vision service exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("vision service did not become healthy in 120 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def vision_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VisionService]:
    """The reference vision service, started once per session."""
    _need_vision()
    service = VisionService(tmp_path_factory.mktemp("vision"))
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def vision_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples `services.vision.samples` makes (faces.png, plate.png, *.mp4)."""
    _need_vision()
    folder = tmp_path_factory.mktemp("vision-samples")
    subprocess.run(
        [str(VISION_VENV / "python"), "-m", "services.vision.samples", str(folder)],
        cwd=settings.BASE_DIR,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


@pytest.fixture
def make_demo() -> Callable[..., Any]:
    """A demo on a new product of `owner` (a new creator by default), its service up."""
    from lavka.accounts.tests.factories import CreatorFactory
    from lavka.core.tests.access_matrix import _creator_profile_of
    from lavka.demos.models import Demo, HealthStatus
    from lavka.marketplace.tests.factories import ProductFactory

    def make(
        *,
        owner: Any = None,
        kind: str = "faces",
        url: str = "http://127.0.0.1:9",
        health: str = HealthStatus.UP,
        max_bytes: int = 10 * 1024 * 1024,
        max_pixels: int = 25_000_000,
    ) -> Demo:
        owner = owner or CreatorFactory()
        product = ProductFactory(creator=_creator_profile_of(owner))
        return Demo.objects.create(
            product=product,
            kind=kind,
            service_url=url,
            health_status=health,
            max_bytes=max_bytes,
            max_pixels=max_pixels,
        )

    return make
