"""The top menu for the base template: every app's entries the visitor may use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from lavka.core.registry import NavEntry, navigation_entries


def _visible(entry: NavEntry, user: Any) -> bool:
    if entry.anonymous:
        return True
    if user is None or not user.is_authenticated:
        return False
    if entry.superuser_only:
        return bool(user.is_superuser)
    return not entry.permission or bool(user.has_perm(entry.permission))


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"nav_entries": [e for e in navigation_entries() if _visible(e, user)]}
