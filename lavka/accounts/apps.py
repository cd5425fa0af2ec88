from django.utils.translation import gettext_lazy as _

from lavka.core.registry import LavkaApp, NavEntry


class AccountsConfig(LavkaApp):
    name = "lavka.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    role_grants = {"manager": ["accounts.view_user", "accounts.block_user"]}
    navigation = [NavEntry(_("Users"), "accounts:user_list", "accounts.view_user", order=70)]
    demo_data = "lavka.accounts.demo.load_demo_accounts"
    demo_order = 0

    def ready(self) -> None:
        # Services start tasks by name (`background.start`); the name must be registered
        # in every process that starts them, not only in workers that autodiscover.
        from lavka.accounts import tasks  # noqa: F401
