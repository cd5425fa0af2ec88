from __future__ import annotations

import pytest

from lavka.campaigns.models import Message


@pytest.fixture
def news_message(message_factory, owner):
    return message_factory(
        owner=owner,
        subject="News for {{ name }}",
        html_body=(
            "<p>Hello {{ name }}</p><script>alert(1)</script>"
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
        ),
    )


def _message_data(**overrides):
    data = {
        "subject": "Spring sale for {{ name }}",
        "html_body": "<h1>Hi {{ name }}</h1><p>Sale!</p>",
        "text_body": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


OWNED_PAGES = [
    "/campaigns/messages/{pk}/",
    "/campaigns/messages/{pk}/preview.html",
    "/campaigns/messages/{pk}/edit/",
    "/campaigns/messages/{pk}/delete/",
]


# --- access ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/campaigns/messages/", "/campaigns/messages/new/", *OWNED_PAGES])
def test_anonymous_visitors_are_sent_to_the_login_page(client, news_message, url):
    response = client.get(url.format(pk=news_message.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("url", OWNED_PAGES)
def test_the_owner_opens_their_message_pages(client, owner, news_message, url):
    client.force_login(owner)

    assert client.get(url.format(pk=news_message.pk)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["other_customer", "manager", "superuser"])
@pytest.mark.parametrize("url", OWNED_PAGES)
def test_anyone_else_gets_404_for_an_owners_message(request, client, news_message, role, url):
    client.force_login(request.getfixturevalue(role))

    assert client.get(url.format(pk=news_message.pk)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["other_customer", "manager"])
def test_anyone_else_cannot_edit_delete_or_test_send_a_message(request, client, news_message, role):
    client.force_login(request.getfixturevalue(role))
    pk = news_message.pk

    edit = client.post(f"/campaigns/messages/{pk}/edit/", _message_data(subject="Hacked"))
    test = client.post(f"/campaigns/messages/{pk}/test/")
    delete = client.post(f"/campaigns/messages/{pk}/delete/")

    news_message.refresh_from_db()
    assert edit.status_code == test.status_code == delete.status_code == 404
    assert news_message.subject == "News for {{ name }}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["other_customer", "manager"])
def test_the_message_list_shows_only_ones_own(request, client, news_message, role):
    client.force_login(request.getfixturevalue(role))

    response = client.get("/campaigns/messages/")

    assert list(response.context["page"].object_list) == []


# --- write ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_writes_a_message_and_lands_on_its_preview(client, owner):
    client.force_login(owner)

    response = client.post("/campaigns/messages/new/", _message_data())

    message = Message.objects.get(owner=owner)
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/messages/{message.pk}/"
    assert (message.subject, message.text_body, message.is_active) == (
        "Spring sale for {{ name }}",
        "",
        True,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject": "Hi {{ first_name }}"}, "subject"),
        ({"html_body": "<p>{{ request.user.password }}</p>"}, "html_body"),
        ({"text_body": "{% load evil %}{{ coupon }}"}, "text_body"),
        ({"subject": ""}, "subject"),
        ({"html_body": ""}, "html_body"),
        ({"subject": "x" * 256}, "subject"),
    ],
)
def test_bad_message_input_is_shown_at_the_field_and_saves_nothing(client, owner, data, field):
    client.force_login(owner)

    response = client.post("/campaigns/messages/new/", _message_data(**data))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_an_unknown_placeholder_error_names_it(client, owner):
    client.force_login(owner)

    response = client.post("/campaigns/messages/new/", _message_data(subject="Hi {{ first_name }}"))

    assert "{{ first_name }}" in response.context["form"].errors["subject"][0]


@pytest.mark.django_db
def test_a_bad_edit_leaves_the_message_as_it_was(client, owner, news_message):
    client.force_login(owner)

    response = client.post(
        f"/campaigns/messages/{news_message.pk}/edit/",
        _message_data(subject="Fine", html_body="{{ nope }}"),
    )

    news_message.refresh_from_db()
    assert response.status_code == 400
    assert news_message.subject == "News for {{ name }}"


@pytest.mark.django_db
def test_owner_edits_and_deactivates_a_message(client, owner, news_message):
    client.force_login(owner)

    client.post(
        f"/campaigns/messages/{news_message.pk}/edit/",
        {"subject": "Edited", "html_body": "<p>x</p>", "text_body": "Plain {{ email }}"},
    )

    news_message.refresh_from_db()
    assert (news_message.subject, news_message.text_body, news_message.is_active) == (
        "Edited",
        "Plain {{ email }}",
        False,
    )


# --- preview --------------------------------------------------------------------------


@pytest.mark.django_db
def test_preview_personalises_for_the_owner_and_generates_the_text(client, owner, news_message):
    client.force_login(owner)

    response = client.get(f"/campaigns/messages/{news_message.pk}/")

    html = response.content.decode()
    assert response.context["subject"] == "News for Olga Owner"
    assert "Hello Olga Owner" in response.context["text"]
    assert "/campaigns/unsubscribe/test/" in response.context["text"]
    assert "(generated from the HTML)" in html
    assert "<script>alert(1)</script>" not in html
    assert f'sandbox src="/campaigns/messages/{news_message.pk}/preview.html"' in html


@pytest.mark.django_db
def test_preview_as_a_chosen_recipient(
    client, owner, news_message, recipient_factory, other_customer
):
    anna = recipient_factory(owner=owner, full_name="Anna <b>Bold</b>", email="anna@example.net")
    foreign = recipient_factory(owner=other_customer, full_name="Not Yours")
    client.force_login(owner)

    as_anna = client.get(f"/campaigns/messages/{news_message.pk}/?recipient={anna.pk}")
    frame = client.get(f"/campaigns/messages/{news_message.pk}/preview.html?recipient={anna.pk}")
    as_foreign = client.get(f"/campaigns/messages/{news_message.pk}/?recipient={foreign.pk}")

    assert as_anna.context["subject"] == "News for Anna <b>Bold</b>"
    assert f"preview.html?recipient={anna.pk}" in as_anna.content.decode()
    assert "Hello Anna &lt;b&gt;Bold&lt;/b&gt;" in frame.content.decode()
    assert as_foreign.context["subject"] == "News for Olga Owner"


@pytest.mark.django_db
def test_the_html_frame_is_locked_down(client, owner, news_message):
    client.force_login(owner)

    response = client.get(f"/campaigns/messages/{news_message.pk}/preview.html")

    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert "script-src" not in policy
    assert "frame-ancestors 'self'" in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.django_db
def test_preview_shows_an_unknown_placeholder_saved_elsewhere(client, owner, message_factory):
    broken = message_factory(owner=owner, subject="Hi", html_body="<p>{{ coupon }}</p>")
    client.force_login(owner)

    page = client.get(f"/campaigns/messages/{broken.pk}/")
    frame = client.get(f"/campaigns/messages/{broken.pk}/preview.html")

    assert page.status_code == 200
    assert "unknown placeholders: coupon" in page.content.decode()
    assert 'data-testid="message-send-test"' not in page.content.decode()
    assert frame.content == b""


# --- test send ------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_a_test_to_me_queues_it_after_commit_with_a_flash(
    client, owner, news_message, django_capture_on_commit_callbacks
):
    client.force_login(owner)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/campaigns/messages/{news_message.pk}/test/", follow=True)

    assert "A test copy is on its way to owner@example.com" in response.content.decode()
    assert len(callbacks) == 1


@pytest.mark.worker
@pytest.mark.slow
def test_send_a_test_to_me_arrives_through_a_real_worker(
    client, owner, news_message, celery_worker_process, mail_sink
):
    from lavka.core.tests.support import wait_until

    client.force_login(owner)

    client.post(f"/campaigns/messages/{news_message.pk}/test/")
    received = wait_until(lambda: mail_sink("owner@example.com"), timeout=60)

    assert received, f"no test email; worker log:\n{celery_worker_process.log_tail()}"
    assert [mail.subject for mail in received] == ["[TEST] News for Olga Owner"]
    assert "Hello Olga Owner" in received[0].text()


@pytest.mark.django_db
def test_send_a_test_needs_a_post(client, owner, news_message):
    client.force_login(owner)

    assert client.get(f"/campaigns/messages/{news_message.pk}/test/").status_code == 405


@pytest.mark.django_db
def test_a_test_of_a_message_with_unknown_placeholders_is_refused(client, owner, message_factory):
    broken = message_factory(owner=owner, html_body="{{ coupon }}")
    client.force_login(owner)

    response = client.post(f"/campaigns/messages/{broken.pk}/test/", follow=True)

    assert "Fix the unknown placeholders" in response.content.decode()


# --- delete ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_asks_first_then_deletes(client, owner, news_message):
    client.force_login(owner)

    assert client.get(f"/campaigns/messages/{news_message.pk}/delete/").status_code == 200
    response = client.post(f"/campaigns/messages/{news_message.pk}/delete/")

    assert response.status_code == 302
    assert not Message.objects.filter(pk=news_message.pk).exists()


@pytest.mark.django_db
def test_a_message_used_by_a_mailing_is_not_deleted(client, owner, news_message, mailing_factory):
    mailing_factory(owner=owner, message=news_message)
    client.force_login(owner)

    confirm = client.get(f"/campaigns/messages/{news_message.pk}/delete/")
    response = client.post(f"/campaigns/messages/{news_message.pk}/delete/", follow=True)

    assert 'data-testid="message-in-use"' in confirm.content.decode()
    assert "used by a mailing" in response.content.decode()
    assert Message.objects.filter(pk=news_message.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("chosen", ["²", "٣", "9" * 30, "-1", "\x00", ""])
def test_preview_as_an_odd_recipient_id_shows_the_owner_instead(
    client, owner, news_message, chosen
):
    client.force_login(owner)

    page = client.get(f"/campaigns/messages/{news_message.pk}/", {"recipient": chosen})
    frame = client.get(f"/campaigns/messages/{news_message.pk}/preview.html", {"recipient": chosen})

    assert (page.status_code, frame.status_code) == (200, 200)
