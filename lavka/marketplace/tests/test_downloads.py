"""Download links of paid digital items: signed, expiring, shown on the customer's order
page and in the "order paid" email; tampered, expired, unpaid or mismatched links fail."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from lavka.marketplace.downloads import services as downloads
from lavka.marketplace.models import Order, OrderEmail, Product
from lavka.marketplace.orders import services
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.orders_helpers import checkout, line

pytestmark = pytest.mark.django_db

CONTENT = b"%PDF-1.4 the whole book"


def digital_book() -> Product:
    book = ProductFactory(kind=Product.Kind.DIGITAL, stock=None, title_en="E-book")
    book.digital_file.save("manual.pdf", ContentFile(CONTENT))
    Product.objects.filter(pk=book.pk).update(digital_file_name="Manual.pdf")
    book.refresh_from_db()
    return book


def paid_order(customer, *products: Product) -> Order:
    order = checkout(customer, [line(p) for p in products]).order
    return services.mark_paid(order=order)


def token_for(order_pk: int, line_pk: int, *, age: timedelta = timedelta(0)) -> str:
    """A link signed with our salt, as made `age` ago."""

    class Then(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time() - age.total_seconds()))

    return Then(salt=downloads.SALT).sign(f"{order_pk}.{line_pk}")


def download(token: str, client: Client | None = None):
    return (client or Client()).get(reverse("marketplace:download", args=[token]))


def test_a_paid_orders_digital_line_downloads_as_an_attachment(customer):
    book, mug = digital_book(), ProductFactory(title_en="Mug")
    order = paid_order(customer, book, mug)

    (link,) = downloads.links_for(order)  # the mug has nothing to download
    response = download(link.path.rstrip("/").rsplit("/", 1)[-1])

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["Content-Disposition"] == 'attachment; filename="Manual.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_the_customers_order_page_shows_the_links_once_paid(customer):
    book = digital_book()
    order = checkout(customer, [line(book)]).order
    client = Client()
    client.force_login(customer)
    url = reverse("marketplace:order_detail", args=[order.pk])

    assert 'data-testid="download-link"' not in client.get(url).content.decode()
    services.mark_paid(order=order)
    page = client.get(url).content.decode()
    assert 'data-testid="download-link"' in page
    path = page.split('data-testid="downloads"><li><a href="', 1)[1].split('"', 1)[0]
    assert client.get(path).status_code == 200


def test_the_order_paid_email_carries_working_links(customer, settings):
    settings.LAVKA_DOWNLOAD_LINK_DAYS = 3
    order = paid_order(customer, digital_book())
    row = OrderEmail.objects.get(order=order, kind="paid")
    assert services.send_order_email(order_email_id=row.pk)

    (message,) = mail.outbox
    assert "each link works for 3 days" in message.body
    url = next(w for w in message.body.split() if "/shop/downloads/" in w)
    path = url[url.index("/shop/downloads/") :]
    assert Client().get(path).status_code == 200


def test_the_order_received_email_has_no_links(customer):
    order = checkout(customer, [line(digital_book())]).order
    row = OrderEmail.objects.get(order=order, kind="received")
    services.send_order_email(order_email_id=row.pk)
    assert "/shop/downloads/" not in mail.outbox[0].body


def test_an_unpaid_orders_line_is_not_found(customer):
    order = checkout(customer, [line(digital_book())]).order
    assert downloads.links_for(order) == []
    assert download(token_for(order.pk, order.lines.get().pk)).status_code == 404


def test_a_refunded_orders_line_is_not_found(customer):
    order = paid_order(customer, digital_book())
    token = token_for(order.pk, order.lines.get().pk)
    assert download(token).status_code == 200
    Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)
    assert download(token).status_code == 404


def test_a_tampered_link_is_not_found(customer):
    order = paid_order(customer, digital_book())
    token = token_for(order.pk, order.lines.get().pk)
    value, stamp, signature = token.split(":")
    for forged in (
        f"{order.pk}.{order.lines.get().pk + 1}:{stamp}:{signature}",
        f"{value}:{stamp}:{signature[:-2]}xx",
        signing.TimestampSigner(salt="another.salt").sign(value),
        "x" * 5000,
        "%00",
    ):
        assert download(forged).status_code == 404


def test_another_orders_line_is_not_found(customer, other_customer):
    mine = paid_order(customer, digital_book())
    theirs = paid_order(other_customer, digital_book())
    assert download(token_for(mine.pk, theirs.lines.get().pk)).status_code == 404


def test_an_expired_link_says_so(customer, settings):
    settings.LAVKA_DOWNLOAD_LINK_DAYS = 7
    order = paid_order(customer, digital_book())
    line_pk = order.lines.get().pk

    assert download(token_for(order.pk, line_pk, age=timedelta(days=6))).status_code == 200
    response = download(token_for(order.pk, line_pk, age=timedelta(days=7, seconds=5)))
    assert response.status_code == 410
    assert 'data-testid="download-expired"' in response.content.decode()


def test_a_missing_file_is_not_found_and_only_get_is_allowed(customer):
    book = digital_book()
    order = paid_order(customer, book)
    token = token_for(order.pk, order.lines.get().pk)
    url = reverse("marketplace:download", args=[token])
    assert Client().post(url).status_code == 405
    book.digital_file.storage.delete(book.digital_file.name)  # gone from the disk
    assert download(token).status_code == 404


def test_the_links_are_announced_in_the_customers_language(user_factory, settings):
    settings.LAVKA_DOWNLOAD_LINK_DAYS = 5
    ivan = user_factory(email="ivan@example.com", language="ru")
    order = paid_order(ivan, digital_book())
    services.send_order_email(order_email_id=OrderEmail.objects.get(order=order, kind="paid").pk)
    assert "каждая ссылка действует 5 дней" in mail.outbox[0].body
