"""Django admin for accounts: blocking, unblocking and revoking go through the actions,
so the admin follows the same rules as the staff pages. The admin's login is the site's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lavka.accounts import services
from lavka.accounts.actions import BlockUser, RevokeApiToken, UnblockUser
from lavka.accounts.forms import BlockUserForm
from lavka.accounts.models import ApiToken, User, WelcomeEmail
from lavka.core.actions import Action


def _run_each(request: HttpRequest, actions: Sequence[Action[Any]]) -> int:
    """Execute each action, reporting refusals as messages; returns how many ran."""
    done = 0
    for action in actions:
        try:
            action.execute()
        except PermissionDenied:
            messages.error(request, _("You may not do this."))
            return done
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            done += 1
    return done


def _admin_destination(request: HttpRequest) -> str:
    wanted = request.GET.get(REDIRECT_FIELD_NAME, "")
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if wanted and safe else reverse("admin:index")


def login_through_the_site(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin's login page, which checks no password itself: visitors are sent to
    the site's login and back, so the admin shares its lockout, email verification and
    block messages instead of being a second door with none (issue 8). Staff who are
    signed in go on; anyone else signed in is refused rather than sent round in a loop."""
    user = request.user
    if not user.is_authenticated:
        query = urlencode({REDIRECT_FIELD_NAME: _admin_destination(request)})
        return HttpResponseRedirect(f"{resolve_url(settings.LOGIN_URL)}?{query}")
    if not (user.is_active and user.is_staff):
        raise PermissionDenied
    return HttpResponseRedirect(_admin_destination(request))


admin.site.login = login_through_the_site  # type: ignore[method-assign]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "full_name")
    readonly_fields = (
        "date_joined",
        "last_login",
        "is_active",
        "blocked_at",
        "blocked_reason",
        "blocked_by",
        "welcome_email_sent_at",
    )
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (gettext_lazy("Profile"), {"fields": ("full_name", "time_zone", "language")}),
        (
            gettext_lazy("Blocking"),
            {"fields": ("is_active", "blocked_at", "blocked_reason", "blocked_by")},
        ),
        (
            gettext_lazy("Permissions"),
            {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (
            gettext_lazy("Dates"),
            {"fields": ("date_joined", "last_login", "welcome_email_sent_at")},
        ),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """An account added here starts as a customer, like one that signed up."""
        super().save_model(request, obj, form, change)
        if not change and not obj.is_superuser:
            services.assign_default_role(user=obj)

    actions = ["block_users", "unblock_users"]

    @admin.action(description=gettext_lazy("Block selected users"))
    def block_users(self, request: HttpRequest, queryset: QuerySet[User]) -> HttpResponse | None:
        form = BlockUserForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            done = _run_each(
                request, [BlockUser(request.user, user=user, reason=reason) for user in queryset]
            )
            messages.success(request, _("%(count)d users blocked.") % {"count": done})
            return None
        return TemplateResponse(
            request,
            "accounts/admin/block_users.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Block users"),
                "users": queryset,
                "form": form,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=gettext_lazy("Unblock selected users"))
    def unblock_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = _run_each(request, [UnblockUser(request.user, user=user) for user in queryset])
        messages.success(request, _("%(count)d users unblocked.") % {"count": done})


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    search_fields = ("name", "user__email", "prefix")
    readonly_fields = ("user", "prefix", "token_hash", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke_tokens"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Tokens are issued on the profile page or by `create_api_token`: the raw
        value is shown once there."""
        return False

    @admin.action(description=gettext_lazy("Revoke selected tokens"))
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        done = _run_each(request, [RevokeApiToken(request.user, token=t) for t in queryset])
        messages.success(request, _("%(count)d tokens revoked.") % {"count": done})


@admin.register(WelcomeEmail)
class WelcomeEmailAdmin(admin.ModelAdmin):
    """Read only: failed ones are retried or discarded on /operations/work/."""

    list_display = ("user", "state", "attempts", "not_before", "state_changed_at")
    list_filter = ("state",)
    search_fields = ("user__email",)
    list_select_related = ("user",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
