"""The one HTTP client, against a real HTTP server on loopback started by each test."""

from __future__ import annotations

import json
import logging
import pickle
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lavka.core import http
from lavka.core.http import (
    EXCERPT_CHARS,
    MAX_RETRY_AFTER_SECONDS,
    BadAnswer,
    HttpClient,
    HttpError,
    RejectedCredentials,
    TransientHttpError,
    bad_answer,
    masked_url,
    retry_after_seconds,
)

TOKEN = "tok-3f9a1c77e2b54d0e8a6b"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_length: int | None = None  # a larger one than the body: the answer is cut short
    trickle: float = 0.0  # seconds between bytes


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class StandIn:
    """Answers `answers[path]` (or 200 {} ) and records what it received."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.received: list[Received] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                stand_in.received.append(
                    Received(self.command, self.path, dict(self.headers), self.rfile.read(length))
                )
                answer = stand_in.answers.get(self.path.split("?")[0], Answer())
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    length = answer.content_length or len(answer.body)
                    self.send_header("Content-Length", str(length))
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    if answer.trickle:
                        for byte in answer.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(answer.trickle)
                    else:
                        self.wfile.write(answer.body)
                    if answer.content_length:
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def client_for(stand_in: StandIn, **options: Any) -> HttpClient:
    return HttpClient(
        stand_in.url + "/api/v1",
        headers={"Authorization": f"Bearer {TOKEN}", "md-api-key": TOKEN},
        system="books",
        **options,
    )


def test_get_json_sends_credentials_and_params_and_reads_the_answer(stand_in: StandIn) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(body=json.dumps({"Items": ["a", "ж"]}).encode())
    client = client_for(stand_in)

    answer = client.get_json("/goods", params={"pageNo": 2, "archived": False, "skip": None})

    assert answer == {"Items": ["a", "ж"]}
    assert client.calls == 1
    request = stand_in.received[0]
    assert request.path == "/api/v1/goods?pageNo=2&archived=false"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["md-api-key"] == TOKEN
    assert request.headers["Accept"] == "application/json"


def test_post_put_delete_send_json_and_count_calls(stand_in: StandIn) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(status=201, body=b'{"Id": 7}')
    stand_in.answers["/api/v1/goods/7"] = Answer(status=204, body=b"")
    client = client_for(stand_in)

    created = client.post_json("goods", {"Name": "Чай", "Price": "12.50"})
    updated = client.put_json("goods/7", {"Name": "Tea"})
    deleted = client.delete("goods/7")

    assert created == {"Id": 7}
    assert updated is None and deleted is None
    assert client.calls == 3
    assert [r.method for r in stand_in.received] == ["POST", "PUT", "DELETE"]
    assert json.loads(stand_in.received[0].body) == {"Name": "Чай", "Price": "12.50"}
    assert stand_in.received[0].headers["Content-Type"] == "application/json"


def test_one_session_reuses_the_connection(stand_in: StandIn) -> None:
    client = client_for(stand_in)
    ports = set()
    original = socket.socket.connect

    def counting_connect(sock: socket.socket, address: Any) -> Any:
        ports.add(address)
        return original(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", counting_connect)
        for _ in range(3):
            client.get_json("goods")

    assert client.calls == 3
    assert len(ports) == 1


def test_429_is_transient_with_retry_after_in_seconds(stand_in: StandIn) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(
        status=429, body=b'{"error": "slow down"}', headers={"Retry-After": "17"}
    )
    client = client_for(stand_in)

    with pytest.raises(TransientHttpError) as caught:
        client.get_json("goods")

    assert caught.value.status == 429
    assert caught.value.retry_after == 17
    assert caught.value.excerpt == '{"error": "slow down"}'
    assert caught.value.url.endswith("/api/v1/goods")
    assert client.calls == 1


def test_429_retry_after_as_an_http_date(stand_in: StandIn) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    stand_in.answers["/api/v1/goods"] = Answer(
        status=429, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )

    with pytest.raises(TransientHttpError) as caught:
        client_for(stand_in).get_json("goods")

    assert caught.value.retry_after is not None
    assert 100 < caught.value.retry_after <= 120


def test_retry_after_in_seconds_and_as_an_http_date_capped_at_a_day() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(" 7 ") == 7
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds("999999999") == MAX_RETRY_AFTER_SECONDS
    assert retry_after_seconds("99999999999999999") == MAX_RETRY_AFTER_SECONDS
    in_90_seconds = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(in_90_seconds, now=now) == 90
    assert retry_after_seconds("Thu, 01 Jan 2099 00:00:00 GMT", now=now) == (
        MAX_RETRY_AFTER_SECONDS
    )
    assert retry_after_seconds("Wed, 31 Dec 2025 00:00:00 GMT", now=now) == 0


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "",
        "  ",
        "soon",
        "nan",
        "inf",
        "-5",
        "+5",
        "1e3",
        "1_000",
        "²",
        "٣",
        "1.",
        "Mon, 99 Foo 2024",
        "Wed, 21 Oct",
        "5\x00",
    ],
)
def test_an_unreadable_retry_after_is_no_wish(junk: str | None) -> None:
    assert retry_after_seconds(junk) is None


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_server_errors_are_transient(stand_in: StandIn, status: int) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(status=status, body=b"<html>oops</html>")

    with pytest.raises(TransientHttpError) as caught:
        client_for(stand_in).get_json("goods")

    assert caught.value.status == status
    assert caught.value.retry_after is None
    assert caught.value.excerpt == "<html>oops</html>"


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials(stand_in: StandIn, status: int) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(status=status, body=b'{"message": "bad key"}')

    with pytest.raises(RejectedCredentials) as caught:
        client_for(stand_in).get_json("goods")

    assert caught.value.status == status
    assert "bad key" in caught.value.excerpt


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_client_errors_are_bad_answers_with_the_excerpt(
    stand_in: StandIn, status: int
) -> None:
    body = json.dumps({"errors": ["Price must be positive"], "pad": "x" * 2000}).encode()
    stand_in.answers["/api/v1/goods"] = Answer(status=status, body=body)

    with pytest.raises(BadAnswer) as caught:
        client_for(stand_in).post_json("goods", {"Price": "-1"})

    assert caught.value.status == status
    assert "Price must be positive" in caught.value.excerpt
    assert len(caught.value.excerpt) == EXCERPT_CHARS
    assert not isinstance(caught.value, TransientHttpError)


def test_a_redirect_is_not_followed(stand_in: StandIn) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(
        status=302, body=b"", headers={"Location": "http://elsewhere.test/?token=abc"}
    )

    with pytest.raises(BadAnswer) as caught:
        client_for(stand_in).get_json("goods")

    assert "elsewhere.test" in str(caught.value)
    assert "abc" not in str(caught.value)
    assert len(stand_in.received) == 1


def test_a_slow_server_times_out(stand_in: StandIn) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(delay=4.0)
    client = client_for(stand_in, timeout=0.2)

    started = time.monotonic()
    with pytest.raises(TransientHttpError) as caught:
        client.get_json("goods")

    assert time.monotonic() - started < 3.0  # far below the delay, even on a busy machine
    assert "timed out" in str(caught.value)
    assert caught.value.status is None


def test_a_trickling_answer_times_out_as_a_whole(stand_in: StandIn) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(body=b'{"a": "' + b"x" * 200 + b'"}', trickle=0.02)
    client = client_for(stand_in, timeout=0.3)

    started = time.monotonic()
    with pytest.raises(TransientHttpError) as caught:
        client.get_json("goods")

    assert time.monotonic() - started < 3.0  # the whole answer takes 4 s
    assert "timed out" in str(caught.value)


def test_an_answer_too_large_is_not_read_to_the_end(
    stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", 100_000)
    stand_in.answers["/api/v1/goods"] = Answer(body=b"[" + b"1," * 200_000 + b"1]")

    with pytest.raises(BadAnswer) as caught:
        client_for(stand_in).get_json("goods")

    assert "more than 100000 bytes" in str(caught.value)


def test_a_client_with_a_smaller_body_limit_refuses_a_larger_answer(stand_in: StandIn) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(body=b"[" + b"1," * 2_000 + b"1]")
    small = HttpClient(
        f"{stand_in.url}/api/v1", headers={}, system="books", timeout=5, max_body_bytes=1000
    )

    with pytest.raises(BadAnswer) as caught:
        small.get_json("goods")

    assert "more than 1000 bytes" in str(caught.value)
    roomy = HttpClient(f"{stand_in.url}/api/v1", headers={}, system="books", timeout=5)
    assert len(roomy.get_json("goods")) == 2_001


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HttpClient(
        f"http://127.0.0.1:{port}", headers={"md-api-key": TOKEN}, system="books", timeout=2
    )

    with pytest.raises(TransientHttpError) as caught:
        client.get_json("goods", params={"access_token": "secret-in-query"})

    assert "connection error" in str(caught.value)
    assert client.calls == 1
    assert "secret-in-query" not in repr(caught.value) + caught.value.excerpt
    # requests' own exception (it names the URL, query and all) is not chained on
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_a_truncated_answer_is_transient(stand_in: StandIn) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(body=b'{"Items": [1, 2', content_length=500)

    with pytest.raises(TransientHttpError) as caught:
        client_for(stand_in).get_json("goods")

    assert "cut short" in str(caught.value)


@pytest.mark.parametrize("body", [b'{"Items": [1, 2', b"<html>login</html>", b"\xff\xfe{}"])
def test_an_answer_that_is_not_json_is_transient(stand_in: StandIn, body: bytes) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(body=body)

    with pytest.raises(TransientHttpError) as caught:
        client_for(stand_in).get_json("goods")

    assert caught.value.status == 200
    assert "not JSON" in str(caught.value)


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compressed_answer_is_limited_by_its_size_unpacked(
    stand_in: StandIn, encoding: str
) -> None:
    import gzip

    import brotli

    unpacked = b"[" + b"0," * 5_000_000 + b"0]"
    packed = gzip.compress(unpacked) if encoding == "gzip" else brotli.compress(unpacked)
    stand_in.answers["/api/v1/goods"] = Answer(body=packed, headers={"Content-Encoding": encoding})
    client = HttpClient(stand_in.url, headers={}, system="books", timeout=5, max_body_bytes=100_000)

    with pytest.raises(BadAnswer) as caught:
        client.get_json("/api/v1/goods")

    assert len(packed) < 100_000
    assert "more than 100000 bytes" in str(caught.value)


def test_json_nested_deeper_than_the_parser_is_a_bad_answer_not_a_crash(
    stand_in: StandIn,
) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(body=b"[" * 100_000 + b"]" * 100_000)

    with pytest.raises(BadAnswer) as caught:
        client_for(stand_in).get_json("goods")

    assert "nested too deeply" in str(caught.value)


def test_next_page_links_are_followed_only_on_the_same_host(stand_in: StandIn) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(body=b"[1]")
    client = client_for(stand_in)

    assert client.get_json(f"{stand_in.url}/api/v1/goods?pageNo=2") == [1]
    with pytest.raises(BadAnswer):
        client.get_json("http://attacker.test/api/v1/goods")

    assert stand_in.received[0].path == "/api/v1/goods?pageNo=2"
    assert client.calls == 1


def test_bad_answer_is_what_adapters_raise_for_a_wrong_shape() -> None:
    error = bad_answer("no Id in the answer", url="http://x/goods", excerpt="y" * 900)

    assert isinstance(error, BadAnswer) and isinstance(error, HttpError)
    assert error.status is None
    assert str(error) == "no Id in the answer"
    assert len(error.excerpt) == EXCERPT_CHARS


def test_errors_keep_their_details_through_pickling() -> None:
    error = TransientHttpError("books: GET x answered 429", status=429, url="x", retry_after=3.0)

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert type(copy) is TransientHttpError
    assert (copy.message, copy.status, copy.url, copy.retry_after) == (
        "books: GET x answered 429",
        429,
        "x",
        3.0,
    )


def test_masked_url_hides_secret_parameters_and_user_info() -> None:
    assert masked_url("https://u:pw@host.test/a?pageNo=2&api_key=abc&Token=t&sig=s") == (
        "https://host.test/a?pageNo=2&api_key=***&Token=***&sig=***"
    )


def test_credentials_never_reach_logs_errors_or_reprs(
    stand_in: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """The server echoes the request's headers back (some do in their error pages): the
    token must still not appear in the log, the exception, its repr, or the client's repr."""
    echo = json.dumps({"you sent": f"Bearer {TOKEN}", "key": TOKEN}).encode()
    stand_in.answers["/api/v1/goods"] = Answer(status=400, body=echo)
    stand_in.answers["/api/v1/shifts"] = Answer(status=500, body=echo)
    stand_in.answers["/api/v1/ok"] = Answer(body=b"[]")
    client = client_for(stand_in)
    caplog.set_level(logging.DEBUG, logger="lavka.core.http")

    errors: list[HttpError] = []
    for path in ("goods", "shifts"):
        with pytest.raises(HttpError) as caught:
            client.get_json(path, params={"token": TOKEN, "page": 1})
        errors.append(caught.value)
    client.get_json("ok", params={"token": TOKEN})

    shown = (
        caplog.text + repr(client) + "".join(str(e) + repr(e) + e.excerpt + e.url for e in errors)
    )
    assert TOKEN not in shown
    assert errors[0].excerpt == '{"you sent": "***", "key": "***"}'
    assert len(caplog.records) == 3
    assert "GET" in caplog.text and "/api/v1/goods?token=***&page=1" in caplog.text
    assert " 400 " in caplog.text and " 200 " in caplog.text


