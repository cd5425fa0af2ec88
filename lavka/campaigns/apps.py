from django.utils.translation import gettext_lazy as _

from lavka.core.registry import LavkaApp, NavEntry

# Creators run campaigns and hold these (managers too, for their own); managers also
# moderate others' mailings. Customers hold none: sending bulk email is for creators, whom
# a manager grants the role (accounts.grant_creator_role).
CAMPAIGN_PERMISSIONS = [
    "campaigns.view_recipient",
    "campaigns.add_recipient",
    "campaigns.change_recipient",
    "campaigns.delete_recipient",
    "campaigns.view_recipientlist",
    "campaigns.add_recipientlist",
    "campaigns.change_recipientlist",
    "campaigns.delete_recipientlist",
    "campaigns.view_message",
    "campaigns.add_message",
    "campaigns.change_message",
    "campaigns.delete_message",
    "campaigns.view_mailing",
    "campaigns.add_mailing",
    "campaigns.change_mailing",
    "campaigns.delete_mailing",
]


class CampaignsConfig(LavkaApp):
    name = "lavka.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    role_grants = {
        "creator": CAMPAIGN_PERMISSIONS,
        "manager": [*CAMPAIGN_PERMISSIONS, "campaigns.moderate_mailing"],
    }
    navigation = [
        NavEntry(
            _("Campaigns"),
            "campaigns:dashboard",
            "campaigns.view_mailing",
            order=40,
            test_id="nav-campaigns",
        )
    ]
    demo_data = "lavka.campaigns.demo.load_demo_campaigns"
