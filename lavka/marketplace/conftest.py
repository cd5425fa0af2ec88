"""Fixtures of the marketplace's tests: uploads land in the test's own folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def marketplace_files(settings: Any, tmp_path: Path) -> dict[str, Path]:
    """MEDIA_ROOT and the private root of the test's own, so files on disk can be seen."""
    media = tmp_path / "media"
    private = tmp_path / "private"
    media.mkdir()
    private.mkdir()
    settings.MEDIA_ROOT = str(media)
    settings.MARKETPLACE_PRIVATE_ROOT = private
    return {"media": media, "private": private}


@pytest.fixture
def cleared_store() -> Iterator[None]:
    """Forget the recorded "bought together" counts afterwards: a Redis store outlives
    the test database."""
    from lavka.marketplace.recommendations import stores

    yield
    stores.configured_store().clear()
