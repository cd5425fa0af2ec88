"""Pages whose forms end on a provider's hosted payment page (checkout, "Pay now",
donate) allow that page's origin as a form target; every other page keeps
`form-action 'self'`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse

from lavka.marketplace import payments


def allows_hosted_payment_pages(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> HttpResponse:
        response = view(*args, **kwargs)
        origins = payments.hosted_page_origins()
        if origins:
            # django-csp adds these to the policy's form-action for this response only
            response._csp_update = {"form-action": ["'self'", *origins]}  # type: ignore[attr-defined]
        return response

    return wrapped
