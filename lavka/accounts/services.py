"""Every write that matters about accounts: one function per business action."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lavka.accounts.models import ApiToken, User, WelcomeEmail
from lavka.core import background, mail, work
from lavka.core.composer import compose, message_id
from lavka.core.roles import Role, forget_cached_roles

TOKEN_PREFIX = "lvk_"  # noqa: S105 (a prefix, not a secret)
_NOT_SENT_NOTE = "Not sent: the user is blocked or was already welcomed."


def assign_default_role(*, user: User) -> None:
    """Every new account starts as a customer."""
    group, _created = Group.objects.get_or_create(name=Role.CUSTOMER.value)
    user.groups.add(group)


def set_role(*, user: User, role: Role, enabled: bool) -> None:
    group, _created = Group.objects.get_or_create(name=role.value)
    if enabled:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    forget_cached_roles(user)


@transaction.atomic
def handle_email_verified(*, user: User) -> WelcomeEmail | None:
    """After the first verified address, greet the user by email from a worker.

    The welcome email is a work row written with the verification, so it is created
    once however often addresses are verified, and queued only after the commit.
    """
    if user.welcome_email_sent_at is not None:
        return None
    welcome, created = WelcomeEmail.objects.get_or_create(user=user)
    if not created:
        return None
    work.mark_queued(WelcomeEmail.objects.filter(pk=welcome.pk))
    background.start("accounts.send_welcome_email", welcome.pk)
    return welcome


def welcome_message(*, user: User) -> EmailMultiAlternatives:
    """The welcome email in the user's language, with a Message-ID that a resend keeps
    (a duplicate after a crash between send and record is recognisable)."""
    with translation.override(user.language):
        context = {"user": user, "site_url": settings.SITE_URL}
        subject = _("Welcome to Lavka")
        return compose(
            to=user.email,
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
            text_body=render_to_string("accounts/email/welcome.txt", context),
            html_body=render_to_string("accounts/email/welcome.html", context),
            stable_id=message_id("welcome", user.pk),
        )


def send_welcome_email(*, welcome_email_id: int, take_over: bool = False) -> bool:
    """Send one welcome email row; returns False when there is nothing to do.

    The row is claimed first, so a redelivered or duplicated task sends nothing once
    the first has recorded it; `take_over` (a redelivery after the worker died mid-send)
    takes the dead worker's lease. Failures are recorded on the row: a permanent refusal
    fails it at once, anything else is retried with backoff until its last attempt.
    """
    welcome = work.claim_one(WelcomeEmail.objects.filter(pk=welcome_email_id), take_over=take_over)
    if welcome is None:
        return False
    user = User.objects.get(pk=welcome.user_id)
    if not user.is_active or user.welcome_email_sent_at is not None:
        WelcomeEmail.objects.filter(pk=welcome.pk).update(
            **work.done_fields(), last_error=_NOT_SENT_NOTE
        )
        return False
    if not mail.send_for(welcome, lambda: welcome_message(user=user), what="welcome email"):
        return False
    with transaction.atomic():
        work.complete(welcome)
        User.objects.filter(pk=user.pk, welcome_email_sent_at__isnull=True).update(
            welcome_email_sent_at=timezone.now()
        )
    return True


def update_profile(*, user: User, full_name: str, time_zone: str, language: str) -> User:
    user.full_name = full_name.strip()
    user.time_zone = time_zone
    user.language = language
    user.full_clean(exclude=["password"])
    user.save(update_fields=["full_name", "time_zone", "language"])
    return user


def remember_language(*, user: User, language: str) -> None:
    """The language chosen with the switcher is the user's saved language too."""
    user.language = language
    user.save(update_fields=["language"])


@transaction.atomic
def block_user(*, actor: User | None, user: User, reason: str) -> User:
    """Block a user (who may block whom is the action's rule). Their open sessions end
    too: Django resolves an inactive user's session to an anonymous visitor on the next
    request."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the user is blocked; they will see it.")})
    user.is_active = False
    user.blocked_at = timezone.now()
    user.blocked_reason = reason
    user.blocked_by = actor
    user.save(update_fields=["is_active", "blocked_at", "blocked_reason", "blocked_by"])
    return user


@transaction.atomic
def unblock_user(*, user: User) -> User:
    user.is_active = True
    user.blocked_at = None
    user.blocked_reason = ""
    user.blocked_by = None
    user.save(update_fields=["is_active", "blocked_at", "blocked_reason", "blocked_by"])
    return user


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str


def clean_token_name(name: str) -> str:
    """A token's name, stripped; it is shown in lists, so one printable line."""
    name = name.strip()
    if not name:
        raise ValidationError(
            {"name": _("Give the token a name, such as the script that uses it.")}
        )
    if len(name) > 100:
        raise ValidationError({"name": _("At most 100 characters.")})
    if any(unicodedata.category(char) in {"Cc", "Zl", "Zp"} for char in name):
        raise ValidationError({"name": _("The name must be one line, without control characters.")})
    return name


def create_api_token(*, user: User, name: str) -> IssuedToken:
    name = clean_token_name(name)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[: len(TOKEN_PREFIX) + 6], token_hash=hash_token(raw)
    )
    return IssuedToken(token=token, raw=raw)


def revoke_api_token(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.get(pk=token_id, user=user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate_api_token(*, raw: str) -> User | None:
    """The active user a raw token belongs to, or None; notes the use at most once a minute."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
