"""Pages for an owner's messages: list, write, preview, send a test, delete.

The owner's HTML is never put into a Lavka page: the preview shows it in a sandboxed
frame whose document comes from `message_preview_html`, with its own strict policy.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from lavka.accounts.models import User
from lavka.campaigns import actions, selectors
from lavka.campaigns.forms.messages import MessageForm
from lavka.campaigns.models import Message
from lavka.campaigns.personalisation import Personalisation, html_to_text, unknown_placeholders
from lavka.campaigns.views.creators import creators_only
from lavka.core.converters import parse_id

PAGE_SIZE = 25
SAMPLE_RECIPIENTS = 50
FRAME_POLICY = (
    "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; sandbox; "
    "frame-ancestors 'self'"
)


def _owner(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _own_message(request: HttpRequest, pk: int) -> Message:
    return get_object_or_404(selectors.messages_of(actor=_owner(request)), pk=pk)


def _sample_personalisation(request: HttpRequest) -> tuple[Personalisation, int | None]:
    """The owner's chosen recipient (?recipient=id), or the owner as a stand-in."""
    owner = _owner(request)
    unsubscribe_url = settings.SITE_URL + reverse("campaigns:unsubscribe_test")
    chosen = parse_id(request.GET.get("recipient", ""))
    if chosen is not None:
        recipient = selectors.recipients_of(actor=owner).filter(pk=chosen).first()
        if recipient is not None:
            personal = Personalisation(
                name=recipient.full_name, email=recipient.email, unsubscribe_url=unsubscribe_url
            )
            return personal, recipient.pk
    personal = Personalisation(
        name=owner.get_full_name(), email=owner.email, unsubscribe_url=unsubscribe_url
    )
    return personal, None


@creators_only
def message_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.messages_of(actor=_owner(request)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "campaigns/message_list.html", {"page": page})


@creators_only
def message_create(request: HttpRequest) -> HttpResponse:
    return _message_form(request, None)


@creators_only
def message_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _message_form(request, _own_message(request, pk))


def _message_form(request: HttpRequest, message: Message | None) -> HttpResponse:
    form = MessageForm(request.POST or None, instance=message)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.SaveMessage(
                _owner(request),
                subject=form.cleaned_data["subject"],
                html_body=form.cleaned_data["html_body"],
                text_body=form.cleaned_data["text_body"],
                is_active=form.cleaned_data["is_active"],
                message=message,
            ).execute()
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            flash.success(request, _("The message was saved."))
            return redirect("campaigns:message_preview", pk=saved.pk)
    if message is not None:
        message.refresh_from_db()
    return render(
        request,
        "campaigns/message_form.html",
        {"form": form, "message": message},
        status=400 if form.is_bound else 200,
    )


@creators_only
def message_preview(request: HttpRequest, pk: int) -> HttpResponse:
    message = _own_message(request, pk)
    unknown = unknown_placeholders(message.subject, message.html_body, message.text_body)
    context: dict[str, object] = {"message": message, "unknown": unknown}
    if not unknown:
        personal, chosen = _sample_personalisation(request)
        context.update(
            personal=personal,
            chosen=chosen,
            subject=personal.render_text(message.subject),
            text=personal.render_text(message.text_body or html_to_text(message.html_body)),
            text_generated=not message.text_body,
            frame_query=f"?recipient={chosen}" if chosen else "",
            samples=selectors.recipients_of(actor=_owner(request))[:SAMPLE_RECIPIENTS],
        )
    return render(request, "campaigns/message_preview.html", context)


@creators_only
@xframe_options_sameorigin
def message_preview_html(request: HttpRequest, pk: int) -> HttpResponse:
    """The personalised HTML alone, for the sandboxed frame: no scripts, no remote
    requests except images over https, and only framed by Lavka itself."""
    message = _own_message(request, pk)
    if unknown_placeholders(message.html_body):
        body = ""
    else:
        personal, _chosen = _sample_personalisation(request)
        body = personal.render_html(message.html_body)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = FRAME_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    return response


@creators_only
@require_POST
def message_send_test(request: HttpRequest, pk: int) -> HttpResponse:
    message = _own_message(request, pk)
    owner = _owner(request)
    try:
        actions.SendTestMessage(owner, message=message).execute()
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        flash.success(
            request, _("A test copy is on its way to %(email)s.") % {"email": owner.email}
        )
    return redirect("campaigns:message_preview", pk=message.pk)


@creators_only
def message_delete(request: HttpRequest, pk: int) -> HttpResponse:
    message = _own_message(request, pk)
    if request.method == "POST":
        try:
            actions.DeleteMessage(_owner(request), message=message).execute()
        except ValidationError as exc:
            flash.error(request, " ".join(exc.messages))
            return redirect("campaigns:message_preview", pk=message.pk)
        flash.success(
            request, _("The message “%(subject)s” was deleted.") % {"subject": message.subject}
        )
        return redirect("campaigns:message_list")
    return render(
        request,
        "campaigns/message_confirm_delete.html",
        {"message": message, "used_by": message.mailings.count()},
    )
