from django.urls import path

from lavka.campaigns import unsubscribe_views
from lavka.campaigns.views import dashboard as dashboard_views
from lavka.campaigns.views import mailings as mailing_views

app_name = "campaigns"

urlpatterns = [
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
    path("unsubscribe/test/", unsubscribe_views.unsubscribe_test, name="unsubscribe_test"),
    path("unsubscribe/<str:token>/", unsubscribe_views.unsubscribe, name="unsubscribe"),
]
