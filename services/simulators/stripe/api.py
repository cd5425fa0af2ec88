"""The ``/v1`` API: key check, injected 429/500, idempotency, then the endpoint.

Order matters and follows Stripe: a bad key is a 401 before anything else; injected
faults stand for a load balancer that refused the call, so they are never stored for
idempotent replay (a retry with the same key then succeeds, as stripe-python expects);
parameter errors are not stored either ("results are only saved if an API endpoint
started executing"); a stored result is replayed byte for byte with
``Idempotent-Replayed: true``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import params as p
from .errors import StripeError, unrecognized_url
from .objects import new_id
from .store import Store
from .webhooks import Faults

MAX_IDEMPOTENCY_KEY = 255
_ID = r"([A-Za-z0-9_]{1,255})"


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StoredResult:
    fingerprint: str
    status: int
    body: bytes
    request_id: str


def _json(status: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj, indent=2).encode(), headers or {})


class Api:
    def __init__(self, store: Store, faults: Faults, api_key: str | None, api_version: str) -> None:
        self.store = store
        self.faults = faults
        self.api_key = api_key
        self.api_version = api_version
        self.idempotent: dict[tuple[str, str], StoredResult] = {}

    def handle(
        self, method: str, path: str, query: str, body: bytes, headers: Mapping[str, str]
    ) -> Response:
        request_id = new_id("req_", 14)
        response = self._handle(method, path, query, body, headers, request_id)
        response.headers.setdefault("Request-Id", request_id)
        response.headers["Stripe-Version"] = headers.get("Stripe-Version") or self.api_version
        return response

    def _handle(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        headers: Mapping[str, str],
        request_id: str,
    ) -> Response:
        try:
            key = self._authenticate(headers.get("Authorization"))
        except StripeError as error:
            return _json(error.status, error.body())
        with self.store.lock:
            injected = self._injected_fault()
            if injected is not None:
                retry = {"Stripe-Should-Retry": "true"} if injected.status >= 500 else {}
                return _json(injected.status, injected.body(), retry)
            idempotency_key = headers.get("Idempotency-Key") if method == "POST" else None
            try:
                if idempotency_key is not None and len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
                    raise StripeError(
                        400, f"Idempotency keys are at most {MAX_IDEMPOTENCY_KEY} characters."
                    )
                try:
                    text = (body if method == "POST" else query.encode()).decode("utf-8")
                except UnicodeDecodeError as error:
                    raise StripeError(400, "The request body is not valid UTF-8.") from error
                params = p.decode(text)
            except StripeError as error:
                return _json(error.status, error.body())
            fingerprint = json.dumps([method, path, params], sort_keys=True)
            if idempotency_key is not None:
                stored = self.idempotent.get((key, idempotency_key))
                if stored is not None:
                    if stored.fingerprint != fingerprint:
                        mismatch = StripeError(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with. Try using a key other than "
                            f"'{idempotency_key}' if you meant to execute a different request.",
                            type="idempotency_error",
                        )
                        return _json(mismatch.status, mismatch.body())
                    return Response(
                        stored.status,
                        stored.body,
                        {
                            "Idempotent-Replayed": "true",
                            "Original-Request": stored.request_id,
                            "Idempotency-Key": idempotency_key,
                        },
                    )
            request_ref = (request_id, idempotency_key)
            try:
                result = self._route(method, path, params, request_ref)
            except StripeError as error:
                return _json(error.status, error.body())
            response = _json(200, result)
            if idempotency_key is not None:
                self.idempotent[(key, idempotency_key)] = StoredResult(
                    fingerprint, response.status, response.body, request_id
                )
                response.headers["Idempotency-Key"] = idempotency_key
                response.headers["Original-Request"] = request_id
            return response

    def _authenticate(self, header: str | None) -> str:
        """``Bearer sk_test_…`` (or Basic with the key as user name, as curl -u sends it)."""
        if not header:
            raise StripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
            )
        scheme, _, value = header.partition(" ")
        key = value.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key, validate=True).decode().partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        elif scheme.lower() != "bearer":
            key = ""
        shown = f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"
        if not re.fullmatch(r"(sk|rk)_test_[A-Za-z0-9_]{1,200}", key):
            raise StripeError(
                401,
                f"Invalid API Key provided: {shown}. This Stripe simulator accepts "
                "test-mode secret keys (sk_test_…) only.",
            )
        if self.api_key is not None and key != self.api_key:
            raise StripeError(401, f"Invalid API Key provided: {shown}")
        return key

    def _injected_fault(self) -> StripeError | None:
        if self.faults.rate_limit_requests > 0:
            self.faults.rate_limit_requests -= 1
            return StripeError(
                429,
                "Request rate limit exceeded. (Injected by the Stripe simulator.)",
                code="rate_limit",
            )
        if self.faults.error_requests > 0:
            self.faults.error_requests -= 1
            return StripeError(
                500,
                "An unknown error occurred. (Injected by the Stripe simulator.)",
                type="api_error",
            )
        return None

    def _route(
        self, method: str, path: str, params: p.Params, request: tuple[str, str | None]
    ) -> dict[str, Any]:
        store = self.store
        store.expire_due()
        if path == "/v1/checkout/sessions" and method == "POST":
            _check_expand(p.get_expand(params))
            session = store.create_session(params)
            return self._session_json(session.id, p.get_expand(params))
        if (match := re.fullmatch(rf"/v1/checkout/sessions/{_ID}", path)) and method == "GET":
            p.check_known(params, {"expand"})
            return self._session_json(match.group(1), p.get_expand(params))
        match = re.fullmatch(rf"/v1/checkout/sessions/{_ID}/expire", path)
        if match and method == "POST":
            p.check_known(params, {"expand"})
            store.expire_session(match.group(1), request)
            return self._session_json(match.group(1), p.get_expand(params))
        match = re.fullmatch(rf"/v1/checkout/sessions/{_ID}/line_items", path)
        if match and method == "GET":
            p.check_known(params, {"expand", "limit", "starting_after", "ending_before"})
            return store.session(match.group(1)).line_items_json()
        if (match := re.fullmatch(rf"/v1/payment_intents/{_ID}", path)) and method == "GET":
            p.check_known(params, {"expand", "client_secret"})
            return store.payment_intent(match.group(1)).to_json()
        if path == "/v1/refunds" and method == "POST":
            return store.create_refund(params, request).to_json()
        if (match := re.fullmatch(rf"/v1/refunds/{_ID}", path)) and method == "GET":
            p.check_known(params, {"expand"})
            return store.refund(match.group(1)).to_json()
        if (match := re.fullmatch(rf"/v1/events/{_ID}", path)) and method == "GET":
            p.check_known(params, {"expand"})
            record = store.dispatcher.events.get(match.group(1))
            if record is None:
                raise StripeError(
                    404, f"No such event: '{match.group(1)}'", param="id", code="resource_missing"
                )
            return record.body
        raise unrecognized_url(method, path)

    def _session_json(self, session_id: str, expand: list[str]) -> dict[str, Any]:
        _check_expand(expand)
        session = self.store.session(session_id)
        body = session.to_json()
        if "line_items" in expand:
            body["line_items"] = session.line_items_json()
        if "payment_intent" in expand and session.payment_intent is not None:
            body["payment_intent"] = self.store.payment_intent(session.payment_intent).to_json()
        return body


def _check_expand(expand: list[str]) -> None:
    for name in expand:
        if name not in ("line_items", "payment_intent"):
            raise StripeError(
                400,
                f"This property cannot be expanded ({name[:100]}). The simulator expands "
                "line_items and payment_intent.",
                param="expand",
            )
