"""Invoices: a PDF per paid order (its text read back with pypdf), numbered without gaps
per calendar year in the transaction that marks the order paid, attached to the "paid"
email, downloadable by the customer and by staff, 404 for anyone else."""

from __future__ import annotations

import importlib
import io
import logging
import sys
from datetime import datetime
from decimal import Decimal
from email import message_from_bytes
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from lavka.accounts.tests.factories import UserFactory
from lavka.core.models import OutboxMessage
from lavka.core.tests.support import wait_until
from lavka.marketplace import checks
from lavka.marketplace.invoices import pdf
from lavka.marketplace.models import Invoice, InvoiceCounter, Order, OrderEmail
from lavka.marketplace.orders import services
from lavka.marketplace.tests.factories import CouponFactory, ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.orders_helpers import checkout, line, run_in_threads

UTC = ZoneInfo("UTC")


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def paid_order(user: Any, *lines: Any, coupon: str = "", **kwargs: Any) -> Order:
    placed = checkout(user, list(lines) or [line(ProductFactory())], coupon=coupon)
    return services.mark_paid(order=placed.order, **kwargs)


@pytest.fixture
def seller(settings: Any) -> Any:
    settings.LAVKA_SELLER_NAME = "Demo Crafts Ltd"
    settings.LAVKA_SELLER_ADDRESS = "1 Example Street\n10115 Example City"
    settings.LAVKA_SELLER_TAX_ID = "DE000000000"
    settings.LAVKA_SELLER_EMAIL = "books@example.com"
    return settings


