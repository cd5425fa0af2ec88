"""The service's knobs: each is listed in .env.example, and a bad value stops startup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.vision.config import Limits

BASE_DIR = Path(__file__).resolve().parents[3]


def test_env_example_lists_every_variable_the_service_reads() -> None:
    sources = (BASE_DIR / "services" / "vision" / "config.py").read_text()
    sources += (BASE_DIR / "Makefile").read_text()
    read = set(re.findall(r"\b(VISION_[A-Z_]+)\b", sources)) - {
        "VISION_DIR", "VISION_VENV", "VISION_BIN", "VISION_STAMP", "VISION_PYTHON",
    }  # fmt: skip
    listed = set(re.findall(r"^(VISION_[A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), re.M))
    assert read
    assert read - listed == set()


@pytest.mark.parametrize("value", ["0", "-5", "ten"])
def test_a_bad_limit_stops_startup_naming_it(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("VISION_MAX_PIXELS", value)
    with pytest.raises(ValueError, match="VISION_MAX_PIXELS must be a positive number"):
        Limits.from_env()


def test_an_empty_value_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISION_MAX_VIDEO_SECONDS", "")
    assert Limits.from_env().max_video_seconds == 60.0
