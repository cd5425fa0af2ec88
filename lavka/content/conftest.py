"""Fixtures of the content app's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """An empty MEDIA_ROOT of the test's own, so files on disk can be counted."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())