@pytest.fixture
def without_weasyprint(monkeypatch: Any) -> Any:
    """As on a laptop without Pango: importing WeasyPrint fails."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    pdf._weasyprint.cache_clear()
    yield
    monkeypatch.undo()
    pdf._weasyprint.cache_clear()


# --- the PDF --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_invoice_pdf_shows_number_seller_buyer_lines_discount_total_and_payment(
    customer, seller
):
    CouponFactory(code="TEN", value=Decimal(10))
    mug = ProductFactory(title_en="Blue mug", price=Decimal("9.00"))
    lamp = ProductFactory(title_en="Desk lamp", price=Decimal("30.00"))
    order = paid_order(customer, line(mug, 2), line(lamp), coupon="ten")

    text = pdf_text(pdf.render(order.invoice))

    year = order.paid_at.year
    assert f"Invoice {year}-000001" in text
    assert order.number in text
    for expected in ("Demo Crafts Ltd", "1 Example Street", "DE000000000", "books@example.com"):
        assert expected in text
    assert "Carla Customer" in text and "customer@example.com" in text
    assert "Blue mug" in text and "18.00" in text and "Desk lamp" in text
    assert "48.00" in text  # subtotal
    assert "Discount (TEN)" in text and "4.80" in text
    assert "43.20\xa0EUR" in text  # total, with the currency
    assert "Bank transfer" in text and "paid on" in text


@pytest.mark.django_db
def test_a_russian_orders_invoice_is_in_russian_with_cyrillic_text(user_factory, seller):
    ivan = user_factory(email="ivan@example.com", full_name="Иван Петров", language="ru")
    order = paid_order(ivan, line(ProductFactory(title_en="Mug", price=Decimal("12.50"))))
    assert order.language == "ru"

    text = pdf_text(pdf.render(order.invoice))

    assert f"Счёт {order.invoice.number}" in text
    assert "Иван Петров" in text
    assert "ПРОДАВЕЦ" in text and "ПОКУПАТЕЛЬ" in text and "Итого" in text  # headings in capitals
    assert "12,50" in text  # the Russian number format


@pytest.mark.django_db
def test_a_title_naming_a_file_or_an_address_is_printed_not_fetched(customer, seller):
    title = '<img src="file:///etc/passwd"> <link href="http://127.0.0.1:9/x.css">'
    order = paid_order(customer, line(ProductFactory(title_en=title)))

    text = pdf_text(pdf.render(order.invoice))

    assert "file:///etc/passwd" in text and "root:" not in text


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_numbers_run_without_gaps_in_the_year_and_asking_again_gives_the_same(customer):
    paid_at = timezone.now()  # one moment: on the real clock New Year may fall in between
    orders = [paid_order(customer, now=paid_at) for _ in range(3)]
    year = timezone.localtime(paid_at).year

    numbers = [Invoice.objects.get(order=o).number for o in orders]
    with transaction.atomic():
        again = services.invoices.issue_invoice(order=orders[1])

    assert numbers == [f"{year}-000001", f"{year}-000002", f"{year}-000003"]
    assert again.number == numbers[1] and again.pk == orders[1].invoice.pk
    assert InvoiceCounter.objects.get(year=year).last_number == 3


@pytest.mark.django_db
def test_a_second_mark_paid_is_refused_and_issues_no_second_invoice(customer):
    order = paid_order(customer)

    with pytest.raises(services.OrderStateRefused):
        services.mark_paid(order=order)

    assert Invoice.objects.count() == 1


@pytest.mark.django_db
def test_a_payment_rolled_back_gives_its_number_back(customer):
    first = checkout(customer, [line(ProductFactory())]).order
    second = checkout(customer, [line(ProductFactory())]).order

    with pytest.raises(RuntimeError), transaction.atomic():
        services.mark_paid(order=first)
        raise RuntimeError("the payment's transaction fails after the number was taken")
    services.mark_paid(order=second)

    assert not Invoice.objects.filter(order=first).exists()
    assert Invoice.objects.get(order=second).sequence == 1


@pytest.mark.django_db
def test_the_new_year_starts_again_at_one(customer, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    late = paid_order(customer, now=datetime(2026, 12, 31, 20, 30, tzinfo=UTC))  # 23:30 local
    later = paid_order(customer, now=datetime(2026, 12, 31, 21, 30, tzinfo=UTC))  # 00:30 local
    next_ = paid_order(customer, now=datetime(2027, 1, 2, 9, 0, tzinfo=UTC))

    assert Invoice.objects.get(order=late).number == "2026-000001"
    assert Invoice.objects.get(order=later).number == "2027-000001"
    assert Invoice.objects.get(order=next_).number == "2027-000002"
    assert str(Invoice.objects.get(order=later).issue_date) == "2027-01-01"


@pytest.mark.django_db
def test_changing_the_seller_later_does_not_rewrite_an_issued_invoice(customer, seller):
    order = paid_order(customer)
    seller.LAVKA_SELLER_NAME = "Renamed Company"

    text = pdf_text(pdf.render(Invoice.objects.get(order=order)))

    assert "Demo Crafts Ltd" in text and "Renamed Company" not in text


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_payments_at_once_get_distinct_consecutive_numbers() -> None:
    buyers = [UserFactory() for _ in range(6)]
    orders = [checkout(b, [line(ProductFactory())]).order for b in buyers]

    results = run_in_threads([lambda o=o: services.mark_paid(order=o) for o in orders])

    assert all(isinstance(r, Order) for r in results), results
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == [1, 2, 3, 4, 5, 6]


@pytest.mark.django_db
def test_orders_paid_before_invoices_existed_are_numbered_in_the_order_they_were_paid(
    customer,
):
    orders = [paid_order(customer) for _ in range(3)]
    Invoice.objects.all().delete()
    InvoiceCounter.objects.all().delete()
    paid_at = [
        datetime(2025, 12, 30, 10, tzinfo=UTC),
        datetime(2025, 6, 1, 10, tzinfo=UTC),
        datetime(2026, 1, 5, 10, tzinfo=UTC),
    ]
    for order, when in zip(orders, paid_at, strict=True):
        Order.objects.filter(pk=order.pk).update(paid_at=when)
    unpaid = checkout(customer, [line(ProductFactory())]).order
    migration = importlib.import_module(
        "lavka.marketplace.migrations.0012_invoices_of_orders_paid_before"
    )

    migration.number_paid_orders(apps, None)
    migration.number_paid_orders(apps, None)  # run again: nothing changes

    numbers = [Invoice.objects.get(order=o).number for o in orders]
    assert numbers == ["2025-000002", "2025-000001", "2026-000001"]
    assert not Invoice.objects.filter(order=unpaid).exists()
    assert str(Invoice.objects.get(order=orders[0]).issue_date) == "2025-12-30"
    assert InvoiceCounter.objects.get(year=2025).last_number == 2
    next_ = paid_order(customer, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert Invoice.objects.get(order=next_).number == "2026-000002"


# --- the "paid" email -----------------------------------------------------------------------


def send_paid_email(order: Order) -> None:
    row = OrderEmail.objects.get(order=order, kind=OrderEmail.Kind.PAID)
    assert services.send_order_email(order_email_id=row.pk)


@pytest.mark.django_db
def test_the_paid_email_carries_the_invoice_pdf(customer, seller):
    order = paid_order(customer)

    send_paid_email(order)

    paid = mail.outbox[-1]
    ((filename, content, mimetype),) = paid.attachments
    number = order.invoice.number
    assert (filename, mimetype) == (f"invoice-{number}.pdf", "application/pdf")
    assert f"Invoice {number}" in pdf_text(content)
    assert f"Your invoice {number} is attached" in paid.body


@pytest.mark.django_db
def test_the_invoice_survives_the_outbox(customer, settings):
    settings.EMAIL_BACKEND = "lavka.core.mail.OutboxEmailBackend"
    order = paid_order(customer)

    send_paid_email(order)

    stored = OutboxMessage.objects.get(subject__contains="is paid")
    parsed = message_from_bytes(stored.raw.encode())
    (attachment,) = [part for part in parsed.walk() if part.get_filename()]
    assert attachment.get_content_type() == "application/pdf"
    assert f"Invoice {order.invoice.number}" in pdf_text(attachment.get_payload(decode=True))
    assert "is attached" in stored.text_body


@pytest.mark.django_db
def test_without_weasyprint_the_paid_email_goes_with_a_link_and_the_reason_is_logged(
    customer, without_weasyprint, caplog, settings
):
    order = paid_order(customer)

    with caplog.at_level(logging.WARNING, logger="lavka.marketplace.orders.services"):
        send_paid_email(order)

    paid = mail.outbox[-1]
    assert paid.attachments == []
    assert f"{settings.SITE_URL}/shop/orders/{order.pk}/" in paid.body
    assert "can be downloaded from your order's page" in paid.body
    assert "WeasyPrint cannot load" in caplog.text
    assert OrderEmail.objects.get(order=order, kind="paid").state == "done"


def test_a_system_check_warns_when_weasyprint_cannot_load(without_weasyprint):
    (warning,) = checks.invoices_can_be_rendered()

    assert warning.id == "lavka.W001"
    assert "WeasyPrint" in warning.msg


def test_no_warning_where_weasyprint_loads():
    assert checks.invoices_can_be_rendered() == []


@pytest.mark.worker
@pytest.mark.slow
def test_the_paid_email_from_a_real_worker_has_the_pdf(celery_worker_process, mail_sink, customer):
    order = paid_order(customer)

    def paid_messages() -> list[Any]:
        return [m for m in mail_sink("customer@example.com") if "is paid" in str(m.subject)]

    arrived = wait_until(paid_messages, timeout=60)

    assert arrived, f"no paid email; worker log:\n{celery_worker_process.log_tail()}"
    parts = [p for p in arrived[0].message.walk() if p.get_filename()]
    assert [p.get_content_type() for p in parts] == ["application/pdf"]
    assert Invoice.objects.get(order=order).number in pdf_text(parts[0].get_payload(decode=True))


# --- downloads ------------------------------------------------------------------------------


def customer_url(order: Order) -> str:
    return reverse("marketplace:order_invoice", args=[order.pk])


def staff_url(order: Order) -> str:
    return reverse("marketplace:staff_order_invoice", args=[order.pk])


@pytest.mark.django_db
def test_the_customer_downloads_their_invoice_from_the_order_page(client, customer):
    order = paid_order(customer)
    client.force_login(customer)

    page = client.get(reverse("marketplace:order_detail", args=[order.pk])).content.decode()
    response = client.get(customer_url(order))

    assert customer_url(order) in page
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="invoice-{order.invoice.number}.pdf"' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert order.invoice.number in pdf_text(response.content)


@pytest.mark.django_db
def test_an_unpaid_order_has_no_invoice_link_and_its_invoice_is_a_404(client, customer):
    order = checkout(customer, [line(ProductFactory())]).order
    client.force_login(customer)

    page = client.get(reverse("marketplace:order_detail", args=[order.pk])).content.decode()

    assert "invoice.pdf" not in page
    assert client.get(customer_url(order)).status_code == 404


@pytest.mark.django_db
def test_another_customers_invoice_is_a_404(client, customer, other_customer):
    order = paid_order(customer)
    client.force_login(other_customer)

    assert client.get(customer_url(order)).status_code == 404


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, customer):
    order = paid_order(customer)

    response = client.get(customer_url(order))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_the_creator_who_sold_in_the_order_gets_no_invoice(client, customer):
    alice = approved_creator()
    order = paid_order(customer, line(ProductFactory(creator=alice)))
    client.force_login(alice.user)

    assert client.get(customer_url(order)).status_code == 404
    assert client.get(staff_url(order)).status_code == 403


@pytest.mark.django_db
def test_staff_download_any_paid_orders_invoice_from_the_staff_order_page(
    client, manager, customer
):
    order = paid_order(customer)
    unpaid = checkout(customer, [line(ProductFactory())]).order
    client.force_login(manager)

    page = client.get(reverse("marketplace:staff_order_detail", args=[order.pk]))
    response = client.get(staff_url(order))

    assert staff_url(order) in page.content.decode()
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert client.get(staff_url(unpaid)).status_code == 404
    assert client.get("/shop/staff/orders/999999999/invoice.pdf").status_code == 404


@pytest.mark.django_db
def test_a_refunded_orders_invoice_stays_downloadable_and_says_refunded(client, manager, customer):
    order = paid_order(customer)
    services.request_refund(order=order, requested_by=manager, reason="Changed their mind")
    client.force_login(customer)

    response = client.get(customer_url(order))

    assert response.status_code == 200
    assert "This order was refunded." in pdf_text(response.content)


@pytest.mark.django_db
def test_without_weasyprint_a_download_says_to_try_later(client, customer, without_weasyprint):
    order = paid_order(customer)
    client.force_login(customer)

    response = client.get(customer_url(order), follow=True)

    assert response.redirect_chain[-1][0] == reverse("marketplace:order_detail", args=[order.pk])
    assert "cannot be made right now" in response.content.decode()
