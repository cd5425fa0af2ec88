from django.urls import path

from lavka.accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/tokens/", views.api_token_create, name="api_token_create"),
    path("accounts/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("language/", views.switch_language, name="switch_language"),
    path("manage/users/", views.user_list, name="user_list"),
    path("manage/users/<int:pk>/block/", views.user_block, name="user_block"),
    path("manage/users/<int:pk>/unblock/", views.user_unblock, name="user_unblock"),
]
