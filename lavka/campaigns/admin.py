"""Django admin for campaigns.

Recipients, lists, messages and sending policies are edited here directly (with the same
placeholder and ownership checks as the services). A mailing's schedule and status change
only through the services — the pages, the API, or this admin's actions — so that its
next send time is always computed; runs and deliveries are a read-only log.
"""

from __future__ import annotations

from collections.abc import Callable
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

from lavka.campaigns import services
from lavka.campaigns.models import (
    Delivery,
    Mailing,
    MailingRun,
    Message,
    Recipient,
    RecipientList,
    SendingPolicy,
)
from lavka.campaigns.personalisation import unknown_placeholders


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log: viewable and deletable with its parent, never added or edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):
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
    readonly_fields = ("created_at", "updated_at")


class RecipientListForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        owner = cleaned.get("owner")
        foreign = [
            r for r in cleaned.get("recipients") or [] if r.owner_id != getattr(owner, "pk", None)
        ]
        if owner is not None and foreign:
            self.add_error(
                "recipients",
                _("These recipients belong to someone else: %(emails)s")
                % {"emails": ", ".join(r.email for r in foreign)},
            )
        return cleaned


@admin.register(RecipientList)
class RecipientListAdmin(admin.ModelAdmin):
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


class MessageForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for field in ("subject", "html_body", "text_body"):
            unknown = unknown_placeholders(cleaned.get(field) or "")
            if unknown:
                self.add_error(
                    field,
                    _("Unknown placeholder: %(names)s.")
                    % {"names": ", ".join("{{ " + name + " }}" for name in unknown)},
                )
        return cleaned


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    form = MessageForm
    list_display = ("subject", "owner", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("subject", "owner__email")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")


def _apply(
    request: HttpRequest,
    mailings: QuerySet[Mailing],
    change: Callable[..., Mailing],
    done: StrOrPromise,
) -> None:
    changed = 0
    for mailing in mailings.select_related("message"):
        try:
            change(actor=request.user, mailing=mailing)
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
    _apply(request, queryset, services.pause_mailing, _("Paused %(count)d mailing(s)."))


@admin.action(description=_("Resume the selected mailings"))
def resume_mailings(admin_: Any, request: HttpRequest, queryset: QuerySet[Mailing]) -> None:
    _apply(request, queryset, services.resume_mailing, _("Resumed %(count)d mailing(s)."))


@admin.action(description=_("Complete the selected mailings"))
def complete_mailings(admin_: Any, request: HttpRequest, queryset: QuerySet[Mailing]) -> None:
    _apply(request, queryset, services.complete_mailing, _("Completed %(count)d mailing(s)."))


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
