"""The one HTTP client Lavka uses to talk JSON to other systems (accounting, cash
registers, analysis services).

It does one call and says what went wrong in terms the caller can act on:

- `TransientHttpError`: 429 (with the server's Retry-After), 408, 5xx, a timeout, a
  refused or dropped connection, an answer cut short or not JSON. Trying later may help.
- `RejectedCredentials`: 401 or 403. The token is wrong or was revoked; retrying will not
  help, the owner has to act.
- `BadAnswer`: any other 4xx, a redirect, or (raised by adapters through `bad_answer`) an
  answer of the wrong shape. Shown to the owner, not retried blindly.
- `RefusedAddress` (a `BadAnswer`): the caller's `allow_address` refused an address the
  host resolved to, so nothing was sent.

A caller that calls URLs typed by users passes `allow_address`: each new connection then
resolves the host once, refuses it unless every address passes, and connects to those
checked addresses, so a DNS answer that changes after a check (rebinding) cannot steer
the call elsewhere. The Host header and the TLS server name and certificate check stay
those of the URL's host name; redirects are never followed.

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
import http.cookiejar
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

import requests
import urllib3
import urllib3.connection
import urllib3.connectionpool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

# Whether a connection may go to an address (an IP as text, IPv6 perhaps with a %zone).
AddressCheck = Callable[[str], bool]

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
_DELAY_SECONDS = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,9})?")


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


class RefusedAddress(BadAnswer):
    """The host resolved to an address the caller's `allow_address` refuses (a private
    network, say); nothing was sent. `address` is the first refused one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str = "",
        excerpt: str = "",
        address: str = "",
    ) -> None:
        super().__init__(message, status=status, url=url, excerpt=excerpt)
        self.address = address


def _restore_error(cls: type[HttpError], message: str, state: dict[str, Any]) -> HttpError:
    error = cls(message)
    error.__dict__.update(state)
    return error


