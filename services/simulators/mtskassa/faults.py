"""Fault rules: each applies to the next `count` matching API calls, or to a `fraction`
of them drawn from a seeded random generator (both: a fraction, at most `count` times)."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("rate_limit", "server_error", "timeout", "truncated", "partial", "repeat_page", "mixed")
MIXED = ("rate_limit", "server_error", "timeout")


@dataclass
class Rule:
    kind: str
    count: int | None = None
    fraction: float | None = None
    path: str = ""  # a substring of the request path; empty matches every API call
    method: str = ""  # GET or POST; empty matches both
    retry_after: int = 1  # seconds, sent with 429
    delay_seconds: float = 25.0  # how long a timeout holds the call before dropping it
    fired: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def rule_from_json(spec: object) -> Rule:
    if not isinstance(spec, dict):
        raise ValueError("send a JSON object")
    unknown = set(spec) - {
        "kind",
        "count",
        "fraction",
        "path",
        "method",
        "retry_after",
        "delay_seconds",
    }
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind is one of {', '.join(KINDS)}")
    count, fraction = spec.get("count"), spec.get("fraction")
    if count is None and fraction is None:
        raise ValueError("give count, fraction or both")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise ValueError("count is a whole number of at least 1")
    if fraction is not None and (
        not isinstance(fraction, (int, float))
        or isinstance(fraction, bool)
        or not 0 < fraction <= 1
    ):
        raise ValueError("fraction is above 0 and at most 1")
    path, method = spec.get("path", ""), spec.get("method", "")
    if not isinstance(path, str) or method not in ("", "GET", "POST"):
        raise ValueError("path is a string; method is GET, POST or empty")
    retry_after = spec.get("retry_after", 1)
    if not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 0:
        raise ValueError("retry_after is a whole number of seconds")
    delay = spec.get("delay_seconds", 25.0)
    if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay <= 300:
        raise ValueError("delay_seconds is between 0 and 300")
    return Rule(
        str(kind),
        count,
        None if fraction is None else float(fraction),
        path,
        str(method),
        retry_after,
        float(delay),
    )


class Faults:
    def __init__(self, seed: int = 0) -> None:
        self.lock = threading.Lock()
        self.seed = seed
        self.rules: list[Rule] = []
        self.random = random.Random(seed)

    def add(self, rule: Rule) -> None:
        with self.lock:
            self.rules.append(rule)

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()
            self.random = random.Random(self.seed)

    def to_json(self) -> list[dict[str, Any]]:
        with self.lock:
            return [rule.to_json() for rule in self.rules]

    def pick(self, method: str, path: str, *, repeatable: bool) -> tuple[str, Rule] | None:
        """The fault this call gets, if any. `repeat_page` only fires on a listing call
        past its first page (`repeatable`)."""
        with self.lock:
            for rule in self.rules:
                if rule.method and rule.method != method:
                    continue
                if rule.path not in path or (rule.kind == "repeat_page" and not repeatable):
                    continue
                if rule.fraction is not None and self.random.random() >= rule.fraction:
                    continue
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count == 0:
                        self.rules.remove(rule)
                kind = self.random.choice(MIXED) if rule.kind == "mixed" else rule.kind
                return kind, rule
        return None
