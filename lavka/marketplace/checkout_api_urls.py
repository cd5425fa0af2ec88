"""The checkout API under /api/v1/checkout/ (names in the `api` namespace)."""

from django.urls import path

from lavka.core.access import API_SIGNED_IN
from lavka.marketplace import checkout_api

urlpatterns = [
    path("", checkout_api.CheckoutView.as_view(), name="checkout"),
    path("quote/", checkout_api.QuoteView.as_view(), name="checkout-quote"),
]

# Who may reach each route (lavka/core/access.py); the access test checks every one.
# Anyone signed in checks out their own cart (managers too, as on the checkout page).
ACCESS = {
    "checkout": API_SIGNED_IN.post_only(),
    "checkout-quote": API_SIGNED_IN,
}
