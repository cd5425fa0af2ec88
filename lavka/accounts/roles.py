"""Roles are groups with permissions; this module is the one place that defines them.

Later capabilities add their permissions here, and `sync_role_groups` (run after every
migrate) brings the groups in the database in line.
"""

from __future__ import annotations

import enum
from typing import Any

from django.contrib.auth.models import Group, Permission


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    CREATOR = "creator"
    MANAGER = "manager"


ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.CUSTOMER: [],
    Role.CREATOR: [],
    Role.MANAGER: [
        "accounts.view_user",
        "accounts.block_user",
        "core.view_outboxmessage",
    ],
}


def sync_role_groups(**kwargs: Any) -> None:
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)


def role_names(user: Any) -> frozenset[str]:
    """The user's role names, read once per user object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_lavka_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._lavka_role_names = cached
    return cached


def has_role(user: Any, role: Role) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return role.value in role_names(user)
