from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from lavka.accounts.api import MeView, TokenCreateView
from lavka.core import file_views
from lavka.core import views as core_views
from lavka.core.access import (
    API_SIGNED_IN,
    FORBIDDEN,
    MANAGERS_ONLY,
    METHOD,
    NOT_FOUND,
    PUBLIC,
    SIGNED_IN,
    SIGNED_IN_OWNER_SCOPED,
    SUPERUSERS_ONLY,
    SUPERUSERS_ONLY_SECRET,
    Access,
)
from lavka.core.api import not_found as api_not_found

# Swagger UI and Redoc inject inline styles at run time; scripts stay 'self' only.
api_docs_csp = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})

api_v1 = [
    path("me/", MeView.as_view(), name="me"),
    path("tokens/", TokenCreateView.as_view(), name="token_create"),
    path("campaigns/", include("lavka.campaigns.api.urls")),
    path("pages/", include("lavka.content.api_urls")),
    path("catalog/", include("lavka.marketplace.api_urls")),
    path("cart/", include("lavka.marketplace.cart_api_urls")),
    path("checkout/", include("lavka.marketplace.checkout_api_urls")),
    path("orders/", include("lavka.marketplace.orders.api_urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url=static("lavka/favicon.svg"), permanent=True)),
    path("outbox/", core_views.outbox_list, name="outbox_list"),
    path("outbox/<int:pk>/", core_views.outbox_detail, name="outbox_detail"),
    path("outbox/<int:pk>/html/", core_views.outbox_html, name="outbox_html"),
    path("operations/work/", core_views.background_work, name="background_work"),
    path("operations/work/act/", core_views.background_work_act, name="background_work_act"),
    path("files/<int:pk>/", file_views.prepared_file, name="prepared_file"),
    path(
        "files/<int:pk>/progress/", file_views.prepared_file_progress, name="prepared_file_progress"
    ),
    path(
        "files/<int:pk>/download/", file_views.prepared_file_download, name="prepared_file_download"
    ),
    path("accounts/", include("allauth.urls")),
    path("", include("lavka.accounts.urls")),
    path("campaigns/", include("lavka.campaigns.urls")),
    path("", include("lavka.content.urls")),
    path("shop/", include("lavka.marketplace.urls")),
    path("bookkeeping/", include("lavka.integrations.urls")),
    path("demos/", include("lavka.demos.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/docs/",
        api_docs_csp(
            SpectacularSwaggerSplitView.as_view(
                url_name="api_schema", template_name="api/swagger_ui.html"
            )
        ),
        name="api_docs",
    ),
    path(
        "api/redoc/",
        api_docs_csp(
            SpectacularRedocView.as_view(url_name="api_schema", template_name="api/redoc.html")
        ),
        name="api_redoc",
    ),
    # Last under api/: what no API route matches (an id that is not a number, say) is the
    # API's JSON 404, with DEBUG on too. Addresses without their final slash still get
    # APPEND_SLASH's redirect first.
    re_path(r"^api/(?:.*/)?$", api_not_found, name="api_not_found"),
]

ADMIN_REFUSES_SUPERUSERS = SUPERUSERS_ONLY.but(superuser=FORBIDDEN)

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "home": PUBLIC,
    "healthz": PUBLIC,
    "outbox_list": SUPERUSERS_ONLY_SECRET,
    "outbox_detail": SUPERUSERS_ONLY_SECRET.of("core.outbox_message"),
    "outbox_html": SUPERUSERS_ONLY_SECRET.of("core.outbox_message"),
    "background_work": MANAGERS_ONLY,
    "background_work_act": MANAGERS_ONLY.post_only(),
    # a prepared file is its requester's alone: 404 for everyone else, staff included
    "prepared_file": SIGNED_IN_OWNER_SCOPED.of("core.prepared_file"),
    "prepared_file_progress": SIGNED_IN_OWNER_SCOPED.of("core.prepared_file"),
    "prepared_file_download": SIGNED_IN_OWNER_SCOPED.of("core.prepared_file"),
    "api:me": API_SIGNED_IN,
    "api:token_create": PUBLIC.post_only(),  # an email and a password, not a session
    "api_schema": PUBLIC,
    "api_docs": PUBLIC,
    "api_redoc": PUBLIC,
    "api_not_found": Access(
        anonymous=NOT_FOUND,
        customer=NOT_FOUND,
        creator=NOT_FOUND,
        manager=NOT_FOUND,
        superuser=NOT_FOUND,
    ),
    # allauth: public pages (signed-in visitors are sent on), except these
    "account_reauthenticate": SIGNED_IN,
    "account_email": SIGNED_IN,
    "account_change_password": SIGNED_IN,
    "account_set_password": SIGNED_IN,
    "account_confirm_login_code": SIGNED_IN,  # only in the middle of a login
    # the Django admin: its login page sends visitors to the site's login (one lockout)
    # and refuses whoever is signed in without admin access; logout sends whoever is
    # not staff on to the admin's index, and staff log out with a POST
    "admin:login": SUPERUSERS_ONLY.but(customer=FORBIDDEN, creator=FORBIDDEN, manager=FORBIDDEN),
    "admin:logout": PUBLIC.but(superuser=METHOD),
    # no Lavka model has a page of its own to view on the site
    "admin:view_on_site": SUPERUSERS_ONLY.but(superuser=NOT_FOUND),
    # asked without the field it completes
    "admin:autocomplete": ADMIN_REFUSES_SUPERUSERS,
    # rows only Lavka writes: the admin shows them but adds (or deletes) none
    "admin:campaigns_mailing_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:campaigns_mailingrun_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:campaigns_delivery_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:content_block_add": ADMIN_REFUSES_SUPERUSERS,
    # tokens are created by their user (profile page, command); welcome rows by verification
    "admin:accounts_apitoken_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:accounts_welcomeemail_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:content_storedfile_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:content_storedfile_delete": ADMIN_REFUSES_SUPERUSERS,
    # a user becomes a creator themselves; products are made by their creator
    "admin:marketplace_creatorprofile_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:marketplace_product_add": ADMIN_REFUSES_SUPERUSERS,
    # orders are placed at checkout and change through the staff pages' actions
    "admin:marketplace_order_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:marketplace_order_delete": ADMIN_REFUSES_SUPERUSERS,
    # donations likewise: given on the donate page, changed on the staff pages
    "admin:marketplace_donation_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:marketplace_donation_delete": ADMIN_REFUSES_SUPERUSERS,
    # invoices are issued when an order is paid and never changed or deleted (no gaps)
    "admin:marketplace_invoice_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:marketplace_invoice_delete": ADMIN_REFUSES_SUPERUSERS,
    # payment events come from Stripe's signed webhook only, and are kept as a record
    "admin:marketplace_paymentevent_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:marketplace_paymentevent_delete": ADMIN_REFUSES_SUPERUSERS,
    # bookkeeping rows are written by the owner's pages and the sync: the admin reads them
    "admin:integrations_connection_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_connection_delete": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_referenceitem_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_referenceitem_delete": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_tradepointmapping_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_tradepointmapping_delete": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_syncschedule_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_syncschedule_delete": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_syncrun_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_syncrun_delete": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_shiftsync_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_shiftsync_delete": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_reportsend_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_reportsend_delete": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_revokedtokenemail_add": ADMIN_REFUSES_SUPERUSERS,
    "admin:integrations_revokedtokenemail_delete": ADMIN_REFUSES_SUPERUSERS,
}

# Third-party route groups and unnamed routes, by the start of their path.
ACCESS_BY_PREFIX = {
    "favicon.ico": PUBLIC,
    "accounts/": PUBLIC,
    "admin/": SUPERUSERS_ONLY,
    "admin/(?P<url>": SUPERUSERS_ONLY.but(superuser=NOT_FOUND),  # the admin's catch-all
}

if settings.SERVE_MEDIA:
    from django.urls import re_path

    # Uploads, when no nginx serves /media/ in front (the embedded default, `make run`).
    urlpatterns += [
        re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", core_views.media_file)
    ]
    # public; the access test asks for a file that does not exist
    ACCESS_BY_PREFIX["^media/"] = Access(
        anonymous=NOT_FOUND,
        customer=NOT_FOUND,
        creator=NOT_FOUND,
        manager=NOT_FOUND,
        superuser=NOT_FOUND,
    )

handler400 = "lavka.core.views.bad_request"
handler403 = "lavka.core.views.permission_denied"
handler404 = "lavka.core.views.page_not_found"
handler500 = "lavka.core.views.server_error"
