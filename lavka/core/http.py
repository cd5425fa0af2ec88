"""The one HTTP client Lavka uses to talk JSON to other systems (accounting, cash
registers, analysis services).

It does one call and says what went wrong in terms the caller can act on:

- `TransientHttpError`: 429 (with the server's Retry-After), 408, 5xx, a timeout, a
  refused or dropped connection, an answer cut short or not JSON. Trying later may help.
- `RejectedCredentials`: 401 or 403. The token is wrong or was revoked; retrying will not
  help, the owner has to act.
- `BadAnswer`: any other 4xx, a redirect, or (raised by adapters through `bad_answer`) an
  answer of the wrong shape. Shown to the owner, not retried blindly.

There are no retries in here: the kernel's work rows (`lavka.core.work`) carry the retry
state, so a failure is visible and retryable from the UI rather than slept on in a worker.

Every call is logged with the system's name, the method, the URL with secret-looking
query parameters masked, the status and the duration; failures add a bounded excerpt of
the answer. Headers are never logged, and the values of the caller's credential headers
are scrubbed from every excerpt and error message, in case a server echoes them back.

The module needs no Django, so the simulators' tests and the bench can use it as is.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import requests
import urllib3

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 500
# The part of an answer scrubbed of credentials before the excerpt is cut from it.
SCRUBBED_BYTES = 64 * 1024
# Retry-After is the server's wish; a day is the most a retry waits (as in core/work.py).
MAX_RETRY_AFTER_SECONDS = 86400.0
# An answer larger than this is not what a JSON API sends; reading stops there.
MAX_BODY_BYTES = 64 * 1024 * 1024

_SECRET_PARAM = re.compile(
    r"token|key|secret|passw|auth|signature|^sig$|credential|session", re.IGNORECASE
)
_NOT_SECRET_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "content-type", "user-agent"}
)
_MASK = "***"


class HttpError(Exception):
    """A call that did not give a usable answer. `url` has secrets masked; `excerpt` is at
    most EXCERPT_CHARS characters of the answer, with credentials scrubbed."""

    def __init__(
        self, message: str, *, status: int | None = None, url: str = "", excerpt: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url
        self.excerpt = excerpt[:EXCERPT_CHARS]

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r}, url={self.url!r})"

    def __reduce__(self) -> Any:
        # Keeps status, url, excerpt (and retry_after) across pickling, as Celery does.
        return _restore_error, (type(self), self.message, dict(self.__dict__))


class TransientHttpError(HttpError):
    """Trying again later may work. `retry_after` is the server's wish in seconds (capped
    at a day), or None when it expressed none."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str = "",
        excerpt: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, url=url, excerpt=excerpt)
        self.retry_after = retry_after


class RejectedCredentials(HttpError):
    """401 or 403: the token is wrong, revoked, or lacks the rights."""


class BadAnswer(HttpError):
    """The server refused what was sent (a 4xx other than 401/403/408/429), redirected, or
    answered something of the wrong shape."""


def _restore_error(cls: type[HttpError], message: str, state: dict[str, Any]) -> HttpError:
    error = cls(message)
    error.__dict__.update(state)
    return error


