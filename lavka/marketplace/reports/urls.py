"""Sales report pages, included by lavka/marketplace/urls.py under /shop/ (names in the
`marketplace` namespace)."""

from django.urls import path

from lavka.core.access import FORBIDDEN, MANAGERS_ONLY, SIGNED_IN
from lavka.marketplace.reports import views

urlpatterns = [
    path("staff/reports/", views.staff_report, name="staff_report"),
    path("staff/reports/csv/", views.staff_report_csv, name="staff_report_csv"),
    path("manage/reports/", views.creator_report, name="creator_report"),
    path("manage/reports/csv/", views.creator_report_csv, name="creator_report_csv"),
]

# A creator's report is of their own sales (customers get 403 on the page saying how to
# become a creator; managers read the staff report); a superuser without a creator
# profile gets an empty one.
CREATORS_ONLY = SIGNED_IN.but(customer=FORBIDDEN, manager=FORBIDDEN)

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "staff_report": MANAGERS_ONLY,
    "staff_report_csv": MANAGERS_ONLY,
    "creator_report": CREATORS_ONLY,
    "creator_report_csv": CREATORS_ONLY,
}
