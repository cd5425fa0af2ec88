"""Hostile inputs on both sides of a demo, run in this process (no worker): a visitor's
file with a lying name or type, and a service that redirects, nests its answer without
end, or answers nonsense. Whatever comes, the run ends with a message and its pages
render."""

from __future__ import annotations

import http.server
import io
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from lavka.core.tests.support import free_port
from lavka.demos import services
from lavka.demos.models import DemoRun
from lavka.demos.tests.test_demo_pages import png_bytes, upload

pytestmark = pytest.mark.django_db


class Hostile(http.server.BaseHTTPRequestHandler):
    """A demo service that answers what the test sets, and keeps what it was sent."""

    status = 200
    body = b"{}"
    headers_out: dict[str, str] = {}
    received: list[bytes]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.received.append(self.rfile.read(length) if length else b"")
        self.send_response(self.status)
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[Callable[..., Any]]:
    servers: list[Any] = []

    def serve(
        *, status: int = 200, body: bytes = b"{}", headers: dict[str, str] | None = None
    ) -> Any:
        handler = type(
            "Handler",
            (Hostile,),
            {"status": status, "body": body, "headers_out": headers or {}, "received": []},
        )
        server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
        server.handler = handler  # type: ignore[attr-defined]
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _run_once(client: Any, demo: Any, name: str = "a.png") -> DemoRun:
    response = upload(client, demo, name, png_bytes())
    assert response.status_code == 302, response.content.decode()[:1000]
    run = DemoRun.objects.order_by("-pk").first()
    assert run is not None
    services.execute_run(run_id=run.pk)
    run.refresh_from_db()
    return run


# --- the visitor's file ------------------------------------------------------------------


def _image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "blue").save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cat.png", _image("GIF")),
        ("cat.jpg", _image("BMP")),
        ("cat.png", _image("TIFF")),
        ("cat.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("cat.png", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n"),
    ],
)
def test_an_upload_of_another_type_with_an_image_extension_is_refused(
    client: Any, make_demo: Any, name: str, content: bytes
) -> None:
    demo = make_demo()
    response = upload(client, demo, name, content)
    assert response.status_code == 400
    assert not DemoRun.objects.exists()


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.png",
        "..\\..\\windows\\win.ini.png",
        "evil\x00.png",
        'a\r\nContent-Type: text/html\r\n\r\n<b>x</b>".png',
        "x" * 600 + ".png",
    ],
)
def test_a_hostile_file_name_is_kept_harmless_and_sent_without_breaking_the_form(
    client: Any, make_demo: Any, hostile: Any, name: str
) -> None:
    service = hostile(body=b'{"faces": []}')
    demo = make_demo(url=service.url)
    run = _run_once(client, demo, name)
    assert run.state == "done", run.last_error
    for bad in ("/", "\\", "\x00", "\r", "\n"):
        assert bad not in run.upload_name
    assert len(run.upload_name) <= 200
    sent = service.handler.received[0]
    part_head = sent.split(b"\r\n\r\n", 1)[0]
    # One part header block: the name cannot add a header or end the headers early.
    assert part_head.count(b"Content-Type:") == 1
    assert b"text/html" not in part_head
    assert ".." not in run.upload.name
    page = client.get(reverse("demos:run", args=[run.pk]))
    assert page.status_code == 200
    assert b"<b>x</b>" not in page.content


# --- the service's answer ------------------------------------------------------------------


def test_a_service_that_redirects_is_not_followed(
    client: Any, make_demo: Any, hostile: Any
) -> None:
    inside = hostile(body=b'{"faces": []}')
    service = hostile(status=302, headers={"Location": f"{inside.url}/v1/faces"})
    demo = make_demo(url=service.url)
    run = _run_once(client, demo)
    assert (run.state, run.attempts) == ("failed", 1)
    assert run.last_error
    assert inside.handler.received == []
    assert services.check_health(demo=demo) == "down"
    assert inside.handler.received == []


