"""Signed, per-recipient unsubscribe tokens (no login, no database lookup to verify)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "lavka.campaigns.unsubscribe"


def make_token(recipient_id: int) -> str:
    return signing.dumps({"r": recipient_id}, salt=SALT, compress=True)


def read_token(token: str) -> int | None:
    """The recipient id, or None when the token was tampered with."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    recipient_id = data.get("r") if isinstance(data, dict) else None
    return recipient_id if isinstance(recipient_id, int) else None


def unsubscribe_url(recipient_id: int) -> str:
    return settings.SITE_URL + reverse("campaigns:unsubscribe", args=[make_token(recipient_id)])
