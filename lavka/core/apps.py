from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from lavka.core.registry import HealthCheck, LavkaApp, NavEntry


class CoreConfig(LavkaApp):
    name = "lavka.core"
    label = "core"
    verbose_name = _("Core")

    role_grants = {
        # not the outbox: it holds password reset links, so only superusers read it
        "manager": ["core.operate_background_work"],
    }
    navigation = [
        NavEntry(_("Home"), "home", order=0, anonymous=True),
        NavEntry(_("API"), "api_docs", order=20, anonymous=True),
        NavEntry(_("Outbox"), "outbox_list", order=80, superuser_only=True),
        NavEntry(
            _("Background work"),
            "background_work",
            "core.operate_background_work",
            order=85,
            test_id="nav-background-work",
        ),
    ]
    health_checks = [
        HealthCheck("database", "lavka.core.health.check_database"),
        HealthCheck("cache", "lavka.core.health.check_cache"),
        HealthCheck("broker", "lavka.core.health.check_broker"),
        HealthCheck("worker", "lavka.core.health.check_worker"),
    ]

    def ready(self) -> None:
        from lavka.core import checks, request_id  # noqa: F401 (checks registers on import)
        from lavka.core.roles import sync_role_groups

        request_id.install()
        # Permissions exist only after post_migrate; the last app's signal sees them all.
        post_migrate.connect(sync_role_groups, weak=False, dispatch_uid="lavka.sync_roles")
