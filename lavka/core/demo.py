"""Demo accounts for `make run`: created once, found again on every later run."""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.sites.models import Site
from django.db import transaction

from lavka.accounts import services as account_services
from lavka.accounts.models import User
from lavka.accounts.roles import Role

DEMO_PASSWORD = "lavka-demo-password"  # noqa: S105 (public demo accounts)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    roles: tuple[Role, ...]
    superuser: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("admin@lavka.localhost", "Ada Admin", (), superuser=True),
    DemoAccount("manager@lavka.localhost", "Max Manager", (Role.MANAGER,)),
    DemoAccount("creator@lavka.localhost", "Cleo Creator", (Role.CREATOR, Role.CUSTOMER)),
    DemoAccount("customer@lavka.localhost", "Carl Customer", (Role.CUSTOMER,)),
)


@transaction.atomic
def load_demo_data() -> list[DemoAccount]:
    """Idempotent: a second run finds every row and creates nothing."""
    host = settings.SITE_URL.split("://", 1)[-1]
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": host, "name": "Lavka"})
    for account in DEMO_ACCOUNTS:
        user = User.objects.filter(email=account.email).first()
        if user is None:
            create = (
                User.objects.create_superuser if account.superuser else User.objects.create_user
            )
            user = create(account.email, DEMO_PASSWORD, full_name=account.full_name)
        for role in account.roles:
            account_services.set_role(user=user, role=role, enabled=True)
        EmailAddress.objects.get_or_create(
            user=user, email=account.email, defaults={"verified": True, "primary": True}
        )
    return list(DEMO_ACCOUNTS)