def bad_answer(message: str, *, url: str = "", excerpt: str = "") -> BadAnswer:
    """The error an adapter raises for an answer it cannot read (a missing field, a wrong
    type): the same kind the client raises for a refusal, so the sync code handles both."""
    return BadAnswer(message, url=url, excerpt=excerpt)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds to wait, or None when it
    is absent or unreadable. A date in the past is no wait; long waits are cut to a day."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def masked_url(url: str) -> str:
    """The URL as it may be logged: no user:password, secret-looking parameters masked."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(name, _MASK if _SECRET_PARAM.search(name) else value) for name, value in pairs],
            safe="*",
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class _NoImplicitAuth(requests.auth.AuthBase):
    """Keeps requests from replacing our Authorization header with ~/.netrc's."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class HttpClient:
    """JSON over HTTP to one system, with the caller's credential headers.

    Made per call site (an adapter per connection); it keeps one `requests.Session`, so
    consecutive calls reuse the connection. `timeout` bounds each call as a whole:
    connecting, waiting and reading the answer. `calls` counts the HTTP requests made,
    failed ones included.
    """

    def __init__(
        self, base_url: str, *, headers: dict[str, str], system: str, timeout: float = 20.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.timeout = timeout
        self.calls = 0
        self._origin = _origin(self.base_url)
        self._secrets = _secret_values(headers)
        self._session = requests.Session()
        self._session.auth = _NoImplicitAuth()
        self._session.headers.update({"Accept": "application/json", "User-Agent": "Lavka"})
        self._session.headers.update(headers)

    def __repr__(self) -> str:
        return f"HttpClient(system={self.system!r}, base_url={masked_url(self.base_url)!r})"

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def post_json(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body=body)

    def put_json(self, path: str, body: Any) -> Any:
        return self._call("PUT", path, body=body)

    def delete(self, path: str) -> Any:
        return self._call("DELETE", path)

    def url_for(self, path: str) -> str:
        """`path` under the base URL; an absolute URL (a vendor's "next page" link) is
        taken as is, but only on the base URL's own scheme, host and port, so the
        credentials never travel to another host."""
        if "://" in path:
            if _origin(path) != self._origin:
                raise bad_answer(
                    f"{self.system}: refusing to follow a link to another host",
                    url=masked_url(path),
                )
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        url = self.url_for(path)
        if params:
            url = _with_params(url, params)
        shown = masked_url(url)
        secrets = self._secrets | _secret_param_values(url)
        what = f"{self.system}: {method} {shown}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"} if data is not None else None
        self.calls += 1
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            try:
                content = _read_within(response, started + self.timeout)
            finally:
                response.close()
        except requests.Timeout:
            self._log_failure(what, None, started, "timed out")
            raise TransientHttpError(
                f"{what} timed out after {self.timeout:g} s", url=shown
            ) from None
        except _TooLarge:
            self._log_failure(what, None, started, "answer too large")
            raise BadAnswer(
                f"{what} answered more than {MAX_BODY_BYTES} bytes", url=shown
            ) from None
        except requests.exceptions.ChunkedEncodingError as error:
            reason = _scrub(f"{type(error).__name__}: {error}", secrets)[:EXCERPT_CHARS]
            self._log_failure(what, None, started, reason)
            raise TransientHttpError(
                f"{what} failed: the answer was cut short", url=shown, excerpt=reason
            ) from None
        except requests.ConnectionError as error:
            reason = _scrub(f"{type(error).__name__}: {error}", secrets)[:EXCERPT_CHARS]
            self._log_failure(what, None, started, reason)
            raise TransientHttpError(
                f"{what} failed: connection error", url=shown, excerpt=reason
            ) from None
        except requests.RequestException as error:
            reason = _scrub(f"{type(error).__name__}: {error}", secrets)[:EXCERPT_CHARS]
            self._log_failure(what, None, started, reason)
            raise BadAnswer(f"{what} could not be sent", url=shown, excerpt=reason) from None

        status = response.status_code
        head = content[:SCRUBBED_BYTES].decode("utf-8", "replace")
        excerpt = _scrub(head, secrets)[:EXCERPT_CHARS]
        if status >= 300:
            self._log_failure(what, status, started, excerpt)
            raise _status_error(what, status, shown, excerpt, response.headers)
        if not content.strip():
            self._log_success(what, status, started)
            return None
        try:
            answer = json.loads(content)
        except ValueError:  # UnicodeDecodeError is one too
            self._log_failure(what, status, started, excerpt)
            raise TransientHttpError(
                f"{what} answered {status} with a body that is not JSON (cut short?)",
                status=status,
                url=shown,
                excerpt=excerpt,
            ) from None
        self._log_success(what, status, started)
        return answer

    def _log_success(self, what: str, status: int, started: float) -> None:
        logger.info("%s %s %d ms", what, status, _elapsed_ms(started))

    def _log_failure(self, what: str, status: int | None, started: float, excerpt: str) -> None:
        logger.warning(
            "%s %s %d ms: %s", what, status or "-", _elapsed_ms(started), excerpt or "(empty)"
        )


def _status_error(what: str, status: int, url: str, excerpt: str, headers: Any) -> HttpError:
    if status in (401, 403):
        return RejectedCredentials(
            f"{what} answered {status}: credentials rejected",
            status=status,
            url=url,
            excerpt=excerpt,
        )
    if status in (408, 429) or status >= 500:
        return TransientHttpError(
            f"{what} answered {status}",
            status=status,
            url=url,
            excerpt=excerpt,
            retry_after=retry_after_seconds(headers.get("Retry-After")),
        )
    if status < 400:
        location = masked_url(str(headers.get("Location", "")))
        return BadAnswer(
            f"{what} answered {status}, a redirect to {location or '?'}",
            status=status,
            url=url,
            excerpt=excerpt,
        )
    return BadAnswer(f"{what} answered {status}", status=status, url=url, excerpt=excerpt)


class _TooLarge(Exception):
    pass


def _read_within(response: requests.Response, deadline: float) -> bytes:
    """The whole body, failing as a timeout past `deadline`: requests' own timeout is per
    socket read, so a server trickling bytes could otherwise hold a worker for ever."""
    chunks = []
    size = 0
    try:
        while chunk := response.raw.read1(64 * 1024, decode_content=True):
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise requests.Timeout("reading the answer took too long")
            if size > MAX_BODY_BYTES:
                raise _TooLarge
    except urllib3.exceptions.ReadTimeoutError as error:
        raise requests.Timeout(str(error)) from None
    except urllib3.exceptions.ProtocolError as error:  # cut short, connection reset
        raise requests.exceptions.ChunkedEncodingError(str(error)) from None
    except urllib3.exceptions.DecodeError as error:
        raise requests.exceptions.ContentDecodingError(str(error)) from None
    return b"".join(chunks)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.rpartition("@")[2].lower()


def _with_params(url: str, params: dict[str, Any]) -> str:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    for name, value in params.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, _param_text(item)) for item in values)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(pairs), ""))


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _secret_values(headers: dict[str, str]) -> frozenset[str]:
    """The values of the caller's headers that are credentials, and the token part of
    `Scheme token` values, as strings to scrub from anything shown or logged."""
    values: set[str] = set()
    for name, value in headers.items():
        if name.lower() in _NOT_SECRET_HEADERS or not value:
            continue
        values.add(value)
        values.update(part for part in value.split() if len(part) >= 8)
    return frozenset(values)


def _secret_param_values(url: str) -> frozenset[str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return frozenset(value for name, value in pairs if value and _SECRET_PARAM.search(name))


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        for form in (secret, quote(secret, safe=""), quote_plus(secret)):
            text = text.replace(form, _MASK)
    return text


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
