"""Demo pages, under /demos/ (namespace `demos`)."""

from django.urls import path

from lavka.core import converters  # noqa: F401 (registers <id:...>)
from lavka.core.access import (
    CREATORS,
    FORBIDDEN,
    NOT_FOUND,
    OK,
    PUBLIC,
    Access,
)
from lavka.demos import views

app_name = "demos"

urlpatterns = [
    path("", views.my_demos, name="my_demos"),
    path("new/", views.create, name="create"),
    path("<id:pk>/", views.detail, name="detail"),
    path("<id:pk>/try/", views.try_demo, name="try"),
    path("<id:pk>/edit/", views.edit, name="edit"),
    path("<id:pk>/delete/", views.delete, name="delete"),
    path("<id:pk>/samples/add/", views.sample_add, name="sample_add"),
    path("samples/<id:pk>/delete/", views.sample_delete, name="sample_delete"),
    path("runs/<id:pk>/", views.run, name="run"),
    path("runs/<id:pk>/progress/", views.run_progress, name="run_progress"),
    path("shared/<str:token>/", views.shared, name="shared"),
]

# Creators manage demos of their own products; managers read the list and change
# nothing (403); anyone else asking for a creator's demo gets 404.
OWNER_CHANGES = CREATORS.but(manager=FORBIDDEN)
OWN_OBJECT = OWNER_CHANGES.but(superuser=NOT_FOUND, other_owner=NOT_FOUND)
# A visitor's run: theirs alone (signed-in user or session); everyone else gets 404.
VISITOR_OWN = Access(
    anonymous=NOT_FOUND,
    customer=OK,
    creator=OK,
    manager=NOT_FOUND,
    superuser=NOT_FOUND,
    other_owner=NOT_FOUND,
)

ACCESS = {
    "my_demos": CREATORS,
    "create": OWNER_CHANGES,
    "detail": PUBLIC.of("demos.any_demo"),
    "try": PUBLIC.of("demos.any_demo").post_only(),
    "edit": OWN_OBJECT.of("demos.demo"),
    "delete": OWN_OBJECT.of("demos.demo").post_only(),
    "sample_add": OWN_OBJECT.of("demos.demo").post_only(),
    "sample_delete": OWN_OBJECT.of("demos.sample").post_only(),
    "run": VISITOR_OWN.of("demos.run"),
    "run_progress": VISITOR_OWN.of("demos.run"),
    "shared": PUBLIC.of("demos.share_token"),
}
