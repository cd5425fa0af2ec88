"""factory_boy factories for accounts, shared by every app's tests."""

from __future__ import annotations

from typing import Any

import factory
from allauth.account.models import EmailAddress

from lavka.accounts import services
from lavka.accounts.models import User
from lavka.core.roles import Role

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    # not random names: name searches in tests must not flake
    full_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def verified(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """Verified by default, as after following the link; pass verified=False to skip."""
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)

    @factory.post_generation
    def roles(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create:
            return
        for role in extracted if extracted is not None else [Role.CUSTOMER]:
            services.set_role(user=self, role=role, enabled=True)  # type: ignore[arg-type]


class CreatorFactory(UserFactory):
    """A creator (and customer), as the owner of campaigns is."""

    @factory.post_generation
    def roles(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create:
            return
        for role in extracted if extracted is not None else [Role.CREATOR, Role.CUSTOMER]:
            services.set_role(user=self, role=role, enabled=True)  # type: ignore[arg-type]
