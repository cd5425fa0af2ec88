"""Stripe's error envelope, so stripe-python raises the same exception classes it would live."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An API error answered as ``{"error": {...}}`` with Stripe's HTTP status.

    stripe-python picks its exception class from the status and ``type``: 400/404 with
    ``invalid_request_error`` → InvalidRequestError, ``idempotency_error`` →
    IdempotencyError, 401 → AuthenticationError, 429 → RateLimitError, 5xx → APIError.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        return {"error": error}


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def unknown(param: str) -> StripeError:
    return StripeError(
        400,
        f"Received unknown parameter: {param}",
        param=param,
        code="parameter_unknown",
    )


def invalid(param: str, message: str, code: str = "parameter_invalid_string") -> StripeError:
    return StripeError(400, message, param=param, code=code)


def no_such(kind: str, object_id: str, param: str) -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", param=param, code="resource_missing")


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). This Stripe simulator implements "
        "Checkout Sessions, PaymentIntents (read), Refunds and Events (read).",
    )
