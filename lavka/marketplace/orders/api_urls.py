"""Orders API under /api/v1/orders/ (names in the `api` namespace)."""

from django.urls import path

from lavka.core import converters  # noqa: F401 (registers <id:...>)
from lavka.core.access import API_MANAGERS_SEE_ALL, API_SIGNED_IN
from lavka.marketplace.orders import api

urlpatterns = [
    path("", api.OrderListView.as_view(), name="order-list"),
    path("<id:pk>/", api.OrderDetailView.as_view(), name="order-detail"),
]

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "order-list": API_SIGNED_IN,
    "order-detail": API_MANAGERS_SEE_ALL.of("marketplace.order"),
}
