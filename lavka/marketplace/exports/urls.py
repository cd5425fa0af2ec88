"""Export links, included by lavka/marketplace/urls.py under /shop/ (names in the
`marketplace` namespace)."""

from django.urls import path

from lavka.core.access import FORBIDDEN, MANAGERS_ONLY, SIGNED_IN
from lavka.marketplace.exports import views

urlpatterns = [
    path("staff/orders/export/", views.staff_orders_export, name="staff_orders_export"),
    path("staff/donations/export/", views.staff_donations_export, name="staff_donations_export"),
    path("manage/sales/export/", views.sales_export, name="sales_export"),
    path(
        "manage/donations/export/",
        views.donations_received_export,
        name="donations_received_export",
    ),
]

# A creator exports their own sales and donations (no ids: nobody else's can be named);
# staff export the staff lists. A superuser holds every permission: without a creator
# profile of their own, theirs is an empty export (the header row), as on the pages.
CREATORS_ONLY = SIGNED_IN.but(customer=FORBIDDEN, manager=FORBIDDEN)

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "staff_orders_export": MANAGERS_ONLY,
    "staff_donations_export": MANAGERS_ONLY,
    "sales_export": CREATORS_ONLY,
    "donations_received_export": CREATORS_ONLY,
}
