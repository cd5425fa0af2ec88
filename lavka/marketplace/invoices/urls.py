"""Invoice downloads, included by lavka/marketplace/urls.py under /shop/."""

from django.urls import path

from lavka.core.access import MANAGERS_ONLY, SIGNED_IN_OWNER_SCOPED
from lavka.marketplace.invoices import views

urlpatterns = [
    path("orders/<int:pk>/invoice.pdf", views.order_invoice, name="order_invoice"),
    path(
        "staff/orders/<int:pk>/invoice.pdf",
        views.staff_order_invoice,
        name="staff_order_invoice",
    ),
]

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    # the customer's own paid order; another's, or one not paid, is a 404 (the creator
    # who sold in it sees their own lines on the sale page, not the buyer's invoice)
    "order_invoice": SIGNED_IN_OWNER_SCOPED.of("marketplace.paid_order"),
    # staff, as the staff order page (`view_order`)
    "staff_order_invoice": MANAGERS_ONLY.of("marketplace.any_paid_order"),
}
