from django.utils.translation import gettext_lazy as _

from lavka.core.registry import LavkaApp, NavEntry

# Seed 003's matrix: creators add products and change only their own (an object rule in
# actions.py); nobody but superusers (who hold every permission) deletes products or
# creators or manages categories, so no role is granted those.
CREATOR_PERMISSIONS = [
    "marketplace.view_product",
    "marketplace.add_product",
    "marketplace.change_product",
    "marketplace.view_productimage",
    "marketplace.add_productimage",
    "marketplace.change_productimage",
    "marketplace.delete_productimage",
]
# Seed 003's orders: staff see details and change orders (mark paid, cancel); archiving
# needs `delete_order`, granted to no role (superusers, or a group an admin makes).
MANAGER_PERMISSIONS = [
    "marketplace.view_creatorprofile",
    "marketplace.review_creatorprofile",
    "marketplace.view_order",
    "marketplace.change_order",
    # Refunds give money back, so they are a permission of their own (managers hold it).
    "marketplace.refund_order",
    "marketplace.view_orderpaymentdetails",
    # Donations likewise: details and changes for staff, archive with `delete_donation`.
    "marketplace.view_donation",
    "marketplace.change_donation",
]


class MarketplaceConfig(LavkaApp):
    name = "lavka.marketplace"
    label = "marketplace"
    verbose_name = _("Shop")

    role_grants = {
        "creator": CREATOR_PERMISSIONS,
        "manager": MANAGER_PERMISSIONS,
    }
    navigation = [
        NavEntry(_("Shop"), "marketplace:shop", order=15, test_id="nav-shop", anonymous=True),
        NavEntry(
            _("My products"),
            "marketplace:my_products",
            "marketplace.add_product",
            order=45,
            test_id="nav-my-products",
        ),
        NavEntry(_("My orders"), "marketplace:order_list", order=16, test_id="nav-my-orders"),
        NavEntry(
            _("Sales"),
            "marketplace:sales",
            "marketplace.add_product",
            order=46,
            test_id="nav-sales",
        ),
        NavEntry(
            _("My donations"), "marketplace:donation_list", order=17, test_id="nav-my-donations"
        ),
        NavEntry(
            _("Donations received"),
            "marketplace:donations_received",
            "marketplace.add_product",
            order=47,
            test_id="nav-donations-received",
        ),
        NavEntry(
            _("Orders"),
            "marketplace:staff_orders",
            "marketplace.view_order",
            order=74,
            test_id="nav-staff-orders",
        ),
        NavEntry(
            _("Donations"),
            "marketplace:staff_donations",
            "marketplace.view_donation",
            order=76,
            test_id="nav-staff-donations",
        ),
        NavEntry(
            _("Creator requests"),
            "marketplace:creator_requests",
            "marketplace.review_creatorprofile",
            order=75,
            test_id="nav-creator-requests",
        ),
    ]
    demo_data = "lavka.marketplace.demo.load_demo_marketplace"
    demo_order = 120

    def ready(self) -> None:
        # At login the session's cart joins the user's; the receiver only calls the cart
        # module (accounts knows nothing of the shop).
        from django.contrib.auth.signals import user_logged_in

        from lavka.marketplace import cart, checks  # noqa: F401 (checks registers on import)
        from lavka.marketplace.exports import producers
        from lavka.marketplace.reports import producers as report_producers

        producers.register_all()
        report_producers.register_all()

        user_logged_in.connect(cart.on_login, dispatch_uid="marketplace.cart.merge_at_login")
