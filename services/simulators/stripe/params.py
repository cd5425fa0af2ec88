"""Stripe's form encoding (``line_items[0][price_data][unit_amount]=500``) into nested values.

stripe-python sends v1 parameters as ``application/x-www-form-urlencoded`` with bracket
keys and indexed arrays, GET parameters the same way in the query string. Values stay
strings here; the endpoints read them with the typed helpers below, which name the full
bracket path in their errors the way Stripe does.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from .errors import StripeError, invalid, missing, unknown

MAX_PAIRS = 2000
MAX_DEPTH = 6
MAX_INDEX = 999
MAX_STRING = 5000

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INDEX = re.compile(r"^[0-9]{1,6}$")

Params = dict[str, Any]


def decode(raw: str) -> Params:
    """Form or query text into nested dicts and lists; malformed keys are a 400."""
    try:
        pairs = parse_qsl(
            raw, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_PAIRS
        )
    except ValueError as error:
        raise StripeError(400, f"Too many parameters (at most {MAX_PAIRS}).") from error
    root: dict[str, Any] = {}
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise StripeError(400, "Parameters may not contain NUL characters.", param=key)
        _insert(root, key, value)
    result = _finish(root, "")
    assert isinstance(result, dict)
    return result


def _insert(root: dict[str, Any], key: str, value: str) -> None:
    match = _KEY.match(key)
    if match is None:
        raise StripeError(400, f"Invalid parameter name: {key[:100]}", param=key[:100])
    segments = [match.group(1), *_SEGMENT.findall(match.group(2))]
    if len(segments) > MAX_DEPTH:
        raise StripeError(400, f"Parameter nested too deeply: {key[:100]}", param=key[:100])
    node: dict[str, Any] = root
    for position, segment in enumerate(segments):
        if segment == "":
            segment = str(len(node))  # `a[]=x` appends, as Rails-style encoders mean it
        last = position == len(segments) - 1
        if last:
            if isinstance(node.get(segment), dict):
                raise invalid(key, f"Invalid hash: {key} was given both as a value and as a hash")
            node[segment] = value
        else:
            child = node.setdefault(segment, {})
            if not isinstance(child, dict):
                raise invalid(key, f"Invalid hash: {key} was given both as a value and as a hash")
            node = child


def _finish(node: Any, path: str) -> Any:
    """Dicts keyed 0..n become lists, as stripe-python encodes lists with indexes."""
    if not isinstance(node, dict):
        return node
    finished = {
        key: _finish(value, f"{path}[{key}]" if path else key) for key, value in node.items()
    }
    if finished and all(_INDEX.match(key) for key in finished):
        ordered = sorted(finished.items(), key=lambda pair: int(pair[0]))
        if int(ordered[-1][0]) > MAX_INDEX:
            raise invalid(path, f"Too many items in {path} (at most {MAX_INDEX + 1}).")
        return [value for _, value in ordered]
    return finished


def check_known(params: Params, allowed: set[str], prefix: str = "") -> None:
    for key in params:
        if key not in allowed:
            raise unknown(f"{prefix}[{key}]" if prefix else key)


def get_str(
    params: Params, key: str, path: str, *, required: bool = False, max_length: int = MAX_STRING
) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise missing(path)
        return None
    if not isinstance(value, str):
        raise invalid(path, f"Invalid string: {path} must be a string, not a hash or array.")
    if len(value) > max_length:
        raise invalid(path, f"Invalid string: {path} must be at most {max_length} characters long.")
    return value


def get_int(
    params: Params,
    key: str,
    path: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    text = get_str(params, key, path, required=required, max_length=30)
    if text is None:
        return None
    if not re.fullmatch(r"-?[0-9]+", text):
        raise invalid(path, f"Invalid integer: {text}", code="parameter_invalid_integer")
    number = int(text)
    if minimum is not None and number < minimum:
        raise invalid(
            path,
            f"Invalid integer: {path} must be greater than or equal to {minimum}.",
            code="parameter_invalid_integer",
        )
    if maximum is not None and number > maximum:
        raise invalid(
            path,
            f"Invalid integer: {path} must be less than or equal to {maximum}.",
            code="parameter_invalid_integer",
        )
    return number


def get_decimal(params: Params, key: str, path: str) -> Decimal | None:
    text = get_str(params, key, path, max_length=40)
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation as error:
        raise invalid(path, f"Invalid decimal: {text}", code="parameter_invalid_string") from error
    if not number.is_finite() or number < 0 or number.as_tuple().exponent < -12:  # type: ignore[operator]
        raise invalid(
            path, f"Invalid decimal: {text} (a non-negative number with at most 12 decimals)."
        )
    return number


def get_dict(params: Params, key: str, path: str, *, required: bool = False) -> Params | None:
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise missing(path)
        return None
    if not isinstance(value, dict):
        raise invalid(path, f"Invalid object: {path} must be a hash.")
    return value


def get_list(params: Params, key: str, path: str, *, required: bool = False) -> list[Any] | None:
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise missing(path)
        return None
    if not isinstance(value, list):
        raise invalid(path, f"Invalid array: {path} must be an array.")
    return value


def get_metadata(params: Params, key: str = "metadata", path: str = "metadata") -> dict[str, str]:
    """Stripe's limits: 50 keys, keys up to 40 characters, values up to 500; '' drops a key."""
    raw = get_dict(params, key, path)
    if raw is None:
        return {}
    if len(raw) > 50:
        raise invalid(path, "Invalid metadata: at most 50 keys are allowed.")
    metadata: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(value, str):
            raise invalid(f"{path}[{name}]", "Invalid metadata: values must be strings.")
        if len(name) > 40:
            raise invalid(
                f"{path}[{name[:40]}]", "Invalid metadata: keys are at most 40 characters."
            )
        if len(value) > 500:
            raise invalid(f"{path}[{name}]", "Invalid metadata: values are at most 500 characters.")
        if value != "":
            metadata[name] = value
    return metadata


def get_expand(params: Params) -> list[str]:
    raw = params.get("expand")
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise invalid("expand", "Invalid array: expand must be an array of strings.")
    return list(raw)
