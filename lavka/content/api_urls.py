"""Content API under /api/v1/pages/ (names in the `api` namespace)."""

from django.urls import path

from lavka.content.api import PageDetailView, PageListView
from lavka.core import converters  # noqa: F401 (registers <id:...>)
from lavka.core.access import PUBLIC

urlpatterns = [
    path("", PageListView.as_view(), name="content-page-list"),
    path("<id:pk>/", PageDetailView.as_view(), name="content-page-detail"),
]

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "content-page-list": PUBLIC,
    "content-page-detail": PUBLIC.of("content.page"),
}
