"""What each app declares about itself, and core's one way of finding it.

An app's AppConfig subclasses `LavkaApp` and fills in its role grants, navigation
entries, demo data and health checks. Core reads them from the installed apps, so a new
app plugs in without editing core or any other app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import AppConfig, apps
from django.utils.module_loading import import_string
from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class NavEntry:
    """A link in the top menu, shown to users who hold `permission` (or everyone signed
    in when it is empty; only superusers when `superuser_only`); `order` sorts entries
    across apps."""

    label: StrOrPromise
    url_name: str
    permission: str = ""
    order: int = 100
    test_id: str = ""
    anonymous: bool = False
    superuser_only: bool = False


@dataclass(frozen=True)
class HealthCheck:
    name: str
    check: str  # dotted path to a callable returning core.health.CheckResult


class LavkaApp(AppConfig):
    """Base AppConfig of every Lavka app: declarations only, no behaviour."""

    # Not itself an app's config; each subclass is its module's default (Django picks
    # the one AppConfig subclass marked default when apps.py imports this base too).
    default = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.default = bool(cls.__dict__.get("default", True))

    # role name -> "app_label.codename" permissions the role is granted
    role_grants: dict[str, list[str]] = {}
    navigation: list[NavEntry] = []
    # dotted path to a callable(accounts: dict[str, user]) creating demo data idempotently
    demo_data: str = ""
    # lower runs first: demo data of an app may use another's (accounts first)
    demo_order: int = 100
    health_checks: list[HealthCheck] = []


@dataclass
class Declarations:
    role_grants: dict[str, list[str]] = field(default_factory=dict)
    navigation: list[NavEntry] = field(default_factory=list)
    # dotted paths of the demo loaders, in the order they run
    demo_data: list[str] = field(default_factory=list)
    health_checks: list[HealthCheck] = field(default_factory=list)

    @property
    def demo_loaders(self) -> list[Callable[..., Any]]:
        """Imported only when asked: the menu reads declarations on every request."""
        return [import_string(path) for path in self.demo_data]


def lavka_apps() -> Iterator[LavkaApp]:
    for config in apps.get_app_configs():
        if isinstance(config, LavkaApp):
            yield config


def navigation_entries() -> list[NavEntry]:
    """Every app's menu entries in menu order: the part of `declarations()` read on every
    page, without merging the rest (read afresh too)."""
    entries = [entry for config in lavka_apps() for entry in config.navigation]
    entries.sort(key=lambda entry: entry.order)
    return entries


def declarations() -> Declarations:
    """Everything the installed apps declare, merged (read afresh: cheap, no imports)."""
    found = Declarations()
    for config in lavka_apps():
        for role, permissions in config.role_grants.items():
            found.role_grants.setdefault(role, []).extend(permissions)
        found.health_checks.extend(config.health_checks)
    found.navigation = navigation_entries()
    found.demo_data = [
        config.demo_data
        for config in sorted(lavka_apps(), key=lambda config: config.demo_order)
        if config.demo_data
    ]
    return found
