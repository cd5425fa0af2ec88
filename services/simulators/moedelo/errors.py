# ruff: noqa: RUF001 - MoeDelo speaks Russian
"""MoeDelo's answers for refusals.

MoeDelo's public API runs on ASP.NET Web API, and its refusals look like that framework's:
``{"Message": ...}``, plus ``ModelState`` (field → list of messages) for a document that
fails validation. The exact texts are inferred; the simulator writes them in Russian, as
the service does.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        model_state: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.model_state = model_state
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"Message": self.message}
        if self.model_state:
            body["ModelState"] = self.model_state
        return body


UNAUTHORIZED = "Authorization has been denied for this request."
INVALID = "The request is invalid."


def unauthorized() -> ApiError:
    return ApiError(401, UNAUTHORIZED)


def not_found(what: str, object_id: object) -> ApiError:
    return ApiError(404, f"{what} с Id {object_id} не найден(а)")


def no_route(method: str, path: str) -> ApiError:
    return ApiError(
        404, f"No HTTP resource was found that matches the request URI '{path}' ({method})."
    )


class Validation:
    """Collects field errors of one document, then raises them together as a 400."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(f"model.{field}", []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ApiError(400, INVALID, model_state=self.errors)
