"""The SSRF guard at connect time: a service's name that answers a public address to the
URL check and then a private one (DNS rebinding) must not reach the private one, and a
public answer is connected to as checked. The resolver is the system's
`socket.getaddrinfo`, replaced per test; a loopback server stands in for whatever the
name should not reach (or, in one test, for the public host)."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lavka.core import http
from lavka.demos import services
from lavka.demos.models import DemoRun, HealthStatus
from lavka.demos.outbound import _is_private, check_service_url

# A global unicast address that no test ever reaches: connecting to it is intercepted.
PUBLIC = "93.184.215.14"
NAME = "service.example"


class Recorder(BaseHTTPRequestHandler):
    """Answers every request like a healthy vision service and records its Host header."""

    hosts: list[str] = []

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.hosts.append(self.headers.get("Host", ""))
        body = json.dumps({"status": "ok", "faces": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    hosts: list[str] = []
    handler = type("Handler", (Recorder,), {"hosts": hosts})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield server.server_address[1], hosts
    finally:
        http.close_shared_sessions()
        server.shutdown()
        server.server_close()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], list[str]]:
    """Makes NAME resolve to the given answers in turn (the last one repeats); returns the
    list of answers given, one per lookup. Other names resolve as usual."""
    real = socket.getaddrinfo

    def install(answers: list[str]) -> list[str]:
        given: list[str] = []

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host == NAME:
                given.append(answers[min(len(given), len(answers) - 1)])
                return real(given[-1], port, *args, **kwargs)
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return given

    return install


# --- the address rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "0.1.2.3",
        "::",
        "::1",
        "127.0.0.1",
        "10.1.2.3",
        "100.64.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "fe80::1%eth0",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::127.0.0.1",  # IPv4-compatible, deprecated
        "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::c0a8:101",  # NAT64 of 192.168.1.1
        "64:ff9b:1::808:808",  # NAT64 local-use prefix
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:0:0::1",  # 6to4 of 0.0.0.0
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:808:808:0:0:f5ff:fffe",  # Teredo, client 10.0.0.1
        "not an address",
    ],
)
def test_private_local_and_embedded_private_addresses_are_refused(address: str) -> None:
    assert _is_private(address)


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "93.184.215.14",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",  # NAT64 of a public address
        "2002:808:808::1",  # 6to4 of a public address
    ],
)
def test_public_addresses_and_public_embedded_ones_pass(address: str) -> None:
    assert not _is_private(address)


# --- rebinding -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_at_connect(
    settings: Any, make_demo: Any, resolver: Any, loopback_server: tuple[int, list[str]]
) -> None:
    port, hosts = loopback_server
    settings.DEMOS_ALLOW_PRIVATE_SERVICES = False
    demo = make_demo(url=f"http://{NAME}:{port}", health=HealthStatus.UP)
    lookups = resolver([PUBLIC, "127.0.0.1"])

    status = services.check_health(demo=demo)

    demo.refresh_from_db()
    assert lookups == [PUBLIC, "127.0.0.1"]
    assert status == "down"
    assert "private or local" in demo.health_reason
    assert hosts == []


@pytest.mark.django_db
def test_a_run_whose_service_rebinds_to_loopback_fails_at_once_and_sends_nothing(
    settings: Any, make_demo: Any, resolver: Any, loopback_server: tuple[int, list[str]]
) -> None:
    port, hosts = loopback_server
    settings.DEMOS_ALLOW_PRIVATE_SERVICES = False
    demo = make_demo(url=f"http://{NAME}:{port}")
    run = services.start_run(
        demo=demo,
        upload=io.BytesIO(b"\x89PNG not really"),
        upload_name="a.png",
        content_type="image/png",
        visitor_id=None,
        session_key="s",
    )
    resolver([PUBLIC, "127.0.0.1"])

    state = services.execute_run(run_id=run.pk)

    run = DemoRun.objects.get(pk=run.pk)
    assert state == "failed"
    assert run.attempts == 1
    assert "private or local" in run.last_error
    assert hosts == []


@pytest.mark.django_db
def test_the_call_connects_to_the_address_it_checked_with_the_host_name_kept(
    settings: Any,
    make_demo: Any,
    resolver: Any,
    loopback_server: tuple[int, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, hosts = loopback_server
    settings.DEMOS_ALLOW_PRIVATE_SERVICES = False
    demo = make_demo(url=f"http://{NAME}:{port}", health=HealthStatus.DOWN)
    # The URL check's lookup and the connection's own lookup answer PUBLIC; any other
    # lookup would get loopback, where the server would see a request with no connect.
    lookups = resolver([PUBLIC, PUBLIC, "127.0.0.1"])
    connects: list[Any] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        connects.append(address)
        # The "internet": the public address is served by the loopback server.
        real_connect(sock, ("127.0.0.1", port) if address[0] == PUBLIC else address)

    monkeypatch.setattr(socket.socket, "connect", connect)

    status = services.check_health(demo=demo)

    assert status == "up"
    assert lookups == [PUBLIC, PUBLIC]
    assert connects == [(PUBLIC, port)]
    assert hosts == [f"{NAME}:{port}"]


@pytest.mark.django_db
def test_with_private_services_allowed_a_loopback_name_is_called_as_before(
    settings: Any, make_demo: Any, resolver: Any, loopback_server: tuple[int, list[str]]
) -> None:
    port, hosts = loopback_server
    settings.DEMOS_ALLOW_PRIVATE_SERVICES = True
    demo = make_demo(url=f"http://{NAME}:{port}", health=HealthStatus.DOWN)
    resolver(["127.0.0.1"])

    assert check_service_url(demo.service_url) == demo.service_url
    assert services.check_health(demo=demo) == "up"
    assert hosts == [f"{NAME}:{port}"]
