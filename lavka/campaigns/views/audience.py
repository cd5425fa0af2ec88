"""Pages for an owner's audience: recipients, lists, CSV import and export.

Every object is looked up through the selectors, which only hold the signed-in user's
own objects, so another owner's id is a 404 for everyone, managers included.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lavka.accounts.models import User
from lavka.campaigns import actions, csv_export, csv_io, importing, selectors
from lavka.campaigns.forms.audience import (
    STATE_CHOICES,
    ImportConfirmForm,
    ImportUploadForm,
    RecipientForm,
    RecipientListForm,
)
from lavka.campaigns.models import Recipient, RecipientImport, RecipientList
from lavka.campaigns.views.creators import creators_only

PAGE_SIZE = 50
IMPORT_SESSION_KEY = "campaigns:import"
PREVIEW_ROWS = 200
RECENT_IMPORTS = 10


def _owner(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _own_recipient(request: HttpRequest, pk: int) -> Recipient:
    return get_object_or_404(selectors.recipients_of(actor=_owner(request)), pk=pk)


def _own_list(request: HttpRequest, pk: int) -> RecipientList:
    return get_object_or_404(selectors.lists_of(actor=_owner(request)), pk=pk)


def _recipient_fields(form: RecipientForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "full_name": data["full_name"],
        "phone": data["phone"] or "",
        "country": data["country"],
        "comment": data["comment"],
    }


# --- recipients -----------------------------------------------------------------------


@creators_only
def recipient_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    state = request.GET.get("state", "")
    if state not in dict(STATE_CHOICES):
        state = ""
    recipients = selectors.recipients_of(actor=_owner(request), search=search, state=state)
    recipients = recipients.prefetch_related(
        Prefetch("lists", queryset=RecipientList.objects.order_by("name"))
    )
    page = Paginator(recipients, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = urlencode({key: value for key, value in (("q", search), ("state", state)) if value})
    return render(
        request,
        "campaigns/recipient_list.html",
        {
            "page": page,
            "search": search,
            "state": state,
            "state_choices": STATE_CHOICES,
            "extra_query": f"{filters}&" if filters else "",
        },
    )


@creators_only
def recipient_create(request: HttpRequest) -> HttpResponse:
    owner = _owner(request)
    form = RecipientForm(request.POST or None, owner=owner)
    if request.method == "POST" and form.is_valid():
        try:
            recipient = actions.CreateRecipient(
                owner,
                email=form.cleaned_data["email"],
                lists=form.cleaned_data["lists"],
                is_active=True,
                **_recipient_fields(form),
            ).execute()
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(email)s was added.") % {"email": recipient.email})
            return redirect("campaigns:recipient_list")
    status = 400 if form.is_bound else 200
    return render(
        request, "campaigns/recipient_form.html", {"form": form, "recipient": None}, status=status
    )


@creators_only
def recipient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    owner = _owner(request)
    recipient = _own_recipient(request, pk)
    form = RecipientForm(request.POST or None, instance=recipient, owner=owner)
    if request.method == "POST" and form.is_valid():
        try:
            actions.UpdateRecipient(
                owner,
                recipient=recipient,
                email=form.cleaned_data["email"],
                lists=form.cleaned_data["lists"],
                **_recipient_fields(form),
            ).execute()
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(email)s was saved.") % {"email": recipient.email})
            return redirect("campaigns:recipient_list")
    recipient.refresh_from_db()  # the form may have changed it in memory
    status = 400 if form.is_bound else 200
    return render(
        request,
        "campaigns/recipient_form.html",
        {"form": form, "recipient": recipient},
        status=status,
    )


@creators_only
@require_POST
def recipient_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    recipient = _own_recipient(request, pk)
    actions.SetRecipientActive(_owner(request), recipient=recipient, active=False).execute()
    messages.success(
        request, _("%(email)s is inactive and gets no mailings.") % {"email": recipient.email}
    )
    return redirect("campaigns:recipient_edit", pk=recipient.pk)


@creators_only
@require_POST
def recipient_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    recipient = _own_recipient(request, pk)
    actions.SetRecipientActive(_owner(request), recipient=recipient, active=True).execute()
    messages.success(request, _("%(email)s is active again.") % {"email": recipient.email})
    return redirect("campaigns:recipient_edit", pk=recipient.pk)


@creators_only
@require_POST
def recipient_resubscribe(request: HttpRequest, pk: int) -> HttpResponse:
    recipient = _own_recipient(request, pk)
    actions.ResubscribeRecipient(_owner(request), recipient=recipient).execute()
    messages.success(
        request,
        _("%(email)s will receive mailings again. Only do this if they asked for it.")
        % {"email": recipient.email},
    )
    return redirect("campaigns:recipient_edit", pk=recipient.pk)


@creators_only
def recipient_delete(request: HttpRequest, pk: int) -> HttpResponse:
    recipient = _own_recipient(request, pk)
    if request.method == "POST":
        actions.DeleteRecipient(_owner(request), recipient=recipient).execute()
        messages.success(request, _("%(email)s was deleted.") % {"email": recipient.email})
        return redirect("campaigns:recipient_list")
    return render(request, "campaigns/recipient_confirm_delete.html", {"recipient": recipient})


# --- lists ----------------------------------------------------------------------------


@creators_only
def list_index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "campaigns/list_index.html",
        {"lists": selectors.lists_of(actor=_owner(request))},
    )


@creators_only
def list_create(request: HttpRequest) -> HttpResponse:
    return _list_form(request, None)


@creators_only
def list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _list_form(request, _own_list(request, pk))


def _list_form(request: HttpRequest, recipient_list: RecipientList | None) -> HttpResponse:
    owner = _owner(request)
    form = RecipientListForm(request.POST or None, instance=recipient_list, owner=owner)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.SaveList(
                owner,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                members=form.cleaned_data["members"],
                recipient_list=recipient_list,
            ).execute()
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The list “%(name)s” was saved.") % {"name": saved.name})
            return redirect("campaigns:list_detail", pk=saved.pk)
    if recipient_list is not None:
        recipient_list.refresh_from_db()
    return render(
        request,
        "campaigns/list_form.html",
        {"form": form, "recipient_list": recipient_list},
        status=400 if form.is_bound else 200,
    )


@creators_only
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    recipient_list = _own_list(request, pk)
    members = recipient_list.recipients.order_by("email")
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "campaigns/list_detail.html", {"recipient_list": recipient_list, "page": page}
    )


@creators_only
def list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    recipient_list = _own_list(request, pk)
    if request.method == "POST":
        actions.DeleteList(_owner(request), recipient_list=recipient_list).execute()
        messages.success(
            request, _("The list “%(name)s” was deleted.") % {"name": recipient_list.name}
        )
        return redirect("campaigns:list_index")
    return render(request, "campaigns/list_confirm_delete.html", {"recipient_list": recipient_list})


@creators_only
def list_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    recipient_list = _own_list(request, pk)
    members = recipient_list.recipients.order_by("email").iterator(chunk_size=2000)
    response = StreamingHttpResponse(
        csv_export.export_csv_lines(members), content_type="text/csv; charset=utf-8"
    )
    filename = slugify(recipient_list.name) or f"list-{recipient_list.pk}"
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


# --- CSV import -----------------------------------------------------------------------


def _import_page(
    request: HttpRequest, form: ImportUploadForm, error: str = "", status: int = 200
) -> HttpResponse:
    recent = selectors.imports_of(actor=_owner(request))[:RECENT_IMPORTS]
    return render(
        request,
        "campaigns/import_upload.html",
        {"form": form, "error": error, "recent_imports": recent},
        status=status,
    )


@creators_only
def recipient_import(request: HttpRequest) -> HttpResponse:
    """Step 1: upload and preview. Nothing is written to the recipients here."""
    owner = _owner(request)
    if request.method != "POST":
        return _import_page(request, ImportUploadForm(owner=owner))
    form = ImportUploadForm(request.POST, request.FILES, owner=owner)
    if not form.is_valid():
        return _import_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    target_list = form.cleaned_data["target_list"]
    try:
        plan, pending = importing.preview_import(
            owner=owner,
            data=upload.read(),
            filename=upload.name,
            target_list=target_list,
            previous=request.session.get(IMPORT_SESSION_KEY),
        )
    except csv_io.ImportRefused as exc:
        form.add_error("file", str(exc))
        return _import_page(request, form, status=400)
    request.session[IMPORT_SESSION_KEY] = pending
    return render(
        request,
        "campaigns/import_preview.html",
        {
            "plan": plan,
            "counts": plan.counts,
            "rejected": plan.of(csv_io.Action.REJECT)[:PREVIEW_ROWS],
            "replaced": plan.of(csv_io.Action.REPLACED),
            "accepted": [
                row
                for row in plan.rows
                if row.action in {csv_io.Action.CREATE, csv_io.Action.UPDATE}
            ][:PREVIEW_ROWS],
            "preview_rows": PREVIEW_ROWS,
            "filename": upload.name,
            "target_list": target_list,
            "confirm_form": ImportConfirmForm(initial={"token": pending["token"]}),
        },
    )


@creators_only
@require_POST
def recipient_import_confirm(request: HttpRequest) -> HttpResponse:
    """Step 2: start importing exactly what the preview showed, in the background."""
    owner = _owner(request)
    form = ImportConfirmForm(request.POST)
    confirm = actions.ConfirmImport(
        owner,
        pending=request.session.get(IMPORT_SESSION_KEY),
        token=form.cleaned_data["token"] if form.is_valid() else "",
    )
    try:
        job = confirm.execute()
    except importing.ImportNotFound:
        messages.error(
            request, _("There is no previewed import to confirm. Upload the file again.")
        )
        return _import_page(request, ImportUploadForm(owner=owner), status=400)
    except importing.ImportListGone:
        messages.error(request, _("The chosen list no longer exists. Upload the file again."))
        return _import_page(request, ImportUploadForm(owner=owner), status=400)
    request.session.pop(IMPORT_SESSION_KEY, None)
    return redirect("campaigns:recipient_import_job", pk=job.pk)


def _own_import(request: HttpRequest, pk: int) -> RecipientImport:
    return get_object_or_404(selectors.imports_of(actor=_owner(request)), pk=pk)


def _import_progress(job: RecipientImport) -> dict[str, Any]:
    if job.has_failed:
        status, label = "failed", _("Stopped by an error; an operator has been told.")
    elif job.was_stopped:
        status, label = "stopped", _("Stopped by an operator.")
    else:
        status, label = job.status, job.get_status_display()
    return {
        "status": status,
        "label": str(label),
        "finished": job.is_finished or job.has_failed,
        "rows_done": job.rows_done,
        "total": job.total_rows,
        "percent": job.percent,
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "rejected": job.rejected,
        "conflicts": job.conflicts,
    }


@creators_only
def recipient_import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 3: the import's progress while it runs, then its result line by line."""
    job = _own_import(request, pk)
    progress = _import_progress(job)
    problems = Paginator(job.problems.order_by("line"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/import_job.html",
        {"job": job, "progress": progress, "problems": problems},
    )


@creators_only
def recipient_import_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """The numbers the job page's bar polls for."""
    response = JsonResponse(_import_progress(_own_import(request, pk)))
    response["Cache-Control"] = "no-store"
    return response
