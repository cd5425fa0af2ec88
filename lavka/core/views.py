"""Pages owned by core: landing, outbox, health and the error pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST
from django.views.static import serve

from lavka.core import selectors, sweeping
from lavka.core.actions import DiscardWork, RetryWork
from lavka.core.api import is_api_request, json_error
from lavka.core.decorators import permission_required, superuser_only
from lavka.core.forms import WorkActionForm
from lavka.core.health import run_checks
from lavka.core.work import WorkState


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results = run_checks()
    down = [name for name, result in results.items() if not result.ok]
    body: dict[str, Any] = {
        "status": "ok" if not down else "down",
        "down": down,
        "checks": {name: {"ok": r.ok, "detail": r.detail} for name, r in results.items()},
    }
    try:
        # counted over whole tables: shared for a few seconds, not run per probe
        body["work"] = cache.get_or_set("healthz:work", sweeping.state_counts, 10)
    except Exception:  # the database or cache check above already says why
        body["work"] = {}
    return JsonResponse(body, status=200 if not down else 503)


@superuser_only
def outbox_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    page = Paginator(selectors.outbox_messages(search=query), 25).get_page(request.GET.get("page"))
    return render(request, "core/outbox_list.html", {"page": page, "query": query})


@superuser_only
def outbox_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(selectors.outbox_messages(), pk=pk)
    return render(request, "core/outbox_detail.html", {"message": message})


@superuser_only
@xframe_options_sameorigin
def outbox_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The HTML body alone, for the sandboxed frame on the detail page.

    The strict policy keeps any script or remote content in a message from running.
    """
    message = get_object_or_404(selectors.outbox_messages(), pk=pk)
    response = HttpResponse(message.html_body or "", content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox; "
        "frame-ancestors 'self'"
    )
    return response


@permission_required("core.operate_background_work")
def background_work(request: HttpRequest) -> HttpResponse:
    """Failed, waiting and stuck work of every app, with retry and discard."""
    return render(
        request,
        "core/background_work.html",
        {"problems": sweeping.problems(), "counts": sweeping.state_counts(), "states": WorkState},
    )


@permission_required("core.operate_background_work")
@require_POST
def background_work_act(request: HttpRequest) -> HttpResponse:
    form = WorkActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an item and an action."))
        return redirect("background_work")
    action = RetryWork if form.cleaned_data["action"] == "retry" else DiscardWork
    done = action(
        request.user, label=form.cleaned_data["label"], pks=[form.cleaned_data["pk"]]
    ).execute()
    if done:
        messages.success(request, _("Done."))
    else:
        messages.warning(request, _("Nothing changed: the item has moved on meanwhile."))
    return redirect("background_work")


def media_file(request: HttpRequest, path: str) -> HttpResponseBase:
    """An upload, sandboxed as deploy/nginx.conf serves it (an uploaded page runs nothing).

    Django's static() helper serves only with DEBUG on; `serve` joins the path safely
    under MEDIA_ROOT and lists no folders.
    """
    response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
    response["Content-Security-Policy"] = (
        "default-src 'none'; media-src 'self'; img-src 'self'; sandbox"
    )
    return response


def _error(request: HttpRequest, status: int, template: str, detail: str) -> HttpResponse:
    if is_api_request(request):
        return json_error(status, detail)
    return render(request, template, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "400.html", _("Bad request."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "403.html", _("You do not have permission to do this."))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "404.html", _("Not found."))


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without context processors: they may need the database that just failed."""
    if is_api_request(request):
        return json_error(500, _("Server error. It has been logged."))
    return HttpResponse(loader.get_template("500.html").render(), status=500)
