"""The campaigns dashboard: the owner's cached numbers and their latest runs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lavka.accounts.models import User
from lavka.campaigns import selectors
from lavka.campaigns.views.creators import creators_only


@creators_only
def dashboard(request: HttpRequest) -> HttpResponse:
    owner: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "campaigns/dashboard.html",
        {
            "numbers": selectors.dashboard(owner_id=owner.pk),
            "recent_runs": selectors.recent_runs_of(actor=owner),
            "sees_all": selectors.can_see_all_mailings(owner),
        },
    )
