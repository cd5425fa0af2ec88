"""A request id on every log line, carried from the web request into the tasks it starts.

The id comes from a trusted proxy's X-Request-ID when it looks sane, otherwise a new one
is made; it is echoed in the response so a user's report can be matched to the logs.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_current: ContextVar[str] = ContextVar("lavka_request_id", default="-")
_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current() -> str:
    return _current.get()


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")
        rid = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        # Not reset on the way out: Django logs 4xx/5xx responses after the middleware
        # chain returns. `request_finished` clears it once the response is done.
        _current.set(rid)
        request.request_id = rid  # type: ignore[attr-defined]
        response = self.get_response(request)
        response[HEADER] = rid
        return response


def _clear(**kwargs: Any) -> None:
    _current.set("-")


def install() -> None:
    """Give every log record a `request_id`, whichever handler formats it."""
    from django.core.signals import request_finished

    request_finished.connect(_clear, weak=False, dispatch_uid="lavka-request-id-clear")
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_lavka_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _current.get()
        return record

    factory._lavka_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True


def _attach_to_message(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None and _current.get() != "-":
        headers.setdefault("lavka_request_id", _current.get())


def _adopt_in_task(task: Any = None, **kwargs: Any) -> None:
    rid = getattr(getattr(task, "request", None), "lavka_request_id", None)
    _current.set(rid or f"task-{getattr(task.request, 'id', '') or uuid.uuid4().hex}")


def connect_celery_signals() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(_attach_to_message, weak=False)
    task_prerun.connect(_adopt_in_task, weak=False)
    task_postrun.connect(_clear, weak=False)
