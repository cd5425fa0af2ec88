from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render


def permission_required(
    perm: str, *, denied_template: str = ""
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Anonymous visitors go to the login page; signed-in users without `perm` get 403:
    `denied_template` when given (a page saying how to get there), else the 403 page."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perm(perm):
                if denied_template:
                    return render(request, denied_template, status=403)
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def superuser_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pages that may show secrets (the outbox holds reset links): a superuser's alone.

    Everyone else, anonymous visitors and managers included, gets 404, so the page does
    not even admit it exists; no permission can be granted to open it.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (request.user.is_authenticated and request.user.is_superuser):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped
