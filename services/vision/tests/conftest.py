"""Fixtures of the vision service's tests: the app with its real models (loaded once per
run), and media made here: rendered plates, encoded videos, hostile files."""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.vision import samples
from services.vision.samples import car_scene, plate_font, render_plate  # noqa: F401

os.environ.setdefault("VISION_CONCURRENCY", "1")


@pytest.fixture(scope="session")
def client() -> Iterator[object]:
    from fastapi.testclient import TestClient

    from services.vision.app import app

    with TestClient(app) as test_client:
        yield test_client


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(rgb: np.ndarray, quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def encode_video(frames, fps):
    return samples.encode_video(list(frames), fps)


def grey_frames(count: int, size: int = 64) -> Iterator[np.ndarray]:
    for index in range(count):
        yield np.full((size, size, 3), (index * 7) % 255, dtype=np.uint8)


@pytest.fixture(scope="session")
def two_hour_video() -> bytes:
    """A real 2-hour MP4, cheap: 16 x 16 pixels, 5 frames/s, all but identical frames."""
    return encode_video(grey_frames(2 * 3600 * 5, size=16), 5)


# ---------------------------------------------------------------------------- hostile images


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height black pixels: a few hundred KB that would
    inflate to width*height pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def bomb_png() -> bytes:
    return huge_png(30_000, 30_000)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service run as `make vision` runs it: uvicorn in a process of its own."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("uvicorn") / "uvicorn.log"
    root = Path(__file__).resolve().parents[3]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "services.vision.app:app", "--port", str(port)],
            cwd=root,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "VISION_CONCURRENCY": "1"},
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn stopped: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not get ready: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
