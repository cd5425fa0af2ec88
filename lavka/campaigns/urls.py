from django.urls import path

from lavka.campaigns import unsubscribe_views
from lavka.campaigns.views import audience as audience_views
from lavka.campaigns.views import dashboard as dashboard_views
from lavka.campaigns.views import mailings as mailing_views
from lavka.campaigns.views import messages as message_views
from lavka.core.access import (
    CREATORS,
    CREATORS_MANAGERS_SEE_ALL,
    CREATORS_OWNER_SCOPED,
    FORBIDDEN,
    PUBLIC,
)

app_name = "campaigns"

urlpatterns = [
    # --- audience and messages: recipients, lists, CSV import/export, messages ---
    path("recipients/", audience_views.recipient_list, name="recipient_list"),
    path("recipients/new/", audience_views.recipient_create, name="recipient_create"),
    path("recipients/import/", audience_views.recipient_import, name="recipient_import"),
    path(
        "recipients/import/confirm/",
        audience_views.recipient_import_confirm,
        name="recipient_import_confirm",
    ),
    path(
        "recipients/imports/<int:pk>/",
        audience_views.recipient_import_job,
        name="recipient_import_job",
    ),
    path(
        "recipients/imports/<int:pk>/progress.json",
        audience_views.recipient_import_progress,
        name="recipient_import_progress",
    ),
    path("recipients/<int:pk>/edit/", audience_views.recipient_edit, name="recipient_edit"),
    path(
        "recipients/<int:pk>/deactivate/",
        audience_views.recipient_deactivate,
        name="recipient_deactivate",
    ),
    path(
        "recipients/<int:pk>/reactivate/",
        audience_views.recipient_reactivate,
        name="recipient_reactivate",
    ),
    path(
        "recipients/<int:pk>/resubscribe/",
        audience_views.recipient_resubscribe,
        name="recipient_resubscribe",
    ),
    path("recipients/<int:pk>/delete/", audience_views.recipient_delete, name="recipient_delete"),
    path("lists/", audience_views.list_index, name="list_index"),
    path("lists/new/", audience_views.list_create, name="list_create"),
    path("lists/<int:pk>/", audience_views.list_detail, name="list_detail"),
    path("lists/<int:pk>/edit/", audience_views.list_edit, name="list_edit"),
    path("lists/<int:pk>/delete/", audience_views.list_delete, name="list_delete"),
    path("lists/<int:pk>/export.csv", audience_views.list_export, name="list_export"),
    path("messages/", message_views.message_list, name="message_list"),
    path("messages/new/", message_views.message_create, name="message_create"),
    path("messages/<int:pk>/", message_views.message_preview, name="message_preview"),
    path(
        "messages/<int:pk>/preview.html",
        message_views.message_preview_html,
        name="message_preview_html",
    ),
    path("messages/<int:pk>/edit/", message_views.message_edit, name="message_edit"),
    path("messages/<int:pk>/test/", message_views.message_send_test, name="message_send_test"),
    path("messages/<int:pk>/delete/", message_views.message_delete, name="message_delete"),
    # --- mailings, runs, deliveries and the dashboard ---
    path("", dashboard_views.dashboard, name="dashboard"),
    path("mailings/", mailing_views.mailing_list, name="mailing_list"),
    path("mailings/new/", mailing_views.mailing_create, name="mailing_create"),
    path("mailings/<int:pk>/", mailing_views.mailing_detail, name="mailing_detail"),
    path("mailings/<int:pk>/edit/", mailing_views.mailing_edit, name="mailing_edit"),
    path("mailings/<int:pk>/schedule/", mailing_views.mailing_schedule, name="mailing_schedule"),
    path("mailings/<int:pk>/pause/", mailing_views.mailing_pause, name="mailing_pause"),
    path("mailings/<int:pk>/resume/", mailing_views.mailing_resume, name="mailing_resume"),
    path("mailings/<int:pk>/complete/", mailing_views.mailing_complete, name="mailing_complete"),
    path("mailings/<int:pk>/disable/", mailing_views.mailing_disable, name="mailing_disable"),
    path("mailings/<int:pk>/delete/", mailing_views.mailing_delete, name="mailing_delete"),
    path("runs/<int:pk>/", mailing_views.run_detail, name="run_detail"),
    # --- unsubscribe (public, signed links) ---
    path("unsubscribe/test/", unsubscribe_views.unsubscribe_test, name="unsubscribe_test"),
    path("unsubscribe/<str:token>/", unsubscribe_views.unsubscribe, name="unsubscribe"),
]

# Who may reach each route (lavka/core/access.py); the access test checks every one.
# Campaigns are for creators: customers get the page on how to become one. Recipients,
# lists and messages are their owner's alone; managers see every mailing and run and may
# pause, resume or disable any mailing, but change only their own.
OWN_RECIPIENT = CREATORS_OWNER_SCOPED.of("campaigns.recipient")
OWN_LIST = CREATORS_OWNER_SCOPED.of("campaigns.list")
OWN_IMPORT = CREATORS_OWNER_SCOPED.of("campaigns.import")
OWN_MESSAGE = CREATORS_OWNER_SCOPED.of("campaigns.message")
OWN_MAILING = CREATORS_OWNER_SCOPED.of("campaigns.mailing")
ANY_MAILING = CREATORS_MANAGERS_SEE_ALL.of("campaigns.mailing")

ACCESS = {
    "recipient_list": CREATORS,
    "recipient_create": CREATORS,
    "recipient_import": CREATORS,
    "recipient_import_confirm": CREATORS.post_only(),
    # an import writes recipients, so it is its owner's alone like they are
    "recipient_import_job": OWN_IMPORT,
    "recipient_import_progress": OWN_IMPORT,
    "recipient_edit": OWN_RECIPIENT,
    "recipient_deactivate": OWN_RECIPIENT.post_only(),
    "recipient_reactivate": OWN_RECIPIENT.post_only(),
    "recipient_resubscribe": OWN_RECIPIENT.post_only(),
    "recipient_delete": OWN_RECIPIENT,
    "list_index": CREATORS,
    "list_create": CREATORS,
    "list_detail": OWN_LIST,
    "list_edit": OWN_LIST,
    "list_delete": OWN_LIST,
    "list_export": OWN_LIST,
    "message_list": CREATORS,
    "message_create": CREATORS,
    "message_preview": OWN_MESSAGE,
    "message_preview_html": OWN_MESSAGE,
    "message_edit": OWN_MESSAGE,
    "message_send_test": OWN_MESSAGE.post_only(),
    "message_delete": OWN_MESSAGE,
    "dashboard": CREATORS,
    "mailing_list": CREATORS,
    "mailing_create": CREATORS,
    "mailing_detail": ANY_MAILING,
    "mailing_edit": OWN_MAILING,
    "mailing_schedule": OWN_MAILING.post_only(),
    "mailing_pause": ANY_MAILING.post_only(),
    "mailing_resume": ANY_MAILING.post_only(),
    "mailing_complete": OWN_MAILING.post_only(),
    # only moderators disable, their own mailings included
    "mailing_disable": ANY_MAILING.but(customer=FORBIDDEN, creator=FORBIDDEN).post_only(),
    "mailing_delete": OWN_MAILING,
    "run_detail": CREATORS_MANAGERS_SEE_ALL.of("campaigns.run"),
    "unsubscribe_test": PUBLIC,
    # a signed link in an email: no login
    "unsubscribe": PUBLIC.of("campaigns.unsubscribe_token"),
}
