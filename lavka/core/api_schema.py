"""The OpenAPI schema, made to tell the truth in one place (DEFAULT_SCHEMA_CLASS).

drf-spectacular documents what a view returns when it succeeds. Clients (and the
Schemathesis run in CI, `.ci/api-fuzz`) also need what it answers when it does not, and
the rules a field's value must follow. `LavkaAutoSchema` adds, to every operation:

- the error responses it can give, with the frame of lavka/core/api.py: 400 where it
  takes input (a body or query parameters), 401 wherever credentials are read, 403 where
  a permission is checked (or a CSRF token, for a signed-in browser's writes), 404 where
  it looks an object up by id or pages through a list, 415 where it takes a body (JSON
  only), 429 where it is throttled;
- each string field's rules as the server applies them: not blank (after trimming
  whitespace) unless blank is allowed, no NUL character (no control character at all
  in one-line text, `validate_header_text`), a URI or email format that also
  admits "" where the field may be blank, null where it may be null, and "unique" (with
  its scope) in the description where a model constraint says so.
"""

from __future__ import annotations

import sys
from typing import Any

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from lavka.core.validators import HeaderTextValidator, MultilineTextValidator


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error body under /api/: a human-readable `detail`."""

    detail = serializers.CharField()


class ValidationErrorSerializer(ErrorSerializer):
    """A 400: `detail` sums it up; each field at fault maps to a list of messages (a nested
    value to a map of them), and errors that belong to no field are in `non_field_errors`."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


ERROR_RESPONSES: dict[str, OpenApiResponse] = {
    "400": OpenApiResponse(
        ValidationErrorSerializer, description=_("Invalid input, with the fields at fault.")
    ),
    "401": OpenApiResponse(
        ErrorSerializer, description=_("No credentials, or a token that is invalid or revoked.")
    ),
    "403": OpenApiResponse(
        ErrorSerializer, description=_("Signed in, but not allowed to do this.")
    ),
    "404": OpenApiResponse(
        ErrorSerializer, description=_("No such object (or not yours), or no such page.")
    ),
    "415": OpenApiResponse(
        ErrorSerializer, description=_("The body is not JSON (`Content-Type: application/json`).")
    ),
    "429": OpenApiResponse(
        ErrorSerializer, description=_("Too many requests; `Retry-After` says when to retry.")
    ),
}

URI_TOO_LONG = _("The address is too long: refused by the web server, with its own page.")

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# What str.strip() (and so DRF's trim_whitespace) removes, as a regex character class.
_STRIPPED = "".join(f"\\u{code:04x}" for code in range(sys.maxunicode + 1) if chr(code).isspace())
NO_NUL = "^[^\\u0000]*$"
NOT_BLANK = f"^[^\\u0000]*[^\\u0000{_STRIPPED}][^\\u0000]*$"
# lavka/core/validators.py's text rules: no control characters, line or paragraph
# separators (lone surrogates, also refused, cannot be written in a pattern) once the
# whitespace around the text is trimmed (a trailing newline is trimmed, not refused);
# multi-line text keeps LF and CR.
_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029"
_CONTROL_BUT_LINES = "\\u0000-\\u0009\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u2028\\u2029"


def _trimmed_text(control: str, *, blank: bool) -> str:
    core = f"[^{control}{_STRIPPED}](?:[^{control}]*[^{control}{_STRIPPED}])?"
    return f"^[{_STRIPPED}]*({core}){'?' if blank else ''}[{_STRIPPED}]*$"


ONE_LINE = _trimmed_text(_CONTROL, blank=True)
ONE_LINE_NOT_BLANK = _trimmed_text(_CONTROL, blank=False)
MULTILINE = _trimmed_text(_CONTROL_BUT_LINES, blank=True)
MULTILINE_NOT_BLANK = _trimmed_text(_CONTROL_BUT_LINES, blank=False)


class LavkaAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            if code not in responses:
                responses[code] = self._get_response_for_code(ERROR_RESPONSES[code], code)
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            # Query strings are the client's to lengthen; past the web server's limit on
            # the request line (gunicorn: 4094 bytes) it answers itself, before Lavka.
            responses.setdefault("414", {"description": str(URI_TOO_LONG)})
        for code, response in responses.items():
            if code in ERROR_RESPONSES and "content" not in response:
                # declared by a view with its own description only: the body is the frame
                framed = self._get_response_for_code(ERROR_RESPONSES[code], code)
                response["content"] = framed["content"]
        return operation

    def _error_codes(self, operation: dict[str, Any]) -> list[str]:
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p["in"] == "query"}
        looks_up = any(p["in"] == "path" for p in parameters)
        paginated = "page" in query and self._get_paginator() is not None
        codes = []
        if "requestBody" in operation or query:  # a repeated parameter, say
            codes.append("400")
        if self.view.get_authenticators():
            codes.append("401")
        anyone = all(isinstance(p, AllowAny) for p in self.view.get_permissions())
        if not anyone or self.method in WRITE_METHODS:
            codes.append("403")
        if looks_up or paginated:
            codes.append("404")
        if "requestBody" in operation:
            codes.append("415")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        if isinstance(field, serializers.SlugField) and field.allow_unicode:
            # Python's \w is Unicode, a JSON Schema pattern's is ASCII: say no more than true.
            for variant in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
                if variant.get("pattern") == "^[-\\w]+$":
                    del variant["pattern"]

    def _map_serializer_field(
        self, field: Any, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(field, serializers.CharField) or schema.get("type") != "string":
            return schema
        model_field = _model_field(field)
        if direction == "request" and not field.read_only:
            _add_text_rules(schema, field)
            unique = _uniqueness(model_field) if model_field is not None else None
            if unique:
                described = schema.get("description", "")
                schema["description"] = f"{described} {unique}".strip()
        elif "format" in schema and model_field is not None and model_field.blank:
            # Read-only fields lose `allow_blank`; the model says whether "" is stored.
            _allow_empty(schema)
        return schema


BLANK = {"type": "string", "maxLength": 0}


def blank_is_any_of(result: Any, generator: Any, request: Any, public: Any) -> Any:
    """Postprocessing hook: "this, or blank" is `anyOf`, not drf-spectacular's `oneOf`.

    An empty string can match both alternatives (a text without NUL, say), and `oneOf`
    then refuses it, so a client that follows the schema would never send a blank the
    server takes (Schemathesis: schema-violating request accepted)."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if BLANK in node.get("oneOf", []):
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


def _add_text_rules(schema: dict[str, Any], field: serializers.CharField) -> None:
    """What DRF's CharField refuses: NUL always; blank (after trimming) unless allowed;
    control characters where a text validator of lavka/core/validators.py says so."""
    if "format" in schema:  # a format (email, uri) already refuses NUL and blanks
        return
    if any(isinstance(v, HeaderTextValidator) for v in field.validators):
        rules = (ONE_LINE, ONE_LINE_NOT_BLANK, f"^[^{_CONTROL}]*$")
    elif any(isinstance(v, MultilineTextValidator) for v in field.validators):
        rules = (MULTILINE, MULTILINE_NOT_BLANK, f"^[^{_CONTROL_BUT_LINES}]*$")
    else:
        rules = (NO_NUL, NOT_BLANK, NO_NUL)
    blank, not_blank, untrimmed = rules
    if field.allow_blank:
        rule = blank if field.trim_whitespace else untrimmed
    else:
        rule = not_blank if field.trim_whitespace else untrimmed
        schema["minLength"] = max(schema.get("minLength", 0), 1)
    if "pattern" in schema:
        schema.setdefault("allOf", []).append({"pattern": rule})
    else:
        schema["pattern"] = rule


def _allow_empty(schema: dict[str, Any]) -> None:
    outer = {"readOnly", "writeOnly", "nullable", "deprecated", "description", "title"}
    inner = {key: schema.pop(key) for key in list(schema) if key not in outer}
    schema["anyOf"] = [inner, BLANK]


def _model_field(field: serializers.Field[Any, Any, Any, Any]) -> models.Field[Any, Any] | None:
    """The model field a ModelSerializer's field reads, if it reads one directly."""
    meta = getattr(field.parent, "Meta", None)
    model = getattr(meta, "model", None)
    if model is None or not field.source or "." in field.source or field.source == "*":
        return None
    try:
        found = model._meta.get_field(field.source)
    except Exception:  # a property or a method, not a column
        return None
    return found if isinstance(found, models.Field) else None


def _uniqueness(model_field: models.Field[Any, Any]) -> str | None:
    """How a constraint makes the field's value unique, in words; None if it does not."""
    model = model_field.model
    if model_field.unique:
        return str(_("Unique."))
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint) or constraint.condition:
            continue
        names = list(constraint.fields)
        ignoring_case = False
        for expression in constraint.expressions:
            if isinstance(expression, Lower) and expression.source_expressions:
                expression = expression.source_expressions[0]
                ignoring_case |= getattr(expression, "name", "") == model_field.name
            names.append(getattr(expression, "name", ""))
        if model_field.name not in names:
            continue
        others = [name for name in names if name != model_field.name]
        if "owner" in others:
            rule = _("Unique among your %(things)s") % {"things": model._meta.verbose_name_plural}
        elif others:
            rule = _("Unique per %(fields)s") % {"fields": ", ".join(others)}
        else:
            rule = str(_("Unique"))
        return f"{rule}{_(', ignoring case') if ignoring_case else ''}."
    return None
