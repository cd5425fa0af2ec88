"""The client's address as every limit per address counts it: the one rule of the login
lockout (allauth's), so a page's rate limit and the login agree behind the same proxies.

REMOTE_ADDR, unless ALLAUTH_TRUSTED_PROXY_COUNT (LAVKA_TRUSTED_PROXY_COUNT) says how many
proxies of ours stand in front: then the X-Forwarded-For entry that the outermost of them
added, never one the client wrote itself."""

from __future__ import annotations

from allauth.core.internal.httpkit import get_client_ip
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The address to count a request against; REMOTE_ADDR when the header does not
    match the configured proxies (a misconfiguration must not turn into a 500)."""
    try:
        found = get_client_ip(request)
    except ImproperlyConfigured:
        found = None
    return found or str(request.META.get("REMOTE_ADDR", ""))
