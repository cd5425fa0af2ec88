"""Roles are groups of Django permissions; apps declare what each role is granted.

Checks everywhere are `user.has_perm(...)`; a role is only the name of the group that
carries a set of permissions. `sync_role_groups` (run after every migrate) brings the
groups in line with what the installed apps declare (`LavkaApp.role_grants`).
"""

from __future__ import annotations

import enum
from typing import Any

from django.contrib.auth.models import Group, Permission

from lavka.core.registry import declarations


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    CREATOR = "creator"
    MANAGER = "manager"


def role_permissions() -> dict[Role, list[str]]:
    grants = declarations().role_grants
    return {role: sorted(set(grants.get(role.value, []))) for role in Role}


def sync_role_groups(**kwargs: Any) -> None:
    for role, codes in role_permissions().items():
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
        prefetched = getattr(user, "_prefetched_objects_cache", {}).get("groups")
        if prefetched is not None:  # a list of users read with prefetch_related("groups")
            cached = frozenset(group.name for group in prefetched)
        else:
            cached = frozenset(user.groups.values_list("name", flat=True))
        user._lavka_role_names = cached
    return cached


def has_role(user: Any, role: Role) -> bool:
    """For display (badges, defaults), not for access: access checks use permissions."""
    if getattr(user, "is_superuser", False):
        return True
    return role.value in role_names(user)


def forget_cached_roles(user: Any) -> None:
    """After a change of groups: drop what this user object remembered."""
    for name in ("_lavka_role_names", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(name, None)
