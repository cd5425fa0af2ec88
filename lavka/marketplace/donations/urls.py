"""Donation pages, included by lavka/marketplace/urls.py under /shop/ (names in the
`marketplace` namespace)."""

from django.urls import path

from lavka.core.access import FORBIDDEN, MANAGERS_ONLY, SIGNED_IN, SIGNED_IN_OWNER_SCOPED
from lavka.marketplace.donations import views

urlpatterns = [
    path("donate/<slug:slug>/", views.donate, name="donate"),
    path("donations/", views.donation_list, name="donation_list"),
    path("donations/<int:pk>/", views.donation_detail, name="donation_detail"),
    path("donations/<int:pk>/pay/", views.donation_pay, name="donation_pay"),
    path("manage/donations/", views.donations_received, name="donations_received"),
    path("staff/donations/", views.staff_donations, name="staff_donations"),
    path("staff/donations/<int:pk>/", views.staff_donation_detail, name="staff_donation_detail"),
    path(
        "staff/donations/<int:pk>/mark-paid/",
        views.staff_donation_mark_paid,
        name="staff_donation_mark_paid",
    ),
    path(
        "staff/donations/<int:pk>/cancel/",
        views.staff_donation_cancel,
        name="staff_donation_cancel",
    ),
    path(
        "staff/donations/<int:pk>/archive/",
        views.staff_donation_archive,
        name="staff_donation_archive",
    ),
]

# Creators see the donations they received (their own only, by construction: no ids).
CREATORS_ONLY = SIGNED_IN.but(customer=FORBIDDEN, manager=FORBIDDEN)
# Seed 003: donation details and changes are for staff (`view_donation`,
# `change_donation`: managers); archiving needs `delete_donation` (superusers).
STAFF_DONATION = MANAGERS_ONLY.of("marketplace.any_donation")

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    # Any signed-in user may open the form; giving to oneself is refused on the page.
    "donate": SIGNED_IN.of("marketplace.creator_slug"),
    "donation_list": SIGNED_IN,
    "donation_detail": SIGNED_IN_OWNER_SCOPED.of("marketplace.donation"),
    "donation_pay": SIGNED_IN_OWNER_SCOPED.of("marketplace.donation").post_only(),
    "donations_received": CREATORS_ONLY,
    "staff_donations": MANAGERS_ONLY,
    "staff_donation_detail": STAFF_DONATION,
    "staff_donation_mark_paid": STAFF_DONATION.post_only(),
    "staff_donation_cancel": STAFF_DONATION.post_only(),
    "staff_donation_archive": STAFF_DONATION.but(manager=FORBIDDEN).post_only(),
}
