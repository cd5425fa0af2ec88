from django.utils.translation import gettext_lazy as _

from lavka.core.registry import LavkaApp, NavEntry

# Creators attach demos to their own products (the object rule is in actions.py).
CREATOR_PERMISSIONS = [
    "demos.view_demo",
    "demos.add_demo",
    "demos.change_demo",
    "demos.delete_demo",
    "demos.view_demosample",
    "demos.add_demosample",
    "demos.delete_demosample",
]
# Managers read every creator's demos and change nothing.
MANAGER_PERMISSIONS = ["demos.view_demo", "demos.view_demosample"]


class DemosConfig(LavkaApp):
    name = "lavka.demos"
    label = "demos"
    verbose_name = _("Demos")

    role_grants = {"creator": CREATOR_PERMISSIONS, "manager": MANAGER_PERMISSIONS}
    navigation = [
        NavEntry(_("Demos"), "demos:my_demos", "demos.view_demo", order=49, test_id="nav-demos"),
    ]
    demo_data = "lavka.demos.demo.load_demo_demos"
    demo_order = 140
