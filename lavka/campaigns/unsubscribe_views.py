"""Unsubscribe from a link in a campaign email: no login, no cookies.

A GET only shows a confirmation page (mail scanners follow links and must not
unsubscribe anyone). A POST unsubscribes — the button on that page, or a mail client's
RFC 8058 one-click request — and answers 200, never a redirect.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from lavka.campaigns import services
from lavka.campaigns.unsubscribe import read_token


@csrf_exempt  # RFC 8058: the POST comes from the mail provider, without our cookies
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    recipient_id = read_token(token)
    if recipient_id is None:
        return render(request, "campaigns/unsubscribe_invalid.html", status=400)
    if request.method == "GET":
        return render(request, "campaigns/unsubscribe_confirm.html", {"token": token})
    recipient = services.unsubscribe_recipient(recipient_id=recipient_id)
    if recipient is None:
        return render(request, "campaigns/unsubscribe_invalid.html", status=404)
    return render(request, "campaigns/unsubscribe_done.html", {"email": recipient.email})


def unsubscribe_test(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/unsubscribe_test.html")
