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
