"""The HTTP client's `allow_address` hook: each connection resolves the host once, is
refused unless every address passes, goes to a checked address, and keeps the URL's
host name for the Host header, TLS SNI and the certificate check. Names are made up and
resolved by replacing the system's `socket.getaddrinfo`; servers run on loopback."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lavka.core import http
from lavka.core.http import BadAnswer, HttpClient, HttpError, RefusedAddress

NAME = "svc.test"


def only_loopback(address: str) -> bool:
    return address == "127.0.0.1"


@dataclass
class Server:
    port: int
    hosts: list[str] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)


def serve(tls: ssl.SSLContext | None = None) -> tuple[Server, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps the connection open between calls

        def do_GET(self) -> None:
            record.hosts.append(self.headers.get("Host", ""))
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    record = Server(server.server_address[1])
    if tls is not None:

        def sni(sock: Any, server_name: str | None, context: Any) -> None:
            record.server_names.append(server_name)

        tls.sni_callback = sni
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return record, server


@pytest.fixture
def servers() -> Iterator[Callable[..., Server]]:
    started: list[ThreadingHTTPServer] = []

    def start(tls: ssl.SSLContext | None = None) -> Server:
        record, server = serve(tls)
        started.append(server)
        return record

    yield start
    http.close_shared_sessions()
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def resolve(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], list[int]]:
    """NAME resolves to all of the given addresses at once; returns a list that grows by
    one entry per lookup of NAME."""
    real = socket.getaddrinfo

    def install(addresses: list[str]) -> list[int]:
        lookups: list[int] = []

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host != NAME:
                return real(host, port, *args, **kwargs)
            lookups.append(1)
            return [info for one in addresses for info in real(one, port, *args, **kwargs)]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return lookups

    return install


def test_a_host_with_a_refused_address_is_not_connected_to_and_nothing_is_sent(
    servers: Any, resolve: Any
) -> None:
    server = servers()
    resolve(["127.0.0.1"])
    client = HttpClient(
        f"http://{NAME}:{server.port}", headers={}, system="t", allow_address=lambda a: False
    )

    with pytest.raises(RefusedAddress) as refused:
        client.get_json("/x")

    assert isinstance(refused.value, BadAnswer)
    assert refused.value.address == "127.0.0.1"
    assert "127.0.0.1" in str(refused.value)
    again = pickle.loads(pickle.dumps(refused.value))  # noqa: S301 - our own bytes
    assert (type(again), again.address) == (RefusedAddress, "127.0.0.1")
    assert server.hosts == []


def test_one_refused_address_among_allowed_ones_refuses_the_host(
    servers: Any, resolve: Any
) -> None:
    server = servers()
    resolve(["127.0.0.1", "10.0.0.1"])
    client = HttpClient(
        f"http://{NAME}:{server.port}", headers={}, system="t", allow_address=only_loopback
    )

    with pytest.raises(RefusedAddress) as refused:
        client.get_json("/x")

    assert refused.value.address == "10.0.0.1"
    assert server.hosts == []


def test_an_allowed_host_is_resolved_once_and_called_with_its_host_name(
    servers: Any, resolve: Any
) -> None:
    server = servers()
    lookups = resolve(["127.0.0.1"])
    client = HttpClient(
        f"http://{NAME}:{server.port}", headers={}, system="t", allow_address=only_loopback
    )

    assert client.get_json("/x") == {"ok": True}
    assert client.get_json("/y") == {"ok": True}  # the checked connection is kept

    assert lookups == [1]
    assert server.hosts == [f"{NAME}:{server.port}"] * 2


def test_a_checked_client_connects_directly_not_through_the_environment_proxy(
    servers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = servers()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    client = HttpClient(
        f"http://127.0.0.1:{server.port}", headers={}, system="t", allow_address=only_loopback
    )

    assert client.get_json("/x") == {"ok": True}
    assert server.hosts == [f"127.0.0.1:{server.port}"]


# --- TLS ---------------------------------------------------------------------------------


def _certificate(
    subject: str, issuer: x509.Name, key: Any, signer: Any, *, ca: bool, names: list[str]
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture
def tls_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ssl.SSLContext]:
    """A server context with a certificate for the given name, from a test CA that the
    client trusts through REQUESTS_CA_BUNDLE."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lavka test CA")])
    ca = _certificate("Lavka test CA", ca_name, ca_key, ca_key, ca=True, names=[])
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    http.close_shared_sessions()  # sessions read the bundle when made

    def make(name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate(name, ca_name, key, ca_key, ca=False, names=[name])
        cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
        cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context

    return make


def test_a_checked_https_call_sends_the_host_name_as_sni_and_checks_the_certificate(
    servers: Any, resolve: Any, tls_for: Any
) -> None:
    server = servers(tls_for(NAME))
    resolve(["127.0.0.1"])
    client = HttpClient(
        f"https://{NAME}:{server.port}", headers={}, system="t", allow_address=only_loopback
    )

    assert client.get_json("/x") == {"ok": True}

    assert server.server_names == [NAME]
    assert server.hosts == [f"{NAME}:{server.port}"]


def test_a_checked_https_call_refuses_a_certificate_for_another_name(
    servers: Any, resolve: Any, tls_for: Any
) -> None:
    server = servers(tls_for("other.test"))
    resolve(["127.0.0.1"])
    client = HttpClient(
        f"https://{NAME}:{server.port}", headers={}, system="t", allow_address=only_loopback
    )

    with pytest.raises(HttpError) as failed:
        client.get_json("/x")

    assert "Hostname mismatch" in failed.value.excerpt

    assert server.server_names == [NAME]
    assert server.hosts == []
