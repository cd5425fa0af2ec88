from django.urls import path

from lavka.accounts import views
from lavka.core.access import (
    CREATORS,
    MANAGERS_ONLY,
    PUBLIC,
    SIGNED_IN,
    SIGNED_IN_OWNER_SCOPED,
)

app_name = "accounts"

urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/tokens/", views.api_token_create, name="api_token_create"),
    path("accounts/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("language/", views.switch_language, name="switch_language"),
    path("manage/users/", views.user_list, name="user_list"),
    path("manage/users/<int:pk>/block/", views.user_block, name="user_block"),
    path("manage/users/<int:pk>/unblock/", views.user_unblock, name="user_unblock"),
    path(
        "manage/users/<int:pk>/grant-creator/",
        views.user_grant_creator,
        name="user_grant_creator",
    ),
]

# Who may reach each route (lavka/core/access.py); the access test checks every one.
ACCESS = {
    "profile": SIGNED_IN,
    "api_token_create": CREATORS.post_only(),
    "api_token_revoke": SIGNED_IN_OWNER_SCOPED.of("accounts.api_token").post_only(),
    "switch_language": PUBLIC,
    "user_list": MANAGERS_ONLY,
    "user_block": MANAGERS_ONLY.of("accounts.user").post_only(),
    "user_unblock": MANAGERS_ONLY.of("accounts.user").post_only(),
    "user_grant_creator": MANAGERS_ONLY.of("accounts.user").post_only(),
}
