from __future__ import annotations

import re
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
def test_outbox_list_shows_newest_first_to_a_superuser(client, superuser):
    send("First")
    send("Second")
    client.force_login(superuser)

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
def test_outbox_is_not_found_for_everyone_but_superusers(client, customer, manager, path):
    send("Secret")
    url = path.format(pk=OutboxMessage.objects.get().pk)

    statuses = [client.get(url).status_code, client.post(url).status_code]
    for user in (customer, manager):
        client.force_login(user)
        statuses += [client.get(url).status_code, client.post(url).status_code]

    assert statuses == [404] * 6


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


@pytest.mark.django_db
def test_a_manager_cannot_read_a_password_reset_link_for_the_admin(
    client, settings, manager, superuser
):
    """Finding 1 of issue 8: a reset link read at /outbox/ made a manager superuser."""
    settings.EMAIL_BACKEND = OUTBOX
    client.force_login(manager)
    client.post("/accounts/password/reset/", {"email": superuser.email})
    message = OutboxMessage.objects.get(to=[superuser.email])
    key_path = re.search(r"/accounts/password/reset/key/\S+/", message.text_body).group(0)

    pages = [f"/outbox/{suffix}" for suffix in ("", f"{message.pk}/", f"{message.pk}/html/")]
    pages += ["/outbox/?q=" + superuser.email, "/admin/core/outboxmessage/"]
    responses = {page: client.get(page, follow=True) for page in pages}

    assert {page: r.status_code for page, r in responses.items()} == {
        **{page: 404 for page in pages[:4]},
        "/admin/core/outboxmessage/": 403,  # signed in, not staff: no admin at all
    }
    assert all(key_path.encode() not in r.content for r in responses.values())
    assert 'href="/outbox/"' not in client.get("/").content.decode()


@pytest.mark.django_db
def test_migrate_takes_the_outbox_permission_from_existing_manager_groups(client, manager):
    """Installs from before issue 8 granted managers the outbox; the next migrate ends it."""
    from django.contrib.auth.models import Group, Permission
    from django.core.management import call_command

    send("Reset your password")
    group = Group.objects.get(name="manager")
    group.permissions.add(Permission.objects.get(codename="view_outboxmessage"))

    call_command("migrate", verbosity=0)

    assert not group.permissions.filter(codename="view_outboxmessage").exists()
    client.force_login(manager)
    assert client.get("/outbox/").status_code == 404
