from django.urls import path

from lavka.campaigns import unsubscribe_views

app_name = "campaigns"

urlpatterns = [
    path("unsubscribe/test/", unsubscribe_views.unsubscribe_test, name="unsubscribe_test"),
    path("unsubscribe/<str:token>/", unsubscribe_views.unsubscribe, name="unsubscribe"),
]
