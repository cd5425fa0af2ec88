"""Demo data for `make run`: each app's own, in the order the apps declare."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from lavka.core.registry import declarations


@transaction.atomic
def load_demo_data() -> list[str]:
    """Run every app's demo loader; returns the lines to show the user. Idempotent."""
    context: dict[str, Any] = {}
    lines: list[str] = []
    for loader in declarations().demo_loaders:
        lines.extend(loader(context) or [])
    return lines
