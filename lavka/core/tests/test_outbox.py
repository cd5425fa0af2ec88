from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone

from lavka.core.models import OutboxMessage
from lavka.core.tasks import prune_outbox

OUTBOX = "lavka.core.mail.OutboxEmailBackend"


def send(subject: str, to: str = "reader@example.com", html: str = "") -> None:
    message = EmailMultiAlternatives(
        subject,
        f"Text of {subject}",
        "shop@example.com",
        [to],
        connection=get_connection(OUTBOX),
        headers={"X-Lavka-Test": "yes"},
    )
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


@pytest.mark.django_db
def test_outbox_backend_stores_text_html_headers_and_raw_source():
    send("Hello", html="<p>Hi <b>there</b></p>")

    stored = OutboxMessage.objects.get()
    assert stored.to == ["reader@example.com"]
    assert stored.text_body == "Text of Hello"
    assert stored.html_body == "<p>Hi <b>there</b></p>"
    assert stored.headers["X-Lavka-Test"] == "yes"
    assert stored.message_id.startswith("<")
    assert "Content-Type: multipart/alternative" in stored.raw


@pytest.mark.django_db
def test_outbox_list_shows_newest_first_to_a_manager(client, manager):
    send("First")
    send("Second")
    client.force_login(manager)

    response = client.get("/outbox/")

    content = response.content.decode()
    assert response.status_code == 200
    assert content.index("Second") < content.index("First")


@pytest.mark.django_db
def test_outbox_search_filters_by_subject(client, superuser):
    send("Invoice 42")
    send("Welcome")
    client.force_login(superuser)

    content = client.get("/outbox/", {"q": "invoice"}).content.decode()

    assert "Invoice 42" in content
    assert "Welcome" not in content


@pytest.mark.django_db
def test_outbox_detail_shows_text_headers_and_frames_html(client, superuser):
    send("Receipt", html="<h1>Receipt</h1>")
    message = OutboxMessage.objects.get()
    client.force_login(superuser)

    detail = client.get(f"/outbox/{message.pk}/").content.decode()
    html = client.get(f"/outbox/{message.pk}/html/")

    assert "Text of Receipt" in detail
    assert "X-Lavka-Test" in detail
    assert f'src="/outbox/{message.pk}/html/"' in detail
    assert html.content == b"<h1>Receipt</h1>"
    assert "sandbox" in html["Content-Security-Policy"]
    assert "default-src 'none'" in html["Content-Security-Policy"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/outbox/", "/outbox/{pk}/", "/outbox/{pk}/html/"])
def test_outbox_is_closed_to_anonymous_visitors_and_customers(client, customer, path):
    send("Secret")
    url = path.format(pk=OutboxMessage.objects.get().pk)

    anonymous = client.get(url)
    client.force_login(customer)
    as_customer = client.get(url)

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    assert as_customer.status_code == 403


@pytest.mark.django_db
def test_outbox_unknown_message_is_404(client, superuser):
    client.force_login(superuser)

    assert client.get("/outbox/999999/").status_code == 404


@pytest.mark.django_db
def test_prune_outbox_removes_only_messages_past_retention(settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    send("Old")
    send("New")
    OutboxMessage.objects.filter(subject="Old").update(
        created_at=timezone.now() - timedelta(days=31)
    )

    deleted = prune_outbox.apply().get()
    deleted_again = prune_outbox.apply().get()

    assert deleted == 1
    assert deleted_again == 0
    assert list(OutboxMessage.objects.values_list("subject", flat=True)) == ["New"]