def bad_answer(message: str, *, url: str = "", excerpt: str = "") -> BadAnswer:
    """The error an adapter raises for an answer it cannot read (a missing field, a wrong
    type): the same kind the client raises for a refusal, so the sync code handles both."""
    return BadAnswer(message, url=url, excerpt=excerpt)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header as seconds to wait, or None when it is absent or unreadable.

    The one reading of the header in Lavka (the HTTP client's errors and the payment
    providers' both use it). RFC 9110 allows whole seconds or an HTTP date; a decimal
    fraction ("2.5") is taken too, anything else (a sign, "inf", other scripts' digits)
    is no wish at all. A date in the past is no wait; long waits are cut to a day."""
    if not value:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
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


class _PeerRefused(NewConnectionError):
    """Raised inside urllib3 when the address check refuses the host; the client turns
    it into RefusedAddress."""

    def __init__(self, conn: Any, host: str, address: str) -> None:
        self.why = f"{host} resolves to {address}, which is not allowed"
        self.address = address
        super().__init__(conn, self.why)


class _CheckedPeer:
    """A urllib3 connection that resolves its host once, refuses it unless every
    address passes `allow_address`, and connects to one of those very addresses; the
    host name stays the connection's `host`, so the Host header, the TLS server name
    and the certificate check are the URL's."""

    allow_address: AddressCheck
    host: str
    port: int
    timeout: Any
    source_address: tuple[str, int] | None
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        host = self.host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, self.port, allowed_gai_family(), socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise NameResolutionError(host, self, error) from error  # type: ignore[arg-type]
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        refused = [address for address in addresses if not self.allow_address(address)]
        if refused or not addresses:
            raise _PeerRefused(self, host, refused[0] if refused else "nothing")
        last_error: OSError | None = None
        for address in addresses:
            try:
                # An IP literal: create_connection does no DNS lookup of its own.
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as error:
                last_error = error
        if isinstance(last_error, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {host} timed out. (connect timeout={self.timeout})"
            ) from last_error
        raise NewConnectionError(
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {last_error}",
        ) from last_error


class _CheckedAdapter(requests.adapters.HTTPAdapter):
    """Pools whose connections check their peer's address (see _CheckedPeer)."""

    def __init__(self, allow_address: AddressCheck) -> None:
        check = {"allow_address": staticmethod(allow_address)}
        plain = type(
            "CheckedHTTPConnection", (_CheckedPeer, urllib3.connection.HTTPConnection), check
        )
        tls = type(
            "CheckedHTTPSConnection", (_CheckedPeer, urllib3.connection.HTTPSConnection), check
        )
        self._pool_classes = {
            "http": type(
                "CheckedHTTPConnectionPool",
                (urllib3.connectionpool.HTTPConnectionPool,),
                {"ConnectionCls": plain},
            ),
            "https": type(
                "CheckedHTTPSConnectionPool",
                (urllib3.connectionpool.HTTPSConnectionPool,),
                {"ConnectionCls": tls},
            ),
        }
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


class _Sessions(threading.local):
    """The open connections to each origin, per process and thread: a new client (an
    adapter made per task) reuses them instead of connecting again. A session made
    before a fork is left to the parent: its sockets must not be shared. Connections
    checked by an `allow_address` are kept apart from the others and per check."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.by_origin: dict[tuple[str, str, AddressCheck | None], requests.Session] = {}

    def get(
        self, origin: tuple[str, str], allow_address: AddressCheck | None = None
    ) -> requests.Session:
        if self.pid != os.getpid():
            self.pid, self.by_origin = os.getpid(), {}
        key = (*origin, allow_address)
        session = self.by_origin.get(key)
        if session is None:
            session = self.by_origin[key] = _new_session(origin, allow_address)
        return session

    def close_all(self) -> None:
        for session in self.by_origin.values():
            session.close()
        self.by_origin = {}


_sessions = _Sessions()


def _new_session(
    origin: tuple[str, str], allow_address: AddressCheck | None = None
) -> requests.Session:
    """A session holding connections only: no cookies (one client's must never reach
    another's calls), no credentials (each client sends its own headers per call). The
    environment's proxy and CA bundle are read once here, not on every call. A session
    that checks addresses connects directly: through a proxy, the proxy would resolve
    the name and the check would see only the proxy's address."""
    session = requests.Session()
    session.trust_env = False
    if allow_address is None:
        session.proxies = requests.utils.get_environ_proxies(f"{origin[0]}://{origin[1]}/")
    else:
        session.proxies = {}
        adapter = _CheckedAdapter(allow_address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    session.verify = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    )
    session.auth = _NoImplicitAuth()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    session.headers.update({"Accept": "application/json", "User-Agent": "Lavka"})
    return session


def close_shared_sessions() -> None:
    """Close this thread's kept connections (tests, or a process about to exit)."""
    _sessions.close_all()


class HttpClient:
    """JSON over HTTP to one system, with the caller's credential headers.

    Made per call site (an adapter per connection). Connections are kept per process,
    thread and origin (scheme, host, port), not per client: consecutive calls, and the
    clients of the next tasks in a worker, reuse them; the credential headers go with
    each call, never into the shared session, and the session keeps no cookies.
    `timeout` bounds connecting, each wait for the server, and reading the whole answer,
    so a call gives up within twice `timeout` at worst, however slowly a server trickles.
    `calls` counts the HTTP requests made, failed ones included. `max_body_bytes` is the
    largest answer read (MAX_BODY_BYTES unless given): a caller that keeps what it gets,
    from a server it does not trust, passes a smaller one. `allow_address`, when given,
    says which addresses a connection may go to (see the module's docstring); a host
    with any other address fails with RefusedAddress. Not for sharing between threads:
    make one per thread.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str],
        system: str,
        timeout: float = 20.0,
        max_body_bytes: int | None = None,
        allow_address: AddressCheck | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self.allow_address = allow_address
        self.calls = 0
        self._origin = _origin(self.base_url)
        self._secrets = _secret_values(headers)
        self._headers = dict(headers)

    def __repr__(self) -> str:
        return f"HttpClient(system={self.system!r}, base_url={masked_url(self.base_url)!r})"

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=params)

    # A body is anything json.dumps takes: convert Decimal and datetime first, as the
    # vendor wants them (a number or a string).
    def post_json(self, path: str, body: Any) -> Any:
        return self._call("POST", path, body=body)

    def post_file(
        self, path: str, *, field: str, name: str, content: bytes, content_type: str
    ) -> Any:
        """POST one file as a multipart form field (an analysis service's upload)."""
        return self._call("POST", path, files={field: (name, content, content_type)})

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
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        files: dict[str, Any] | None = None,
    ) -> Any:
        url = self.url_for(path)
        if params:
            url = _with_params(url, params)
        shown = masked_url(url)
        secrets = self._secrets | _secret_param_values(url)
        what = f"{self.system}: {method} {shown}"
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        self.calls += 1
        started = time.monotonic()
        failure: HttpError | None = None
        try:
            response = _sessions.get(self._origin, self.allow_address).request(
                method,
                url,
                data=data,
                files=files,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            try:
                content = _read_within(response, started + self.timeout, self._body_limit())
            finally:
                response.close()
        except (requests.RequestException, _TooLarge) as error:
            failure = self._not_answered(error, what, shown, secrets)
        if failure is not None:
            # Raised here, not in the handler, so it carries no __context__: requests'
            # own exception holds the URL with its query string, secrets and all.
            self._log_failure(what, None, started, failure.excerpt)
            raise failure

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
        except RecursionError:
            # Complete and deterministic, so not worth another try: JSON nested deeper
            # than the parser's stack, sent to make the caller fail in an unexpected way.
            self._log_failure(what, status, started, excerpt)
            raise BadAnswer(
                f"{what} answered {status} with JSON nested too deeply",
                url=shown,
                excerpt="JSON nested too deeply",
            ) from None
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

    def _body_limit(self) -> int:
        return MAX_BODY_BYTES if self.max_body_bytes is None else self.max_body_bytes

    def _not_answered(
        self, error: Exception, what: str, url: str, secrets: frozenset[str]
    ) -> HttpError:
        reason = _scrub(f"{type(error).__name__}: {error}", secrets)[:EXCERPT_CHARS]
        if isinstance(error, requests.Timeout):
            return TransientHttpError(
                f"{what} timed out after {self.timeout:g} s", url=url, excerpt="timed out"
            )
        if isinstance(error, _TooLarge):
            too_large = f"more than {self._body_limit()} bytes"
            return BadAnswer(f"{what} answered {too_large}", url=url, excerpt=too_large)
        refused = _peer_refused(error)
        if refused is not None:
            return RefusedAddress(
                f"{what} refused: {refused.why}",
                url=url,
                excerpt=f"refused address {refused.address}",
                address=refused.address,
            )
        if isinstance(error, requests.exceptions.ChunkedEncodingError):
            return TransientHttpError(
                f"{what} failed: the answer was cut short", url=url, excerpt=reason
            )
        if isinstance(error, requests.ConnectionError):
            return TransientHttpError(f"{what} failed: connection error", url=url, excerpt=reason)
        return BadAnswer(f"{what} could not be sent", url=url, excerpt=reason)

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


def _peer_refused(error: BaseException) -> _PeerRefused | None:
    """The address check's refusal inside requests' ConnectionError, if that is what it
    is (requests wraps urllib3's MaxRetryError, which holds it as `reason`)."""
    for wrapped in error.args[:1]:
        reason = getattr(wrapped, "reason", None)
        if isinstance(reason, _PeerRefused):
            return reason
    return None


def _read_within(response: requests.Response, deadline: float, limit: int) -> bytes:
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
            if size > limit:
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
