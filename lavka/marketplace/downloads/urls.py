"""The download route, included by lavka/marketplace/urls.py under /shop/."""

from django.urls import path

from lavka.core.access import PUBLIC
from lavka.marketplace.downloads import views

urlpatterns = [
    path("downloads/<str:token>/", views.download, name="download"),
]

# A bearer link: whoever holds a valid, unexpired link of a paid order's line gets the
# file (opened from an email, signed in or not); anything else is a 404 or a 410.
ACCESS = {
    "download": PUBLIC.of("marketplace.download_token"),
}
