"""The REST API frame: JSON errors everywhere under /api/."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every error body carrying a `detail` string.

    Validation errors keep DRF's field map (`{"email": ["..."]}`) and gain
    `"detail": "Invalid input."`, so clients can show a summary and the fields.
    """
    if isinstance(exc, Http404):
        # Django's message names the model ("No Recipient matches the given query."):
        # a missing object, another owner's and an id that is not a number read the same.
        exc = NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict):
        response.data.setdefault(
            "detail", _("Invalid input.") if response.status_code == 400 else ""
        )
    elif isinstance(response.data, list):
        response.data = {"detail": _("Invalid input."), "non_field_errors": response.data}
    return response


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def not_found(request: HttpRequest, **kwargs: Any) -> JsonResponse:
    """Any /api/ address no route matches, an id that is not a number included.

    A route, not handler404: with DEBUG on Django answers an unresolved URL with its HTML
    debug page, and API clients must get the same JSON 404 in development too."""
    return json_error(404, str(NotFound.default_detail))
