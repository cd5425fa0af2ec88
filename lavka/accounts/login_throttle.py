"""The one lockout of every way to prove a password: the site login, the admin (whose
login page is the site's), reauthentication and `POST /api/v1/tokens/`.

All of them check the password through the account adapter's `authenticate`, which
counts failures in allauth's `login_failed` rate limit (ACCOUNT_RATE_LIMITS): one counter
per client address and one per account. The account counter is keyed by the account
itself, not by what was typed, so `Admin@Example.com `, the lower-case spelling and a
second verified address of the same account all count against the same five attempts.
The client address is REMOTE_ADDR unless ALLAUTH_TRUSTED_PROXY_COUNT says how many
proxies in front may be believed about X-Forwarded-For.
"""

from __future__ import annotations

import math
import time

from allauth.account import app_settings as account_settings
from allauth.account.adapter import get_adapter
from allauth.core.internal import ratelimit
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from lavka.accounts import selectors
from lavka.accounts.models import User, normalize_email

ACTION = "login_failed"


class LockedOut(Exception):
    """Too many failed attempts: no password is checked for `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


def login_key(login: str) -> str:
    """The account counter's key for what someone typed as their email."""
    account = selectors.account_with_address(login)
    if account is not None:
        return f"account:{account.pk}"
    return f"address:{normalize_email(login)}"


def seconds_locked(request: HttpRequest, login: str) -> int:
    """How long until a password for `login` from this client is checked again: 0 when
    it would be now. Read from the same counters the adapter writes."""
    now = time.time()
    wait = 0.0
    for rate in ratelimit.get_rates(
        app="allauth.account", action=ACTION, config=account_settings.RATE_LIMITS
    ):
        cache_key = ratelimit.get_cache_key(
            request, app="allauth.account", action=ACTION, rate=rate, key=login_key(login)
        )
        recent = sorted(
            (stamp for stamp in cache.get(cache_key, []) if stamp > now - rate.duration),
            reverse=True,
        )
        if len(recent) >= rate.amount:
            wait = max(wait, recent[rate.amount - 1] + rate.duration - now)
    return max(1, math.ceil(wait)) if wait > 0 else 0


def check_password(request: HttpRequest, *, email: str, password: str) -> User | None:
    """The account whose password this is, or None, counted like a login on the site.

    While locked out, raises LockedOut without checking the password, so a right
    password tells nothing then. A blocked account with the right password is returned
    (like the site, which then tells its owner why it is blocked); the caller decides.
    """
    try:
        user = get_adapter(request).authenticate(request, email=email, password=password)
    except ValidationError as error:
        if error.code != "too_many_login_attempts":
            raise
        raise LockedOut(error.messages[0], seconds_locked(request, email) or 1) from error
    return user if isinstance(user, User) else None
