"""The REST API frame: JSON errors everywhere under /api/."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every error body carrying a `detail` string.

    Validation errors keep DRF's field map (`{"email": ["..."]}`) and gain
    `"detail": "Invalid input."`, so clients can show a summary and the fields.
    """
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
