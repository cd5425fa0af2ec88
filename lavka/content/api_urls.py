"""Content API under /api/v1/pages/ (names in the `api` namespace)."""

from django.urls import path

from lavka.content.api import PageDetailView, PageListView

urlpatterns = [
    path("", PageListView.as_view(), name="content-page-list"),
    path("<int:pk>/", PageDetailView.as_view(), name="content-page-detail"),
]
