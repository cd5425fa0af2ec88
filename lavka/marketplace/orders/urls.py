"""Order pages, included by lavka/marketplace/urls.py under /shop/ (names in the
`marketplace` namespace)."""

from django.urls import path

from lavka.core.access import (
    FORBIDDEN,
    MANAGERS_ONLY,
    NOT_FOUND,
    PUBLIC,
    SIGNED_IN,
    SIGNED_IN_OWNER_SCOPED,
)
from lavka.marketplace.orders import stripe_webhook, views

urlpatterns = [
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/pay/", views.order_pay, name="order_pay"),
    path("manage/sales/", views.sales, name="sales"),
    path("manage/sales/<int:pk>/", views.sale_detail, name="sale_detail"),
    path("staff/orders/", views.staff_orders, name="staff_orders"),
    path("staff/orders/<int:pk>/", views.staff_order_detail, name="staff_order_detail"),
    path(
        "staff/orders/<int:pk>/mark-paid/",
        views.staff_order_mark_paid,
        name="staff_order_mark_paid",
    ),
    path("staff/orders/<int:pk>/cancel/", views.staff_order_cancel, name="staff_order_cancel"),
    path("staff/orders/<int:pk>/refund/", views.staff_order_refund, name="staff_order_refund"),
    path("staff/orders/<int:pk>/archive/", views.staff_order_archive, name="staff_order_archive"),
    path("stripe/webhook/", stripe_webhook.stripe_webhook, name="stripe_webhook"),
]

# A creator's sales: creators only, and only orders holding their products (another
# creator's sale is a 404, for superusers too: staff read orders on the staff pages).
CREATORS_ONLY = SIGNED_IN.but(customer=FORBIDDEN, manager=FORBIDDEN)
OWN_SALE = CREATORS_ONLY.but(superuser=NOT_FOUND, other_owner=NOT_FOUND).of("marketplace.sale")
# Seed 003: order details and changes are for staff (`view_order`, `change_order`:
# managers); archiving needs `delete_order`, which no role is granted (superusers).
STAFF_ORDER = MANAGERS_ONLY.of("marketplace.any_order")

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "checkout": SIGNED_IN,
    "order_list": SIGNED_IN,
    "order_detail": SIGNED_IN_OWNER_SCOPED.of("marketplace.order"),
    "order_pay": SIGNED_IN_OWNER_SCOPED.of("marketplace.order").post_only(),
    "sales": CREATORS_ONLY,
    "sale_detail": OWN_SALE,
    "staff_orders": MANAGERS_ONLY,
    "staff_order_detail": STAFF_ORDER,
    "staff_order_mark_paid": STAFF_ORDER.post_only(),
    "staff_order_cancel": STAFF_ORDER.post_only(),
    # `refund_order`: managers, like the other changes
    "staff_order_refund": STAFF_ORDER.post_only(),
    "staff_order_archive": STAFF_ORDER.but(manager=FORBIDDEN).post_only(),
    # Stripe calls it; the signature, not a login, is what lets a request in (400 else)
    "stripe_webhook": PUBLIC.post_only(),
}
