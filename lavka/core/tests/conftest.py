"""Fixtures of the kernel's own tests."""

from __future__ import annotations

from typing import Any

import pytest

from lavka.core.background import BackgroundTask


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """(task name, args) of every kernel task published, instead of reaching the broker."""
    sent: list[tuple[str, tuple[Any, ...]]] = []

    def record(task: Any, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        sent.append((task.name, tuple(args or ())))

    monkeypatch.setattr(BackgroundTask, "apply_async", record)
    return sent
