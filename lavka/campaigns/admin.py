"""Django admin for campaigns.

The admin is another way in, not another set of rules: saving or deleting a recipient,
list or message, and pausing, resuming or completing a mailing, run the same actions as
the pages and the API, as the signed-in superuser (so the owner's dashboard numbers are
dropped too). A recipient, list or message keeps its owner. A mailing's content and
schedule change only on the pages and in the API, so that its next send time is always
computed; runs and deliveries are a read-only log. Sending policies are plain settings.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from lavka.campaigns import actions, services
from lavka.campaigns.models import (
    Delivery,
    Mailing,
    MailingRun,
    Message,
    Recipient,
    RecipientList,
    SendingPolicy,
)
from lavka.campaigns.personalisation import placeholder_error
from lavka.core.actions import Action


def _adopt(obj: Any, saved: Any) -> None:
    """The admin goes on with the object it built; make it the one the action saved."""
    obj.__dict__.update(saved.__dict__)


class OwnedAdmin(admin.ModelAdmin):
    """An owner's object: chosen when adding, fixed afterwards (a recipient, list or
    message moved to another owner would leave their lists and mailings mixed)."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "owner") if obj is not None else fields

    def delete_action(self, request: HttpRequest, obj: Any) -> Action[Any]:
        raise NotImplementedError

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_action(request, obj).execute()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log: viewable and deletable with its parent, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Recipient)
class RecipientAdmin(OwnedAdmin):
    list_display = (
        "email",
        "full_name",
        "owner",
        "is_active",
        "unsubscribed_at",
        "suppressed_at",
    )
    list_filter = (
        "is_active",
        ("unsubscribed_at", admin.EmptyFieldListFilter),
        ("suppressed_at", admin.EmptyFieldListFilter),
        ("owner", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("email", "full_name")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    # Unsubscribing and suppression are the recipient's and the mail server's word.
    readonly_fields = (
        "unsubscribed_at",
        "suppressed_at",
        "suppression_reason",
        "created_at",
        "updated_at",
    )

    def save_model(self, request: HttpRequest, obj: Recipient, form: Any, change: bool) -> None:
        data = form.cleaned_data
        fields = {name: data[name] for name in services.RECIPIENT_FIELDS if name in data}
        if change:
            actions.UpdateRecipient(
                request.user, recipient=obj, email=data["email"], **fields
            ).execute()
        else:
            created = actions.CreateRecipient(
                request.user, owner=data["owner"], email=data["email"], **fields
            ).execute()
            _adopt(obj, created)

    def delete_action(self, request: HttpRequest, obj: Recipient) -> Action[Any]:
        return actions.DeleteRecipient(request.user, recipient=obj)


class RecipientListForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        owner = cleaned.get("owner") or getattr(self.instance, "owner", None)
        foreign = services.not_owned_by(getattr(owner, "pk", None), cleaned.get("recipients") or [])
        if owner is not None and foreign:
            self.add_error(
                "recipients",
                _("These recipients belong to someone else: %(emails)s")
                % {"emails": ", ".join(r.email for r in foreign)},
            )
        return cleaned


@admin.register(RecipientList)
class RecipientListAdmin(OwnedAdmin):
    form = RecipientListForm
    list_display = ("name", "owner", "size", "created_at")
    search_fields = ("name", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner", "recipients")
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecipientList]:
        return super().get_queryset(request).annotate(size=Count("recipients"))

    @admin.display(description=_("recipients"), ordering="size")
    def size(self, recipient_list: Any) -> int:
        return int(recipient_list.size)

    def save_model(self, request: HttpRequest, obj: RecipientList, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = actions.SaveList(
            request.user,
            owner=data.get("owner"),
            name=data["name"],
            description=data.get("description", ""),
            members=data.get("recipients", []),
            recipient_list=obj if change else None,
        ).execute()
        _adopt(obj, saved)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The members were saved with the list, by the action."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_action(self, request: HttpRequest, obj: RecipientList) -> Action[Any]:
        return actions.DeleteList(request.user, recipient_list=obj)


class MessageForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for field in ("subject", "html_body", "text_body"):
            error = placeholder_error(cleaned.get(field) or "")
            if error:
                self.add_error(field, error)
        return cleaned


@admin.register(Message)
class MessageAdmin(OwnedAdmin):
    form = MessageForm
    list_display = ("subject", "owner", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("subject", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Message, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = actions.SaveMessage(
            request.user,
            owner=data.get("owner"),
            subject=data["subject"],
            html_body=data["html_body"],
            text_body=data.get("text_body", ""),
            is_active=data.get("is_active", True),
            message=obj if change else None,
        ).execute()
        _adopt(obj, saved)

    def delete_action(self, request: HttpRequest, obj: Message) -> Action[Any]:
        return actions.DeleteMessage(request.user, message=obj)


def _apply(
    request: HttpRequest,
    mailings: QuerySet[Mailing],
    change: type[actions.ModeratedMailingAction],
    done: StrOrPromise,
) -> None:
    changed = 0
    for mailing in mailings.select_related("message"):
        try:
            change(request.user, mailing=mailing).execute()
        except (ValidationError, PermissionDenied) as exc:
            reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else ""
            messages.error(
                request,
                _("%(mailing)s: %(reason)s")
                % {"mailing": mailing, "reason": reason or _("not allowed.")},
            )
        else:
            changed += 1
    if changed:
        messages.success(request, done % {"count": changed})


@admin.action(description=_("Pause the selected mailings"))
def pause_mailings(admin_: Any, request: HttpRequest, queryset: QuerySet[Mailing]) -> None:
    _apply(request, queryset, actions.PauseMailing, _("Paused %(count)d mailing(s)."))


@admin.action(description=_("Resume the selected mailings"))
def resume_mailings(admin_: Any, request: HttpRequest, queryset: QuerySet[Mailing]) -> None:
    _apply(request, queryset, actions.ResumeMailing, _("Resumed %(count)d mailing(s)."))


@admin.action(description=_("Complete the selected mailings"))
def complete_mailings(admin_: Any, request: HttpRequest, queryset: QuerySet[Mailing]) -> None:
    _apply(request, queryset, actions.CompleteMailing, _("Completed %(count)d mailing(s)."))


@admin.register(Mailing)
class MailingAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "periodicity", "next_send_at", "created_at")
    list_filter = ("status", "periodicity", "disabled_by_manager")
    search_fields = ("name", "owner__email")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    actions = (pause_mailings, resume_mailings, complete_mailings)
    readonly_fields = (
        "owner",
        "name",
        "message",
        "lists",
        "single_recipients",
        "first_send_at",
        "periodicity",
        "cron_expression",
        "end_at",
        "time_zone",
        "status",
        "status_reason",
        "next_send_at",
        "disabled_by_manager",
        "runs_link",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Mailing]:
        return super().get_queryset(request).prefetch_related("lists")

    @admin.display(description=_("single recipients"))
    def single_recipients(self, mailing: Mailing) -> int:
        return mailing.recipients.count()

    @admin.display(description=_("runs"))
    def runs_link(self, mailing: Mailing) -> str:
        url = reverse("admin:campaigns_mailingrun_changelist") + f"?mailing__id__exact={mailing.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Show runs"))


@admin.register(MailingRun)
class MailingRunAdmin(ReadOnlyAdmin):
    list_display = (
        "mailing",
        "scheduled_for",
        "status",
        "total",
        "sent",
        "failed",
        "skipped",
        "finished_at",
    )
    list_filter = ("status",)
    search_fields = ("mailing__name", "mailing__owner__email")
    list_select_related = ("mailing",)
    date_hierarchy = "scheduled_for"
    fields = (
        "mailing",
        "scheduled_for",
        "status",
        "status_reason",
        "subject",
        "total",
        "sent",
        "failed",
        "skipped",
        "consecutive_failures",
        "deliveries_link",
        "created_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields

    @admin.display(description=_("deliveries"))
    def deliveries_link(self, run: MailingRun) -> str:
        url = reverse("admin:campaigns_delivery_changelist") + f"?run__id__exact={run.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Show deliveries"))


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("email", "status", "run", "attempts", "smtp_code", "sent_at")
    list_filter = ("status",)
    search_fields = ("email",)
    list_select_related = ("run__mailing",)
    show_full_result_count = False
    fields = (
        "run",
        "recipient",
        "email",
        "status",
        "skip_reason",
        "attempts",
        "smtp_code",
        "smtp_reply",
        "not_before",
        "last_attempt_at",
        "sent_at",
    )
    readonly_fields = fields


@admin.register(SendingPolicy)
class SendingPolicyAdmin(admin.ModelAdmin):
    list_display = ("owner", "messages_per_minute", "pause_after_consecutive_failures")
    search_fields = ("owner__email",)
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
