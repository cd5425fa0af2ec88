"""The sending pipeline's knobs, read from settings at each use (tests change them)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def connections_per_chunk() -> int:
    return _setting("CAMPAIGNS_CONNECTIONS_PER_CHUNK", 4)


def batch_size() -> int:
    return _setting("CAMPAIGNS_BATCH_SIZE", 50)


def claim_lease() -> timedelta:
    return timedelta(seconds=_setting("CAMPAIGNS_CLAIM_SECONDS", 60))


def missed_grace() -> timedelta:
    return timedelta(seconds=_setting("CAMPAIGNS_MISSED_GRACE_SECONDS", 3600))


def rate_slack() -> timedelta:
    """How long after reserving a rate slot a message may still go out on it."""
    return timedelta(seconds=_setting("CAMPAIGNS_RATE_SLACK_SECONDS", 5))
