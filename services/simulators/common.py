"""The plumbing every simulator shares: a threaded HTTP server that serves on a thread
or in the foreground, the request handler's common half (logging, body reading with a
size limit, sending an answer), and the command line's environment defaults and
foreground run.

What a simulator answers (its API, its errors, its ``/_control``) stays in its package.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, ClassVar, Generic, Self, TypeVar, overload

S = TypeVar("S")


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a killed worker's kept-alive connection reset) is
        not the server's error: no traceback for it."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Serving:
    """A simulator's server: ``listen`` binds it (the port is known at once, 0 picks a
    free one), ``start()`` serves on a daemon thread (tests, the bench),
    ``serve_forever()`` in the foreground (the command line); ``stop()`` closes it."""

    thread_name: ClassVar[str] = "simulator"
    server_class: ClassVar[type[ThreadingHTTPServer]] = QuietServer
    httpd: ThreadingHTTPServer
    port: int
    url: str

    def listen(self, host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = self.server_class((host, port), handler)
        self.httpd.daemon_threads = True
        self.httpd.simulator = self  # type: ignore[attr-defined]
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class BodyError(Exception):
    """A request body the server will not read; the connection is closed after the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Handler(BaseHTTPRequestHandler, Generic[S]):
    """GET and POST go to ``dispatch(method)``; a subclass adds ``do_PUT`` or ``do_DELETE``
    where its API has them (any other method is answered 501)."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that announces a body and never sends it frees its thread
    logger: ClassVar[logging.Logger]
    tcp_nodelay: ClassVar[bool] = True

    def setup(self) -> None:
        super().setup()
        if self.tcp_nodelay:
            # Headers and body go out as two writes; without this, Nagle's algorithm and
            # the client's delayed ACK hold each answer ~40 ms on Linux.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def simulator(self) -> S:
        return self.server.simulator  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        self.logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def dispatch(self, method: str) -> None:
        raise NotImplementedError

    def log_unexpected(self, method: str) -> None:
        """Called in an ``except`` block: the traceback of an error the simulator did not
        mean; the connection closes after the answer."""
        self.logger.exception("unexpected error for %s %s", method, self.path[:200])
        self.close_connection = True

    def read_body(self, limit: int) -> bytes:
        """The body by its Content-Length (none: empty); raises `BodyError` (and closes
        the connection after the answer) for a chunked body, an invalid length or one
        over `limit` bytes."""
        length = self.headers.get("Content-Length")
        try:
            if self.headers.get("Transfer-Encoding"):
                raise BodyError(400, "Send a Content-Length; chunked bodies are not accepted.")
            if not length:
                return b""
            if not length.isdigit():
                raise BodyError(400, "Invalid Content-Length.")
            if int(length) > limit:
                raise BodyError(413, f"Request body too large (at most {limit} bytes).")
        except BodyError:
            self.close_connection = True
            raise
        return self.rfile.read(int(length))

    def send_answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Env:
    """Defaults of command-line flags from ``<PREFIX><FLAG>`` environment variables
    (``--demo-token`` reads ``PREFIX_DEMO_TOKEN``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @overload
    def __call__(self, name: str) -> str | None: ...

    @overload
    def __call__(self, name: str, default: str) -> str: ...

    def __call__(self, name: str, default: str | None = None) -> str | None:
        return os.environ.get(self.prefix + name.upper().replace("-", "_"), default)

    def flag(self, name: str) -> bool:
        return (self(name) or "").lower() in ("1", "true", "yes", "on")

    def integer(self, name: str, default: int) -> int:
        """The variable as a whole number; unset or empty: `default`."""
        return int(self(name) or default)

    def number(self, name: str, default: float) -> float:
        return float(self(name) or default)


def argument_parser(package: str, description: str, env: Env, port: int) -> argparse.ArgumentParser:
    """``python -m services.simulators.<package>``'s parser with ``--host`` and ``--port``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m services.simulators.{package}", description=description
    )
    parser.add_argument("--host", default=env("host", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env.integer("port", port))
    return parser


def log_to_stderr(name: str, verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format=f"{name} %(levelname)s %(message)s",
    )


def serve(simulator: Serving, banner: str) -> int:
    """Serve in the foreground until Ctrl-C or SIGTERM (``make run`` stops it so), after
    printing `banner` (the line a caller waits for); then stop. The exit status: 0."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(banner, flush=True)
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0
