"""Bookkeeping pages, under /bookkeeping/ (namespace `integrations`)."""

from django.urls import path

from lavka.core.access import (
    CREATORS,
    CREATORS_MANAGERS_SEE_ALL,
    FORBIDDEN,
    NOT_FOUND,
)
from lavka.integrations import views
from lavka.integrations.models import ConnectionRole

app_name = "integrations"

urlpatterns = [
    path("", views.overview, name="overview"),
    path(
        "connect/accounting/",
        views.connect,
        {"role": ConnectionRole.ACCOUNTING.value},
        name="connect_accounting",
    ),
    path(
        "connect/point-of-sale/",
        views.connect,
        {"role": ConnectionRole.POINT_OF_SALE.value},
        name="connect_point_of_sale",
    ),
    path("connections/<int:pk>/", views.connection_detail, name="connection_detail"),
    path("connections/<int:pk>/refresh/", views.connection_refresh, name="connection_refresh"),
    path(
        "connections/<int:pk>/disconnect/",
        views.connection_disconnect,
        name="connection_disconnect",
    ),
    path("trade-points/<int:pk>/mapping/", views.mapping_edit, name="mapping_edit"),
    path("trade-points/<int:pk>/mapping/delete/", views.mapping_delete, name="mapping_delete"),
    path("schedules/<int:pk>/", views.schedule_edit, name="schedule_edit"),
    path("schedules/<int:pk>/pause/", views.schedule_pause, name="schedule_pause"),
    path("schedules/<int:pk>/resume/", views.schedule_resume, name="schedule_resume"),
]

# Creators and managers read (a manager every owner's connections, tokens masked); only
# the owner changes anything: a manager gets 403, anyone else (superusers too) 404.
OWNER_CHANGES = CREATORS.but(manager=FORBIDDEN)
OWN_OBJECT = OWNER_CHANGES.but(superuser=NOT_FOUND, other_owner=NOT_FOUND)

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "overview": CREATORS,
    "connect_accounting": OWNER_CHANGES,
    "connect_point_of_sale": OWNER_CHANGES,
    "connection_detail": CREATORS_MANAGERS_SEE_ALL.of("integrations.connection"),
    "connection_refresh": OWN_OBJECT.of("integrations.connection").post_only(),
    "connection_disconnect": OWN_OBJECT.of("integrations.connection").post_only(),
    "mapping_edit": OWN_OBJECT.of("integrations.trade_point"),
    "mapping_delete": OWN_OBJECT.of("integrations.mapped_trade_point").post_only(),
    "schedule_edit": OWN_OBJECT.of("integrations.schedule"),
    "schedule_pause": OWN_OBJECT.of("integrations.schedule").post_only(),
    "schedule_resume": OWN_OBJECT.of("integrations.schedule").post_only(),
}
