"""Demo accounts for `make run`: one per role, with a public password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.sites.models import Site

from lavka.accounts import services as account_services
from lavka.accounts.models import User
from lavka.core.roles import Role

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


def load_demo_accounts(context: dict[str, Any]) -> list[str]:
    """Idempotent: a second run finds every row and creates nothing. Later apps find the
    users in `context["users"]` by email."""
    host = settings.SITE_URL.split("://", 1)[-1]
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": host, "name": "Lavka"})
    users = context.setdefault("users", {})
    lines = [f"Lavka is at {settings.SITE_URL}/  (demo password: {DEMO_PASSWORD})"]
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
        users[account.email] = user
        roles = "superuser" if account.superuser else ", ".join(r.value for r in account.roles)
        lines.append(f"  {account.email:<28} {roles}")
    return lines
