from django.urls import include, path

from lavka.core.access import FORBIDDEN, MANAGERS_ONLY, NOT_FOUND, PUBLIC, SIGNED_IN
from lavka.marketplace import cart_views, views

app_name = "marketplace"

urlpatterns = [
    path("", views.shop, name="shop"),
    path("categories/<slug:slug>/", views.category_detail, name="category"),
    path("creators/", views.creator_list, name="creator_list"),
    path("creators/<slug:slug>/", views.creator_detail, name="creator"),
    path("creators/<slug:creator_slug>/<slug:slug>/", views.product_detail, name="product"),
    path("become-a-creator/", views.become_creator, name="become_creator"),
    path("manage/", views.my_products, name="my_products"),
    path("manage/profile/", views.creator_profile_edit, name="creator_profile_edit"),
    path("manage/new/", views.product_create, name="product_create"),
    path("manage/<int:pk>/", views.product_edit, name="product_edit"),
    path("manage/<int:pk>/archive/", views.product_archive, name="product_archive"),
    path("manage/<int:pk>/unarchive/", views.product_unarchive, name="product_unarchive"),
    path(
        "manage/images/<int:pk>/remove/",
        views.product_image_remove,
        name="product_image_remove",
    ),
    path("cart/", cart_views.cart_detail, name="cart"),
    path("cart/add/", cart_views.cart_add, name="cart_add"),
    path("cart/update/", cart_views.cart_update, name="cart_update"),
    path("cart/remove/", cart_views.cart_remove, name="cart_remove"),
    path("cart/accept/", cart_views.cart_accept, name="cart_accept"),
    path("creator-requests/", views.creator_requests, name="creator_requests"),
    path(
        "creator-requests/<int:pk>/approve/",
        views.creator_request_approve,
        name="creator_request_approve",
    ),
    path(
        "creator-requests/<int:pk>/reject/",
        views.creator_request_reject,
        name="creator_request_reject",
    ),
    path("", include("lavka.marketplace.orders.urls")),
    path("", include("lavka.marketplace.donations.urls")),
    path("", include("lavka.marketplace.downloads.urls")),
    path("", include("lavka.marketplace.exports.urls")),
    path("", include("lavka.marketplace.invoices.urls")),
    path("", include("lavka.marketplace.reports.urls")),
]

# Creators' pages (seed 003): creators only (a customer gets 403 on a page saying how to
# become one; managers do not sell unless they are creators too), and only their own
# products: another creator's is a 404, for superusers too (they use the admin).
CREATORS_ONLY = SIGNED_IN.but(customer=FORBIDDEN, manager=FORBIDDEN)
OWN_PRODUCT = CREATORS_ONLY.but(superuser=NOT_FOUND, other_owner=NOT_FOUND).of(
    "marketplace.product"
)
OWN_IMAGE = OWN_PRODUCT.of("marketplace.product_image")

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "shop": PUBLIC,
    "category": PUBLIC.of("marketplace.category_slug"),
    "creator_list": PUBLIC,
    "creator": PUBLIC.of("marketplace.creator_slug"),
    "product": PUBLIC.of("marketplace.product_slugs"),
    "become_creator": SIGNED_IN,
    "my_products": CREATORS_ONLY,
    "creator_profile_edit": CREATORS_ONLY,
    "product_create": CREATORS_ONLY,
    "product_edit": OWN_PRODUCT,
    "product_archive": OWN_PRODUCT.post_only(),
    "product_unarchive": OWN_PRODUCT.post_only(),
    "product_image_remove": OWN_IMAGE.post_only(),
    # everyone has a cart of their own (the session's, or the user's): no ids in these
    # addresses, so no way to name another's
    "cart": PUBLIC,
    "cart_add": PUBLIC.post_only(),
    "cart_update": PUBLIC.post_only(),
    "cart_remove": PUBLIC.post_only(),
    "cart_accept": PUBLIC.post_only(),
    "creator_requests": MANAGERS_ONLY,
    "creator_request_approve": MANAGERS_ONLY.of("marketplace.creator_request").post_only(),
    "creator_request_reject": MANAGERS_ONLY.of("marketplace.creator_request").post_only(),
}
