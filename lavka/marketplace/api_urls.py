"""Catalogue API under /api/v1/catalog/ (names in the `api` namespace)."""

from django.urls import path

from lavka.core import converters  # noqa: F401 (registers <id:...>)
from lavka.core.access import PUBLIC
from lavka.marketplace import api

urlpatterns = [
    path("products/", api.ProductListView.as_view(), name="catalog-product-list"),
    path("products/<id:pk>/", api.ProductDetailView.as_view(), name="catalog-product-detail"),
    path("categories/", api.CategoryListView.as_view(), name="catalog-category-list"),
    path("categories/<id:pk>/", api.CategoryDetailView.as_view(), name="catalog-category-detail"),
    path("creators/", api.CreatorListView.as_view(), name="catalog-creator-list"),
    path("creators/<id:pk>/", api.CreatorDetailView.as_view(), name="catalog-creator-detail"),
]

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "catalog-product-list": PUBLIC,
    "catalog-product-detail": PUBLIC.of("marketplace.product_on_sale"),
    "catalog-category-list": PUBLIC,
    "catalog-category-detail": PUBLIC.of("marketplace.category"),
    "catalog-creator-list": PUBLIC,
    "catalog-creator-detail": PUBLIC.of("marketplace.creator"),
}
