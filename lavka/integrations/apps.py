from django.utils.translation import gettext_lazy as _

from lavka.core.registry import LavkaApp, NavEntry

# Creators connect their own systems, map their trade points and run their schedules
# (the object rule, "their own", is in actions.py).
CREATOR_PERMISSIONS = [
    "integrations.view_connection",
    "integrations.add_connection",
    "integrations.change_connection",
    "integrations.delete_connection",
    "integrations.view_referenceitem",
    "integrations.view_tradepointmapping",
    "integrations.add_tradepointmapping",
    "integrations.change_tradepointmapping",
    "integrations.delete_tradepointmapping",
    "integrations.view_syncschedule",
    "integrations.change_syncschedule",
    "integrations.view_syncrun",
    "integrations.view_shiftsync",
    "integrations.change_shiftsync",
]
# Managers see every owner's connections (tokens masked), mappings and runs; they
# change nothing.
MANAGER_PERMISSIONS = [
    "integrations.view_connection",
    "integrations.view_referenceitem",
    "integrations.view_tradepointmapping",
    "integrations.view_syncschedule",
    "integrations.view_syncrun",
    "integrations.view_shiftsync",
]


class IntegrationsConfig(LavkaApp):
    name = "lavka.integrations"
    label = "integrations"
    verbose_name = _("Bookkeeping")

    role_grants = {
        "creator": CREATOR_PERMISSIONS,
        "manager": MANAGER_PERMISSIONS,
    }
    navigation = [
        NavEntry(
            _("Bookkeeping"),
            "integrations:overview",
            "integrations.view_connection",
            order=48,
            test_id="nav-bookkeeping",
        ),
    ]
    demo_data = "lavka.integrations.demo.load_demo_bookkeeping"
    demo_order = 130
