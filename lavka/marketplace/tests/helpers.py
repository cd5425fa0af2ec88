"""Small helpers of the marketplace's tests."""

from __future__ import annotations

from typing import Any

from lavka.accounts.tests.factories import UserFactory
from lavka.core.roles import Role
from lavka.marketplace.models import CreatorProfile
from lavka.marketplace.tests.factories import CreatorProfileFactory


def approved_creator(**kwargs: Any) -> CreatorProfile:
    """A user with the creator role and an approved profile, as after "Become a creator"."""
    user = UserFactory(roles=[Role.CREATOR, Role.CUSTOMER])
    return CreatorProfileFactory(user=user, **kwargs)


def user_of_role(role: str) -> Any:
    """One user per role the access rules name (the superuser made like createsuperuser)."""
    from lavka.accounts.models import User

    if role == "superuser":
        return User.objects.create_superuser(f"root{User.objects.count()}@example.com", "x")
    roles = {
        "customer": [Role.CUSTOMER],
        "creator": [Role.CREATOR, Role.CUSTOMER],
        "manager": [Role.MANAGER],
    }[role]
    return UserFactory(roles=roles)
