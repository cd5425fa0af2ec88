"""Every write that matters about accounts: one function per business action."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lavka.accounts.models import ApiToken, User
from lavka.core.roles import Role, forget_cached_roles, has_role

TOKEN_PREFIX = "lvk_"  # noqa: S105 (a prefix, not a secret)


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


def handle_email_verified(*, user: User) -> None:
    """After the first verified address, greet the user by email from a worker."""
    if user.welcome_email_sent_at is not None:
        return
    from lavka.accounts.tasks import send_welcome_email

    user_id = user.pk
    transaction.on_commit(lambda: send_welcome_email.delay(user_id))


def send_welcome_email(*, user_id: int) -> bool:
    """Send the welcome email once; returns False when there is nothing to do.

    Running twice (a redelivered task) sends nothing the second time once the first
    has recorded it; the Message-ID is derived from the user so a duplicate after a
    crash between send and record is recognisable to the recipient's mail system.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.welcome_email_sent_at is not None:
        return False
    with translation.override(user.language):
        context = {"user": user, "site_url": settings.SITE_URL}
        subject = _("Welcome to Lavka")
        message = EmailMultiAlternatives(
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
            body=render_to_string("accounts/email/welcome.txt", context),
            to=[user.email],
            headers={"Message-ID": f"<welcome-{user.pk}@lavka.localhost>"},
        )
        message.attach_alternative(
            render_to_string("accounts/email/welcome.html", context), "text/html"
        )
    message.send()
    User.objects.filter(pk=user.pk, welcome_email_sent_at__isnull=True).update(
        welcome_email_sent_at=timezone.now()
    )
    return True


# A welcome task not done this long after sign-up was lost (e.g. its worker was killed on
# a broker that does not redeliver); one older than the window is not worth sending.
WELCOME_LOST_AFTER = timedelta(minutes=30)
WELCOME_WINDOW = timedelta(days=7)


def queue_lost_welcome_emails(*, now: datetime | None = None) -> list[int]:
    """Queue again the welcome emails of verified users that never got theirs."""
    now = now or timezone.now()
    user_ids = list(
        User.objects.filter(
            is_active=True,
            welcome_email_sent_at__isnull=True,
            date_joined__lte=now - WELCOME_LOST_AFTER,
            date_joined__gte=now - WELCOME_WINDOW,
            emailaddress__verified=True,
        )
        .values_list("pk", flat=True)
        .distinct()
    )
    from lavka.accounts.tasks import send_welcome_email

    for user_id in user_ids:
        transaction.on_commit(partial(send_welcome_email.delay, user_id))
    return user_ids


def update_profile(*, user: User, full_name: str, time_zone: str, language: str) -> User:
    user.full_name = full_name.strip()
    user.time_zone = time_zone
    user.language = language
    user.full_clean(exclude=["password"])
    user.save(update_fields=["full_name", "time_zone", "language"])
    return user


@transaction.atomic
def block_user(*, actor: User, user: User, reason: str) -> User:
    """Block a user. Their open sessions end too: Django resolves an inactive user's
    session to an anonymous visitor on the next request."""
    if not has_role(actor, Role.MANAGER):
        raise PermissionDenied
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot block yourself."))
    if user.is_superuser and not actor.is_superuser:
        raise ValidationError(_("Only a superuser can block a superuser."))
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
def unblock_user(*, actor: User, user: User) -> User:
    if not has_role(actor, Role.MANAGER):
        raise PermissionDenied
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


def create_api_token(*, user: User, name: str) -> IssuedToken:
    name = name.strip()
    if not name:
        raise ValidationError(
            {"name": _("Give the token a name, such as the script that uses it.")}
        )
    if len(name) > 100:
        raise ValidationError({"name": _("At most 100 characters.")})
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
