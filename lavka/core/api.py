"""The REST API frame: JSON errors everywhere under /api/."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import pagination, relations, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
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


@csrf_exempt  # answers every method alike, and changes nothing
def not_found(request: HttpRequest, **kwargs: Any) -> JsonResponse:
    """Any /api/ address no route matches, an id that is not a number included.

    A route, not handler404: with DEBUG on Django answers an unresolved URL with its HTML
    debug page, and API clients must get the same JSON 404 in development too."""
    return json_error(404, str(NotFound.default_detail))


class Pagination(pagination.PageNumberPagination):
    """`?page=` as the schema states it: one positive integer. DRF would read an empty
    value as page 1 and, given several, the last; here an empty or non-numeric page is
    the 404 that an out-of-range page already is, and a repeated one the 400 of any
    repeated parameter."""

    last_page_strings = ()
    _PAGE = re.compile(r"[1-9][0-9]{0,17}")

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        page = query_values(request).get(self.page_query_param)
        if page is not None and not self._PAGE.fullmatch(page):
            raise NotFound(self.invalid_page_message)
        return super().paginate_queryset(queryset, request, view)


# JSON types a field takes, by DRF field class (the first that matches wins).
_JSON_TYPES: list[tuple[type[serializers.Field[Any, Any, Any, Any]], tuple[type, ...], Any]] = [
    (serializers.BooleanField, (bool,), gettext_lazy("Must be true or false.")),
    (serializers.CharField, (str,), gettext_lazy("Must be a string.")),
    (serializers.ChoiceField, (str,), gettext_lazy("Must be a string.")),
    (serializers.DateTimeField, (str,), gettext_lazy("Must be a string.")),
    (serializers.DateField, (str,), gettext_lazy("Must be a string.")),
    (serializers.IntegerField, (int,), gettext_lazy("Must be an integer.")),
    (relations.PrimaryKeyRelatedField, (int,), gettext_lazy("Must be an integer id.")),
    (relations.ManyRelatedField, (list,), gettext_lazy("Must be a list.")),
    (serializers.ListField, (list,), gettext_lazy("Must be a list.")),
]


def _type_error(field: serializers.Field[Any, Any, Any, Any], value: Any) -> Any:
    if value is None:
        return None  # the field's own allow_null decides
    for field_class, types, message in _JSON_TYPES:
        if isinstance(field, field_class):
            if isinstance(value, bool) and bool not in types:
                return message  # JSON true is not the integer 1
            if not isinstance(value, types):
                return message
            if isinstance(field, relations.ManyRelatedField) and isinstance(value, list):
                child = field.child_relation
                if any(_type_error(child, item) for item in value):
                    return gettext_lazy("Must be a list of integer ids.")
            return None
    return None


def _length_error(field: serializers.Field[Any, Any, Any, Any], value: Any) -> Any:
    """DRF measures a string after trimming it; the schema's maxLength (what clients
    read) is of the string sent."""
    limit = getattr(field, "max_length", None)
    if not isinstance(field, serializers.CharField) or not isinstance(value, str) or not limit:
        return None
    if len(value) > limit:
        return field.error_messages["max_length"].format(max_length=limit)
    return None


class StrictJsonTypes(serializers.Serializer[Any]):
    """Input in the JSON types the schema documents. DRF's fields are lenient about
    types (5 for a string, "true" or 1 for a boolean, "7" for an id) and measure strings
    once trimmed; the API is not, so that what the schema says is refused, is."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {
                field.field_name: [error]
                for field in self._writable_fields
                if field.field_name in data
                and (
                    error := _type_error(field, data[field.field_name])
                    or _length_error(field, data[field.field_name])
                )
                is not None
            }
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)


def query_values(request: Request) -> dict[str, str]:
    """The query parameters, each given once as the schema documents them: a repeated
    one is a 400 (DRF would quietly read the last)."""
    repeated = [name for name, values in request.query_params.lists() if len(values) > 1]
    if repeated:
        raise ValidationError({name: [_("Give this parameter once.")] for name in repeated})
    return {name: values[0] for name, values in request.query_params.lists()}
