from django.urls import path

from lavka.content import views
from lavka.core.access import PUBLIC

app_name = "content"

urlpatterns = [
    path("blog/", views.blog, name="blog"),
    path("pages/<str:slug>/", views.page_detail, name="page_detail"),
]

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "blog": PUBLIC,
    "page_detail": PUBLIC.of("content.page_slug"),
}
