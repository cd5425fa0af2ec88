"""The cart API under /api/v1/cart/ (names in the `api` namespace)."""

from django.urls import path

from lavka.core import converters  # noqa: F401 (registers <id:...>)
from lavka.core.access import API_OWNER_SCOPED, API_SIGNED_IN
from lavka.marketplace import cart_api

urlpatterns = [
    path("", cart_api.CartView.as_view(), name="cart"),
    path("items/", cart_api.CartItemListView.as_view(), name="cart-item-list"),
    path("items/<id:pk>/", cart_api.CartItemDetailView.as_view(), name="cart-item-detail"),
]

# Who may reach each route (lavka/core/access.py); the access test checks every one.
# A cart is its owner's alone: another user's line is a 404, for staff too.
ACCESS = {
    "cart": API_SIGNED_IN,
    "cart-item-list": API_SIGNED_IN.post_only(),
    "cart-item-detail": API_OWNER_SCOPED.of("marketplace.cart_item"),
}
