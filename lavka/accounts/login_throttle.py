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
from allauth.core.internal import ratelimit
from django.core.cache import cache
from django.http import HttpRequest

from lavka.accounts import selectors
from lavka.accounts.models import normalize_email

ACTION = "login_failed"


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
