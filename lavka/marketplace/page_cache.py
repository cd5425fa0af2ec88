"""Whole catalogue pages kept for visitors who bring no cookies of their own (a first
visit, a crawler): for them a page depends only on its address, the language and the
catalogue, so it is kept under the catalogue version like the lists (`cache.py`) and a
change to the catalogue shows on the next request.

Only a page that set no cookie is kept (no CSRF token, no message, no session cart):
anything of one visitor marks it by a cookie. Visitors with a session, signed in or
not, always get a page rendered for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from lavka.marketplace import cache as catalog_cache

# Cookies that mean a page may be this visitor's own (the language cookie does not: the
# key names the language).
PERSONAL_COOKIES = frozenset({"sessionid", "csrftoken", "messages"})
MAX_PATH = 2000


def _personal_cookies() -> frozenset[str]:
    return PERSONAL_COOKIES | {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}


def _for_anyone(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and not (set(request.COOKIES) & _personal_cookies())
        and len(request.get_full_path()) <= MAX_PATH
    )


def kept_for_visitors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _for_anyone(request):
            return view(request, *args, **kwargs)
        key = catalog_cache.list_key(
            "page",
            [
                ("host", request.get_host()),
                ("scheme", request.scheme),
                ("path", request.get_full_path()),
            ],
        )
        kept = catalog_cache.recall(key)
        if kept is not None:
            status, content_type, content = kept
            return HttpResponse(content, status=status, content_type=content_type)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.cookies and not response.streaming:
            catalog_cache.keep(key, (200, response["Content-Type"], response.content))
        return response

    return wrapped
