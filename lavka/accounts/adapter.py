"""Where allauth hands control to Lavka: roles and language on sign-up, the welcome
email, blocks, the login lockout's key, and the account emails (verification, password
reset), built by Lavka's composer in the recipient's language."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from lavka.accounts import login_throttle, selectors, services
from lavka.accounts.models import User, normalize_email
from lavka.core.composer import check_header, compose


def _html_body(message: EmailMessage) -> str:
    if message.content_subtype == "html":
        return str(message.body)
    if isinstance(message, EmailMultiAlternatives):
        for alternative in message.alternatives:
            if alternative[1] == "text/html":
                return str(alternative[0])
    return ""


def _supported(language: str | None) -> str | None:
    return language if language in dict(settings.LANGUAGES) else None


def visitor_language() -> str:
    """The language the visitor is reading: their switcher choice (the language cookie),
    else their browser's Accept-Language, as LocaleMiddleware resolved it."""
    return _supported(translation.get_language()) or settings.LANGUAGE_CODE


def recipient_language(email: str, context: dict[str, Any]) -> str:
    """An account email speaks the language of the account it is about (a password
    reset asked for from someone else's browser included); an address with no account
    gets the language of the visitor who caused the email."""
    user = context.get("user")
    if not isinstance(user, User):
        user = selectors.account_with_address(email)
    saved = _supported(user.language) if user is not None else None
    return saved or visitor_language()


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        return normalize_email(super().clean_email(email))

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """A new account keeps the language its owner signed up in."""
        user.language = visitor_language()
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            services.assign_default_role(user=user)
        return user

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            services.handle_email_verified(user=email_address.user)
        return confirmed

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        """allauth renders the subject and bodies from its templates as before; the
        message itself comes from the composer, like every email Lavka sends."""
        recipients = [email] if isinstance(email, str) else list(email)
        with translation.override(recipient_language(recipients[0], context)):
            rendered = super().render_mail(template_prefix, email, context, headers)
        html_body = _html_body(rendered)
        message = compose(
            to=recipients[0],
            subject=str(rendered.subject),
            text_body="" if rendered.content_subtype == "html" else str(rendered.body),
            html_body=html_body,
            headers=headers,
            from_email=str(rendered.from_email),
        )
        if len(recipients) > 1:
            message.to = [check_header("To", recipient) for recipient in recipients]
        return message

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        """Failed logins count per account, however its address is spelled (allauth
        keys them by the lower-cased text typed; see lavka/accounts/login_throttle.py)."""
        return login_throttle.login_key(
            credentials.get("email") or credentials.get("username") or ""
        )

    def respond_user_inactive(self, request: HttpRequest, user: Any) -> HttpResponse:
        """Tell a blocked user why, once they have proven who they are."""
        reason = user.blocked_reason if isinstance(user, User) else ""
        return render(request, "account/account_inactive.html", {"blocked_reason": reason})
