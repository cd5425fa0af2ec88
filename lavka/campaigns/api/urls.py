"""Campaigns REST API, mounted at /api/v1/campaigns/."""

from rest_framework.routers import SimpleRouter

from lavka.campaigns.api import views
from lavka.core.access import (
    API_CREATORS,
    API_CREATORS_MANAGERS_SEE_ALL,
    API_CREATORS_OWNER_SCOPED,
)

app_name = "campaigns"

router = SimpleRouter(use_regex_path=False)
router.register("recipients", views.RecipientViewSet, basename="recipient")
router.register("lists", views.RecipientListViewSet, basename="list")
router.register("messages", views.MessageViewSet, basename="message")
router.register("mailings", views.MailingViewSet, basename="mailing")
router.register("runs", views.MailingRunViewSet, basename="run")

urlpatterns = router.urls

# Who may reach each route (lavka/core/access.py); the access test checks every one.
# As on the pages (customers get 403), except that managers may also complete anyone's mailing here.
ACCESS = {
    "recipient-list": API_CREATORS,
    "recipient-detail": API_CREATORS_OWNER_SCOPED.of("campaigns.recipient"),
    "list-list": API_CREATORS,
    "list-detail": API_CREATORS_OWNER_SCOPED.of("campaigns.list"),
    "message-list": API_CREATORS,
    "message-detail": API_CREATORS_OWNER_SCOPED.of("campaigns.message"),
    "mailing-list": API_CREATORS,
    "mailing-detail": API_CREATORS_MANAGERS_SEE_ALL.of("campaigns.mailing"),
    "mailing-runs": API_CREATORS_MANAGERS_SEE_ALL.of("campaigns.mailing"),
    "mailing-schedule": API_CREATORS_OWNER_SCOPED.of("campaigns.mailing").post_only(),
    "mailing-pause": API_CREATORS_MANAGERS_SEE_ALL.of("campaigns.mailing").post_only(),
    "mailing-resume": API_CREATORS_MANAGERS_SEE_ALL.of("campaigns.mailing").post_only(),
    "mailing-complete": API_CREATORS_MANAGERS_SEE_ALL.of("campaigns.mailing").post_only(),
    "run-detail": API_CREATORS_MANAGERS_SEE_ALL.of("campaigns.run"),
    "run-deliveries": API_CREATORS_MANAGERS_SEE_ALL.of("campaigns.run"),
}
