"""Campaigns REST API, mounted at /api/v1/campaigns/."""

from rest_framework.routers import SimpleRouter

from lavka.campaigns.api import views

app_name = "campaigns"

router = SimpleRouter(use_regex_path=False)
router.register("recipients", views.RecipientViewSet, basename="recipient")
router.register("lists", views.RecipientListViewSet, basename="list")
router.register("messages", views.MessageViewSet, basename="message")
router.register("mailings", views.MailingViewSet, basename="mailing")
router.register("runs", views.MailingRunViewSet, basename="run")

urlpatterns = router.urls
