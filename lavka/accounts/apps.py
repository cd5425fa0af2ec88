from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "lavka.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from lavka.accounts.roles import sync_role_groups

        # Permissions exist only after post_migrate, so role groups are synced then.
        post_migrate.connect(sync_role_groups, sender=self, weak=False)
