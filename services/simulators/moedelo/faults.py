"""Fault knobs: what the simulator does wrong on purpose, for tests and the bench.

A fault applies to the next ``count`` API calls that match it, or to a ``rate`` (a
fraction, drawn from a seeded random generator so a run can be repeated) of them. Matching
is by method, path prefix and token; empty means any. The first matching fault that fires
decides the call. Kinds:

- ``rate_limit``: 429 with ``Retry-After: retry_after`` before the call runs.
- ``error``: 500 before the call runs.
- ``timeout``: the call runs, then the answer waits ``sleep_seconds`` (past the client's
  timeout): the work is done but the client does not hear it.
- ``truncate``: the call runs and its JSON answer is cut in half.
- ``repeat_page``: a list call answers the page this token was last given for that list,
  byte for byte, instead of the page asked for (a cache or replica lagging behind).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("rate_limit", "error", "timeout", "truncate", "repeat_page")
BEFORE = ("rate_limit", "error")


@dataclass
class Fault:
    kind: str
    count: int | None = None
    rate: float | None = None
    method: str = ""
    path: str = ""
    token: str = ""
    retry_after: float = 1.0
    sleep_seconds: float = 30.0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")
        if (self.count is None) == (self.rate is None):
            raise ValueError("give a fault either count (next N calls) or rate (a fraction)")
        if self.count is not None and (isinstance(self.count, bool) or self.count < 0):
            raise ValueError("count must be a non-negative integer")
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        if self.retry_after < 0 or self.sleep_seconds < 0:
            raise ValueError("retry_after and sleep_seconds must not be negative")
        self.method = self.method.upper()

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        known = {"kind", "count", "rate", "method", "path", "token", "retry_after", "sleep_seconds"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        types: dict[str, type | tuple[type, ...]] = {
            "kind": str,
            "count": int,
            "rate": (int, float),
            "method": str,
            "path": str,
            "token": str,
            "retry_after": (int, float),
            "sleep_seconds": (int, float),
        }
        for name, value in data.items():
            if value is not None and (
                not isinstance(value, types[name]) or isinstance(value, bool)
            ):
                raise ValueError(f"fault field {name} has the wrong type")
        return cls(**data)

    def matches(self, method: str, path: str, token: str) -> bool:
        return (
            (not self.method or self.method == method)
            and path.startswith(self.path)
            and (not self.token or self.token == token)
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultBook:
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.random = random.Random(self.seed)

    def add(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def clear(self, seed: int | None = None) -> None:
        with self.lock:
            self.faults.clear()
            if seed is not None:
                self.seed = seed
            self.random = random.Random(self.seed)

    def take(self, kinds: tuple[str, ...], method: str, path: str, token: str) -> Fault | None:
        """The fault of one of `kinds` that fires for this call, if any (counted)."""
        with self.lock:
            for fault in self.faults:
                if fault.kind not in kinds or not fault.matches(method, path, token):
                    continue
                if fault.count is not None:
                    if fault.count <= 0:
                        continue
                    fault.count -= 1
                elif self.random.random() >= (fault.rate or 0.0):
                    continue
                fault.fired += 1
                return fault
        return None

    def to_json(self) -> list[dict[str, Any]]:
        with self.lock:
            return [fault.to_json() for fault in self.faults]
