"""Creators' demo pages, the Try page's checks before any call, who sees which run,
rate limits, expiry, and the service URL's guard against reaching private networks."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from lavka.demos.models import Demo, DemoRun, HealthStatus
from lavka.demos.outbound import check_service_url
from lavka.demos.services import delete_expired_runs

pytestmark = pytest.mark.django_db


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` pixels in a few bytes (a decompression bomb
    as far as the header goes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 200), "red").save(out, "JPEG")
    return out.getvalue()


def upload(client: Any, demo: Demo, name: str, content: bytes) -> Any:
    return client.post(reverse("demos:try", args=[demo.pk]), {"file": ContentFile(content, name)})


# --- creators' pages -------------------------------------------------------------------


def test_creator_attaches_a_demo_to_their_own_product(client: Any, creator: Any) -> None:
    from lavka.core.tests.access_matrix import _product_of

    product = _product_of(creator)
    client.force_login(creator)
    response = client.post(
        reverse("demos:create"),
        {
            "product": product.pk,
            "kind": "plates",
            "service_url": "http://127.0.0.1:12120/",
            "about": "Reads plates.\nOffline.",
            "max_bytes": 1000000,
            "max_pixels": 1000000,
            "max_video_seconds": 60,
        },
    )
    demo = Demo.objects.get(product=product)
    assert response.status_code == 302
    assert demo.service_url == "http://127.0.0.1:12120"
    assert demo.health_status == HealthStatus.UNKNOWN


def test_creator_cannot_attach_a_demo_to_another_creators_product(
    client: Any, creator: Any, make_demo: Any
) -> None:
    from lavka.accounts.tests.factories import CreatorFactory
    from lavka.core.tests.access_matrix import _product_of

    others = _product_of(CreatorFactory())
    client.force_login(creator)
    response = client.post(
        reverse("demos:create"),
        {
            "product": others.pk,
            "kind": "faces",
            "service_url": "http://127.0.0.1:1",
            "max_bytes": 10,
            "max_pixels": 10,
            "max_video_seconds": 10,
        },
    )
    assert response.status_code == 200
    assert "product" in response.context["form"].errors
    assert not Demo.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_bytes", "0"),
        ("max_bytes", "-5"),
        ("max_pixels", str(10**12)),
        ("service_url", "ftp://example.com/"),
        ("service_url", "http://user:secret@example.com/"),
        ("service_url", "http://exa\nmple.com/"),
        ("about", "nul\x00byte"),
    ],
)
def test_hostile_demo_form_values_are_refused_at_their_field(
    client: Any, creator: Any, make_demo: Any, field: str, value: str
) -> None:
    demo = make_demo(owner=creator, url="http://127.0.0.1:12120")
    data = {
        "kind": "faces",
        "service_url": "http://127.0.0.1:12120",
        "about": "",
        "max_bytes": 1000,
        "max_pixels": 1000,
        "max_video_seconds": 10,
        field: value,
    }
    client.force_login(creator)
    response = client.post(reverse("demos:edit", args=[demo.pk]), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    demo.refresh_from_db()
    assert demo.max_bytes == 10 * 1024 * 1024


def test_sample_with_a_line_break_in_its_title_is_refused(
    client: Any, creator: Any, make_demo: Any
) -> None:
    demo = make_demo(owner=creator)
    client.force_login(creator)
    response = client.post(
        reverse("demos:sample_add", args=[demo.pk]),
        {"file": ContentFile(png_bytes(), "a.png"), "title": "a\r\nb", "source_note": "mine"},
    )
    assert response.status_code == 400
    assert not demo.samples.exists()


# --- outbound URL safety -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/",
        "http://localhost/",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:80/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_service_addresses_are_refused_unless_allowed(settings: Any, url: str) -> None:
    settings.DEMOS_ALLOW_PRIVATE_SERVICES = False
    with pytest.raises(ValidationError) as refused:
        check_service_url(url)
    assert refused.value.code in ("private", "query")
    settings.DEMOS_ALLOW_PRIVATE_SERVICES = True
    if "?" not in url:
        assert check_service_url(url)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("file:///etc/passwd", "scheme"),
        ("gopher://example.com/", "scheme"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://example.com/?next=http://10.0.0.1", "query"),
        ("http:///nohost", "host"),
        ("http://example.com:99999/", "invalid"),
    ],
)
def test_service_urls_of_other_kinds_are_refused(settings: Any, url: str, code: str) -> None:
    settings.DEMOS_ALLOW_PRIVATE_SERVICES = True
    with pytest.raises(ValidationError) as refused:
        check_service_url(url)
    assert refused.value.code == code


# --- the Try page --------------------------------------------------------------------------


def test_try_is_disabled_with_a_message_while_the_service_is_down(
    client: Any, make_demo: Any
) -> None:
    demo = make_demo(health=HealthStatus.DOWN)
    page = client.get(reverse("demos:detail", args=[demo.pk])).content.decode()
    assert 'data-testid="try-unavailable"' in page
    assert "disabled" in page
    response = upload(client, demo, "a.png", png_bytes())
    assert response.status_code == 400
    assert not DemoRun.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("notes.jpg", b"just some text, not a picture\n" * 10, "not a readable image"),
        ("cut.jpg", jpeg_bytes()[:300], "not a readable image"),
        ("huge.png", png_header_only(30_000, 30_000), "pixels"),
        ("empty.png", b"", "empty"),
        ("big.png", b"\x89PNG" + b"\0" * (2 * 1024 * 1024), "at most"),
    ],
)
def test_bad_images_are_refused_before_any_call(
    client: Any, make_demo: Any, name: str, content: bytes, says: str
) -> None:
    demo = make_demo(max_bytes=1024 * 1024)
    response = upload(client, demo, name, content)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not DemoRun.objects.exists()


def test_a_video_demo_refuses_an_image(client: Any, make_demo: Any) -> None:
    demo = make_demo(kind="exercise")
    response = upload(client, demo, "clip.mp4", png_bytes())
    assert response.status_code == 400
    assert "video" in response.content.decode()


@pytest.mark.parametrize("off_sale", ["deactivated", "archived", "creator_blocked"])
def test_a_demo_of_a_product_off_sale_is_hidden_from_visitors_but_not_its_owner(
    make_demo: Any, customer: Any, off_sale: str
) -> None:
    from lavka.accounts.tests.factories import CreatorFactory
    from lavka.demos.services import check_all_health

    owner = CreatorFactory()
    demo = make_demo(owner=owner)
    product = demo.product
    if off_sale == "deactivated":
        product.is_active = False
        product.save()
    elif off_sale == "archived":
        product.archived_at = timezone.now()
        product.save()
    else:
        owner.is_active = False
        owner.save()
    page = reverse("demos:detail", args=[demo.pk])
    signed_in = Client()
    signed_in.force_login(customer)
    for visitor in (Client(), signed_in):
        assert visitor.get(page).status_code == 404
        assert upload(visitor, demo, "a.png", png_bytes()).status_code == 404
    assert not DemoRun.objects.exists()
    assert check_all_health() == 0
    if off_sale != "creator_blocked":
        mine = Client()
        mine.force_login(owner)
        assert mine.get(page).status_code == 200
        assert upload(mine, demo, "a.png", png_bytes()).status_code == 302


def test_rate_limit_answers_429_with_a_clear_page(
    client: Any, make_demo: Any, settings: Any
) -> None:
    settings.DEMOS_RATE_PER_VISITOR = 2
    demo = make_demo()
    statuses = [upload(client, demo, "a.png", png_bytes()).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert DemoRun.objects.count() == 2


def test_refused_uploads_take_a_rate_slot_before_the_file_is_decoded(
    make_demo: Any, settings: Any
) -> None:
    settings.DEMOS_RATE_PER_ADDRESS = 2
    demo = make_demo()
    statuses = [
        upload(Client(), demo, "huge.png", png_header_only(30_000, 30_000)).status_code,
        upload(Client(), demo, "notes.png", b"not a picture").status_code,
        upload(Client(), demo, "a.png", png_bytes()).status_code,
    ]
    assert statuses == [400, 400, 429]
    assert not DemoRun.objects.exists()


def test_rate_limit_per_address_covers_new_sessions(make_demo: Any, settings: Any) -> None:
    settings.DEMOS_RATE_PER_ADDRESS = 2
    demo = make_demo()
    statuses = [upload(Client(), demo, "a.png", png_bytes()).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_rate_limit_per_address_counts_the_client_behind_our_proxy(
    make_demo: Any, settings: Any
) -> None:
    settings.DEMOS_RATE_PER_ADDRESS = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    demo = make_demo()

    def from_client(address: str) -> int:
        proxied = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=address)
        return int(upload(proxied, demo, "a.png", png_bytes()).status_code)

    assert [from_client("203.0.113.5"), from_client("198.51.100.7")] == [302, 302]
    assert from_client("203.0.113.5") == 429
    # A client's own X-Forwarded-For entry in front of the proxy's is not believed.
    assert from_client("192.0.2.99, 203.0.113.5") == 429


def test_rate_limit_per_address_ignores_x_forwarded_for_without_trusted_proxies(
    make_demo: Any, settings: Any
) -> None:
    settings.DEMOS_RATE_PER_ADDRESS = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    demo = make_demo()
    first = Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.1")
    second = Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert upload(first, demo, "a.png", png_bytes()).status_code == 302
    assert upload(second, demo, "a.png", png_bytes()).status_code == 429


def test_a_visitor_sees_only_their_own_runs_unless_shared(make_demo: Any, customer: Any) -> None:
    demo = make_demo()
    anonymous = Client()
    created = upload(anonymous, demo, "a.png", png_bytes())
    run = DemoRun.objects.get()
    assert created.url == reverse("demos:run", args=[run.pk])
    assert anonymous.get(created.url).status_code == 200
    assert anonymous.get(reverse("demos:run_progress", args=[run.pk])).json()["state"] == "pending"

    stranger = Client()
    assert stranger.get(created.url).status_code == 404
    assert stranger.get(reverse("demos:run_progress", args=[run.pk])).status_code == 404
    signed_in = Client()
    signed_in.force_login(customer)
    assert signed_in.get(created.url).status_code == 404

    shared = stranger.get(reverse("demos:shared", args=[run.share_token]))
    assert shared.status_code == 200
    assert stranger.get(reverse("demos:shared", args=[run.share_token + "x"])).status_code == 404


def test_expired_runs_lose_their_files(client: Any, make_demo: Any) -> None:
    demo = make_demo()
    upload(client, demo, "a.png", png_bytes())
    run = DemoRun.objects.get()
    storage, name = run.upload.storage, run.upload.name
    assert storage.exists(name)
    assert delete_expired_runs() == 0
    assert delete_expired_runs(now=timezone.now() + timedelta(days=2)) == 1
    assert not storage.exists(name)
    assert not DemoRun.objects.exists()


def test_uploads_are_stored_under_unguessable_names(client: Any, make_demo: Any) -> None:
    demo = make_demo()
    upload(client, demo, "holiday.png", png_bytes())
    upload(client, demo, "holiday.png", png_bytes())
    first, second = DemoRun.objects.order_by("pk")
    assert "holiday" not in first.upload.name
    assert len(first.upload.name.rsplit("/", 1)[-1]) >= 32
    assert first.share_token != second.share_token
    first.upload.delete(save=False)
    second.upload.delete(save=False)


def test_the_product_page_links_to_its_demo_with_the_health_badge(
    client: Any, make_demo: Any
) -> None:
    demo = make_demo(health=HealthStatus.DOWN)
    product = demo.product
    page = client.get(
        reverse("marketplace:product", args=[product.creator.slug, product.slug])
    ).content.decode()
    assert reverse("demos:detail", args=[demo.pk]) in page
    assert 'data-health="down"' in page


def test_a_product_without_a_demo_shows_no_demo_link(client: Any, creator: Any) -> None:
    from lavka.core.tests.access_matrix import _product_of

    product = _product_of(creator)
    page = client.get(
        reverse("marketplace:product", args=[product.creator.slug, product.slug])
    ).content.decode()
    assert 'data-testid="product-demo"' not in page