def test_the_log_line_has_system_method_url_status_and_duration(
    stand_in: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    stand_in.answers["/api/v1/goods"] = Answer(status=404, body=b'{"error": "no such good"}')
    caplog.set_level(logging.INFO, logger="lavka.core.http")

    with pytest.raises(BadAnswer):
        client_for(stand_in).get_json("goods")

    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith(f"books: GET {stand_in.url}/api/v1/goods 404 ")
    assert " ms: " in message and "no such good" in message


def test_netrc_does_not_replace_the_authorization_header(
    stand_in: StandIn, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password other\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))

    client_for(stand_in).get_json("goods")

    assert stand_in.received[0].headers["Authorization"] == f"Bearer {TOKEN}"


class _CountingHandler(BaseHTTPRequestHandler):
    """Counts the connections it is given; sets a cookie on /cookie; echoes the key."""

    protocol_version = "HTTP/1.1"
    connections: list[int] = []
    seen: list[tuple[str | None, str | None]] = []

    def setup(self) -> None:
        type(self).connections.append(1)
        super().setup()

    def do_GET(self) -> None:
        type(self).seen.append((self.headers.get("X-Key"), self.headers.get("Cookie")))
        body = b'{"ok": true}'
        self.send_response(200)
        if self.path.startswith("/cookie"):
            self.send_header("Set-Cookie", "session=abc")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_new_clients_reuse_open_connections_without_sharing_keys_or_cookies() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _CountingHandler.connections, _CountingHandler.seen = [], []
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        for n in range(5):
            client = HttpClient(url, headers={"X-Key": f"key-{n}"}, system="t")
            assert client.get_json("/cookie" if n == 0 else "/a") == {"ok": True}
            client.get_json("/b")  # the shared connection stays open for the next client
    finally:
        http.close_shared_sessions()
        server.shutdown()
        server.server_close()
    assert len(_CountingHandler.connections) == 1
    assert [key for key, _ in _CountingHandler.seen] == [f"key-{n // 2}" for n in range(10)]
    assert [cookie for _, cookie in _CountingHandler.seen] == [None] * 10