@pytest.mark.parametrize("depth", [50, 400, 950, 5000])
def test_a_deeply_nested_answer_ends_the_run_and_its_pages_still_render(
    client: Any, make_demo: Any, hostile: Any, depth: int
) -> None:
    nested = b'{"faces": ' + b"[" * depth + b"]" * depth + b"}"
    demo = make_demo(url=hostile(body=nested).url)
    run = _run_once(client, demo)
    assert run.state in ("done", "failed")
    if depth > 100:
        assert (run.state, run.result) == ("failed", None)
        assert "could not be read" in run.last_error
    page = client.get(reverse("demos:run", args=[run.pk]))
    assert page.status_code == 200
    shared = Client().get(reverse("demos:shared", args=[run.share_token]))
    assert shared.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2, 3]",
        b'"just a string"',
        b"null",
        b'{"faces": [], "annotated_image": "not a dict"}',
        b'{"faces": [], "annotated_image": {"base64": 12}}',
        b'{"plates": [{"plate_image": {"base64": "\\" onerror=\\"alert(1)"}}]}',
        b'{"plates": "nope", "error": {"message": 5}}',
        b'{"faces": [], "x": "<script>alert(1)</script>"}',
    ],
)
def test_a_malformed_answer_ends_the_run_and_its_page_shows_nothing_live(
    client: Any, make_demo: Any, hostile: Any, body: bytes
) -> None:
    demo = make_demo(url=hostile(body=body).url)
    run = _run_once(client, demo)
    assert run.state in ("done", "failed")
    page = client.get(reverse("demos:run", args=[run.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "<script>alert" not in text
    assert '" onerror="' not in text
    if run.state == "done":
        assert json.loads(json.dumps(run.result)) == run.result


# --- a creator's samples -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "content", "says"),
    [
        ("faces", "page.html", b"<html><script>alert(1)</script></html>", "not a readable image"),
        ("faces", "tool.png", b"MZ\x90\x00" + b"\x00" * 200, "not a readable image"),
        ("faces", "big.png", png_bytes(4000, 4000), "pixels"),
        ("faces", "empty.png", b"", "empty"),
        ("exercise", "clip.mp4", png_bytes(), "video"),
    ],
)
def test_a_sample_that_the_demo_would_refuse_from_a_visitor_is_not_stored(
    client: Any, creator: Any, make_demo: Any, kind: str, name: str, content: bytes, says: str
) -> None:
    demo = make_demo(owner=creator, kind=kind, max_pixels=1_000_000)
    client.force_login(creator)
    response = client.post(
        reverse("demos:sample_add", args=[demo.pk]),
        {"file": ContentFile(content, name), "title": "Try me", "source_note": "mine"},
    )
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not demo.samples.exists()


def test_an_image_sample_is_stored_under_its_types_extension(
    client: Any, creator: Any, make_demo: Any
) -> None:
    demo = make_demo(owner=creator)
    client.force_login(creator)
    response = client.post(
        reverse("demos:sample_add", args=[demo.pk]),
        {"file": ContentFile(png_bytes(), "../face.html"), "title": "Face", "source_note": "mine"},
    )
    assert response.status_code == 302
    sample = demo.samples.get()
    assert sample.file.name.startswith("demos/samples/face")
    assert sample.file.name.endswith(".png")
    sample.file.delete(save=False)


def test_a_health_answer_padded_to_megabytes_is_not_read_and_the_service_is_down(
    make_demo: Any, hostile: Any
) -> None:
    padded = json.dumps({"status": "ok", "pad": "x" * 2_000_000}).encode()
    demo = make_demo(url=hostile(body=padded).url)
    assert services.check_health(demo=demo) == "down"
    demo.refresh_from_db()
    assert demo.health_reason == "The service's answer could not be read."
    assert services.check_health(demo=make_demo(url=hostile(body=b'{"status": "ok"}').url)) == "up"
