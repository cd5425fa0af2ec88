"""The pages of a prepared file: its progress, the progress as JSON for the page's
script, and the download. Only the user who asked for a file sees it; for anyone else,
managers and superusers included, it does not exist (404): a file holds what its
requester could see (one creator's sales, say), and staff export for themselves."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lavka.core import prepared_files
from lavka.core.csv_export import attachment
from lavka.core.models import PreparedFile
from lavka.core.work import PROBLEM_STATES


def too_many_files(request: HttpRequest) -> HttpResponse:
    """What an export answers when its user has their limit of files under way: those
    files, to wait for (429)."""
    return render(
        request,
        "core/prepared_files_busy.html",
        {
            "files": prepared_files.open_files_of(request.user),
            "limit": settings.PREPARED_FILES_OPEN_PER_USER,
        },
        status=429,
    )


def _own_or_404(request: HttpRequest, pk: int) -> PreparedFile:
    prepared = prepared_files.own_file(request.user, pk)
    if prepared is None:
        raise Http404
    return prepared


def progress_of(prepared: PreparedFile) -> dict[str, object]:
    ready = prepared_files.stored_path(prepared) is not None
    # done, but its file is not here (PREPARED_FILES_ROOT not shared with the workers)
    failed = prepared.state in PROBLEM_STATES or (prepared.is_ready and not ready)
    if ready:
        label = _("Ready")
    elif failed:
        label = _("Failed")
    elif prepared.rows_done:
        label = _("Writing")
    else:
        label = _("Waiting for a worker")
    return {
        "state": prepared.state,
        "label": label,
        "rows_done": prepared.rows_done,
        "rows_total": prepared.rows_total,
        "percent": prepared.percent,
        "ready": ready,
        "failed": failed,
        "finished": ready or failed,
        "download_url": reverse("prepared_file_download", args=[prepared.pk]) if ready else "",
    }


@login_required
@require_GET
@never_cache
def prepared_file(request: HttpRequest, pk: int) -> HttpResponse:
    prepared = _own_or_404(request, pk)
    return render(
        request,
        "core/prepared_file.html",
        {"prepared": prepared, "progress": progress_of(prepared)},
    )


@login_required
@require_GET
@never_cache
def prepared_file_progress(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(progress_of(_own_or_404(request, pk)))


@login_required
@require_GET
@never_cache
def prepared_file_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The file as an attachment; not ready yet, the progress page."""
    prepared = _own_or_404(request, pk)
    if not prepared_files.may_still_read(request.user, prepared):
        raise Http404
    path = prepared_files.stored_path(prepared)
    if path is None:
        return redirect("prepared_file", pk=prepared.pk)
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115
        content_type=prepared_files.content_type(prepared),
    )
    response["Cache-Control"] = "private, no-store"
    return attachment(response, prepared.filename)
