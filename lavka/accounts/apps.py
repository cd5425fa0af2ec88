from django.utils.translation import gettext_lazy as _

from lavka.core.registry import LavkaApp, NavEntry


class AccountsConfig(LavkaApp):
    name = "lavka.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    # The API is for creators (and managers); customers create no tokens.
    role_grants = {
        "creator": ["accounts.add_apitoken"],
        "manager": [
            "accounts.view_user",
            "accounts.block_user",
            "accounts.grant_creator_role",
            "accounts.add_apitoken",
        ],
    }
    navigation = [NavEntry(_("Users"), "accounts:user_list", "accounts.view_user", order=70)]
    demo_data = "lavka.accounts.demo.load_demo_accounts"
    demo_order = 0
