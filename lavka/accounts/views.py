"""Profile, API tokens and the managers' user list."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from lavka.accounts import selectors, services
from lavka.accounts.actions import (
    API_ACCESS,
    BlockUser,
    CreateApiToken,
    GrantCreatorRole,
    RevokeApiToken,
    UnblockUser,
    UpdateProfile,
)
from lavka.accounts.forms import ApiTokenForm, BlockUserForm, ProfileForm
from lavka.core.decorators import permission_required
from lavka.core.roles import Role, has_role

NEW_TOKEN_SESSION_KEY = "accounts:new_api_token"  # noqa: S105 (a session key name)


def _profile_page(
    request: HttpRequest, profile_form: ProfileForm, token_form: ApiTokenForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "accounts/profile.html",
        {
            "form": profile_form,
            "token_form": token_form,
            "tokens": selectors.api_tokens_of(user=request.user),  # type: ignore[arg-type]
            "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
        },
        status=status,
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=user)  # type: ignore[arg-type]
        if form.is_valid():
            UpdateProfile(
                user,
                user=user,  # type: ignore[arg-type]
                full_name=form.cleaned_data["full_name"],
                time_zone=form.cleaned_data["time_zone"],
                language=form.cleaned_data["language"],
            ).execute()
            messages.success(request, _("Your profile was saved."))
            response = redirect("accounts:profile")
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                form.cleaned_data["language"],
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            )
            return response
        return _profile_page(request, form, ApiTokenForm(), status=400)
    return _profile_page(request, ProfileForm(instance=user), ApiTokenForm())  # type: ignore[arg-type]


@permission_required(API_ACCESS, denied_template="accounts/for_creators.html")
@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            issued = CreateApiToken(
                request.user,
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
            ).execute()
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            request.session[NEW_TOKEN_SESSION_KEY] = {"name": issued.token.name, "raw": issued.raw}
            return redirect("accounts:profile")
    return _profile_page(request, ProfileForm(instance=request.user), form, status=400)  # type: ignore[arg-type]


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = selectors.api_tokens_of(user=request.user).filter(pk=pk).first()  # type: ignore[arg-type]
    if token is None:
        return render(request, "404.html", status=404)
    RevokeApiToken(request.user, token=token).execute()
    messages.success(request, _("Token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("accounts:profile")


@require_http_methods(["GET", "POST"])
def switch_language(request: HttpRequest) -> HttpResponseBase:
    """Django's set_language, and a signed-in user's choice is remembered on the
    profile too (a POST, with its CSRF token).

    A GET (the links visitors get) only sets the language cookie and never writes the
    profile: a choice a link can make for anyone is harmless, and visitors' pages then
    carry no CSRF token, so the shop's pages are alike for them and can be cached."""
    if request.method == "GET":
        return _language_cookie_from_link(request)
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.remember_language(user=request.user, language=language)  # type: ignore[arg-type]
    return response


def _language_cookie_from_link(request: HttpRequest) -> HttpResponseBase:
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    language = request.GET.get("language", "")
    if language in dict(settings.LANGUAGES):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
        )
    return response


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    users = selectors.users_visible_to(actor=request.user, search=search, status=status)  # type: ignore[arg-type]
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    may_grant = request.user.has_perm("accounts.grant_creator_role")
    for person in page.object_list:
        # whether the "Make a creator" button shows; the action decides, this only hides
        # a button that would be refused
        person.offer_creator_role = (
            may_grant
            and not has_role(person, Role.CREATOR)
            and not GrantCreatorRole(request.user, user=person).refusal()
        )
    return render(
        request,
        "accounts/user_list.html",
        {"page": page, "search": search, "status": status, "block_form": BlockUserForm()},
    )


@login_required
@require_POST
def user_block(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(selectors.users_visible_to(actor=request.user), pk=pk)  # type: ignore[arg-type]
    form = BlockUserForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the user is blocked; they will see it."))
        return redirect("accounts:user_list")
    try:
        BlockUser(request.user, user=target, reason=form.cleaned_data["reason"]).execute()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(email)s is blocked.") % {"email": target.email})
    return redirect("accounts:user_list")


@login_required
@require_POST
def user_unblock(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(selectors.users_visible_to(actor=request.user), pk=pk)  # type: ignore[arg-type]
    try:
        UnblockUser(request.user, user=target).execute()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:user_list")
    messages.success(request, _("%(email)s is unblocked.") % {"email": target.email})
    return redirect("accounts:user_list")


@login_required
@require_POST
def user_grant_creator(request: HttpRequest, pk: int) -> HttpResponse:
    """The managers' button until the marketplace lets people become creators themselves."""
    target = get_object_or_404(selectors.users_visible_to(actor=request.user), pk=pk)  # type: ignore[arg-type]
    try:
        GrantCreatorRole(request.user, user=target).execute()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(email)s is a creator now.") % {"email": target.email})
    return redirect("accounts:user_list")
