"""Demo loaders that record the order they ran in (for the registry tests)."""

from __future__ import annotations

from typing import Any


def _loader(name: str) -> Any:
    def load(context: dict[str, Any]) -> list[str]:
        context.setdefault("ran", []).append(name)
        return [f"{name} after {', '.join(context['ran'][:-1]) or 'nothing'}"]

    return load


first = _loader("first")
second = _loader("second")
third = _loader("third")
