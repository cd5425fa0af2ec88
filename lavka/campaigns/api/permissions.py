"""Who may use the campaigns API at all: creators and managers, not customers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request

from lavka.campaigns.actions import runs_campaigns


class RunsCampaigns(IsAuthenticated):
    """Signed in (else 401) and a creator or manager (else 403, saying how to become one)."""

    message = _("Campaigns and the API are for creators; a manager grants the creator role.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and runs_campaigns(request.user)
