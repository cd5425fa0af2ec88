"""Where allauth hands control to Lavka: roles on sign-up, the welcome email, blocks."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lavka.accounts import services
from lavka.accounts.models import User, normalize_email


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        return normalize_email(super().clean_email(email))

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            services.assign_default_role(user=user)
        return user

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        confirmed = super().confirm_email(request, email_address)
        if confirmed:
            services.handle_email_verified(user=email_address.user)
        return confirmed

    def respond_user_inactive(self, request: HttpRequest, user: Any) -> HttpResponse:
        """Tell a blocked user why, once they have proven who they are."""
        reason = user.blocked_reason if isinstance(user, User) else ""
        return render(request, "account/account_inactive.html", {"blocked_reason": reason})
