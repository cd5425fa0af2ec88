"""Navigation that fits the visitor's role, for the base template."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from lavka.accounts.roles import Role, has_role


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_is_manager": False, "nav_is_creator": False, "nav_can_read_outbox": False}
    return {
        "nav_can_read_outbox": user.has_perm("core.view_outboxmessage"),
        "nav_is_manager": has_role(user, Role.MANAGER),
        "nav_is_creator": has_role(user, Role.CREATOR),
    }
