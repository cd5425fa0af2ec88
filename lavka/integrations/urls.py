"""Bookkeeping pages, under /bookkeeping/ (namespace `integrations`)."""

from django.urls import path

from lavka.core import converters  # noqa: F401 (registers <id:...>)
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
    path("shop/", views.shop_sales, name="shop_sales"),
    path("connections/<id:pk>/", views.connection_detail, name="connection_detail"),
    path("connections/<id:pk>/refresh/", views.connection_refresh, name="connection_refresh"),
    path(
        "connections/<id:pk>/disconnect/",
        views.connection_disconnect,
        name="connection_disconnect",
    ),
    path("trade-points/<id:pk>/mapping/", views.mapping_edit, name="mapping_edit"),
    path("trade-points/<id:pk>/mapping/delete/", views.mapping_delete, name="mapping_delete"),
    path("schedules/<id:pk>/", views.schedule_edit, name="schedule_edit"),
    path("schedules/<id:pk>/pause/", views.schedule_pause, name="schedule_pause"),
    path("schedules/<id:pk>/resume/", views.schedule_resume, name="schedule_resume"),
    path("schedules/<id:pk>/run/", views.schedule_run, name="schedule_run"),
    path("connections/<id:pk>/sync/", views.sync, name="sync"),
    path("connections/<id:pk>/sync/retry-all/", views.sync_retry_all, name="sync_retry_all"),
    path("runs/<id:pk>/", views.run_detail, name="run_detail"),
    path("runs/<id:pk>/progress/", views.run_progress, name="run_progress"),
    path("shifts/<id:pk>/retry/", views.shift_retry, name="shift_retry"),
    path("shifts/<id:pk>/discard/", views.shift_discard, name="shift_discard"),
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
    "shop_sales": OWNER_CHANGES.post_only(),
    "connection_detail": CREATORS_MANAGERS_SEE_ALL.of("integrations.connection"),
    "connection_refresh": OWN_OBJECT.of("integrations.connection").post_only(),
    "connection_disconnect": OWN_OBJECT.of("integrations.connection").post_only(),
    "mapping_edit": OWN_OBJECT.of("integrations.trade_point"),
    "mapping_delete": OWN_OBJECT.of("integrations.mapped_trade_point").post_only(),
    "schedule_edit": OWN_OBJECT.of("integrations.schedule"),
    "schedule_pause": OWN_OBJECT.of("integrations.schedule").post_only(),
    "schedule_resume": OWN_OBJECT.of("integrations.schedule").post_only(),
    "schedule_run": OWN_OBJECT.of("integrations.schedule").post_only(),
    "sync": CREATORS_MANAGERS_SEE_ALL.of("integrations.connection"),
    "sync_retry_all": OWN_OBJECT.of("integrations.connection").post_only(),
    "run_detail": CREATORS_MANAGERS_SEE_ALL.of("integrations.run"),
    "run_progress": CREATORS_MANAGERS_SEE_ALL.of("integrations.run"),
    "shift_retry": OWN_OBJECT.of("integrations.shift_sync").post_only(),
    "shift_discard": OWN_OBJECT.of("integrations.shift_sync").post_only(),
}
