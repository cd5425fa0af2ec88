"""Names and subjects reach email headers, so every way in refuses line breaks and other
control characters with the same clear message, and saves nothing (issue 8, finding 3).
The sending side, for rows written before this rule, is in test_send_isolation.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from lavka.campaigns.models import Message, Recipient
from lavka.campaigns.tests.helpers import run_confirmed_imports

ONE_LINE = "Must be one line of text"
BAD_TEXT = [
    ("Anna\r\nBcc: everyone@example.org", "a line break"),
    ("Anna\nSmith", "a line break"),
    ("Anna\u2028Smith", "a line break"),
    ("Anna\tSmith", "a tab"),
    ("Anna\x1bSmith", "U+001B"),
    ("Anna\x85Smith", "a line break"),
]


@pytest.fixture
def signed_in(client: Any, owner: Any) -> Any:
    client.force_login(owner)
    return client


def json_post(client: Any, url: str, data: Any) -> Any:
    return client.post(url, data, content_type="application/json")


# --- HTML forms -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("bad", "found"), BAD_TEXT)
def test_the_recipient_form_refuses_a_name_with_a_control_character(signed_in, owner, bad, found):
    response = signed_in.post(
        "/campaigns/recipients/new/",
        {"email": "new@example.net", "full_name": bad, "phone": "", "country": "", "comment": ""},
    )

    assert response.status_code == 400
    errors = response.context["form"].errors["full_name"]
    assert errors == [
        f"{ONE_LINE}: line breaks, tabs and other control characters are not allowed "
        f"(found {found})."
    ]
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_editing_a_recipient_refuses_a_name_with_a_line_break_and_keeps_the_old_one(
    signed_in, owner, recipient_factory
):
    reader = recipient_factory(owner=owner, email="reader@example.net", full_name="Rita")

    response = signed_in.post(
        f"/campaigns/recipients/{reader.pk}/edit/",
        {"email": "reader@example.net", "full_name": "Ri\nta", "phone": "", "country": ""},
    )

    assert response.status_code == 400
    assert ONE_LINE in str(response.context["form"].errors["full_name"])
    reader.refresh_from_db()
    assert reader.full_name == "Rita"


@pytest.mark.django_db
@pytest.mark.parametrize(("bad", "found"), BAD_TEXT[:2])
def test_the_message_form_refuses_a_subject_with_a_control_character(signed_in, bad, found):
    response = signed_in.post(
        "/campaigns/messages/new/",
        {"subject": bad, "html_body": "<p>Hi</p>", "text_body": "", "is_active": "on"},
    )

    assert response.status_code == 400
    assert f"(found {found})" in str(response.context["form"].errors["subject"])
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_bodies_keep_their_line_breaks(signed_in):
    response = signed_in.post(
        "/campaigns/messages/new/",
        {
            "subject": "News for {{ name }}",
            "html_body": "<p>Hi</p>\r\n<p>More</p>",
            "text_body": "Hi\r\n\r\nMore",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    assert Message.objects.get().text_body == "Hi\r\n\r\nMore"


# --- API --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("bad", "found"), BAD_TEXT)
def test_the_api_refuses_a_recipient_name_with_a_control_character(signed_in, bad, found):
    response = json_post(
        signed_in, "/api/v1/campaigns/recipients/", {"email": "a@example.net", "full_name": bad}
    )

    assert response.status_code == 400
    assert response.json()["full_name"] == [
        f"{ONE_LINE}: line breaks, tabs and other control characters are not allowed "
        f"(found {found})."
    ]
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_a_line_break_when_a_recipient_is_patched(
    signed_in, owner, recipient_factory
):
    reader = recipient_factory(owner=owner, full_name="Rita")

    response = signed_in.patch(
        f"/api/v1/campaigns/recipients/{reader.pk}/",
        {"full_name": "Rita\r\nBcc: x@example.org"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert ONE_LINE in response.json()["full_name"][0]
    reader.refresh_from_db()
    assert reader.full_name == "Rita"


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["Sale\r\nBcc: x@example.org", "Sale\x00now", "Sale\u2029now"])
def test_the_api_refuses_a_message_subject_with_a_control_character(signed_in, bad):
    response = json_post(
        signed_in, "/api/v1/campaigns/messages/", {"subject": bad, "html_body": "<p>Hi</p>"}
    )

    assert response.status_code == 400
    assert "subject" in response.json()
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_an_address_with_a_line_break_is_refused_by_the_api(signed_in):
    response = json_post(
        signed_in,
        "/api/v1/campaigns/recipients/",
        {"email": "a@example.net\nBcc: x@example.org", "full_name": "A"},
    )

    assert response.status_code == 400
    assert "email" in response.json()
    assert not Recipient.objects.exists()


# --- CSV import -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_csv_row_whose_name_has_a_line_break_is_refused_and_the_rest_imported(signed_in, owner):
    content = (
        b"email,full_name\n"  # line 1
        b"ok@example.net,Ok\n"  # 2
        b'broken@example.net,"Anna\nBcc: x@example.org"\n'  # 3 (a quoted cell over two lines)
        b"tab@example.net,Tab\there\n"  # 5
        b"after@example.net,After\n"  # 6
    )

    preview = signed_in.post(
        "/campaigns/recipients/import/",
        {"file": SimpleUploadedFile("clients.csv", content, content_type="text/csv")},
    )
    rejected = {row.line: row for row in preview.context["plan"].rows if row.action == "reject"}
    token = preview.context["confirm_form"].initial["token"]
    signed_in.post("/campaigns/recipients/import/confirm/", {"token": token})
    run_confirmed_imports()

    assert sorted(rejected) == [3, 5]
    assert rejected[3].errors == [
        "The full name must be one line, without control characters (found a line break)."
    ]
    assert "(found a tab)" in rejected[5].errors[0]
    assert "without control characters" in preview.content.decode()
    assert sorted(Recipient.objects.values_list("email", flat=True)) == [
        "after@example.net",
        "ok@example.net",
    ]


# --- admin ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_refuses_a_recipient_name_with_a_line_break(client, superuser, owner):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:campaigns_recipient_add"),
        {
            "owner": owner.pk,
            "email": "new@example.net",
            "full_name": "Nina\r\nBcc: x@example.org",
            "comment": "",
            "phone": "",
            "country": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert ONE_LINE in str(response.context["adminform"].form.errors["full_name"])
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_message_subject_with_a_line_break(client, superuser, owner):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:campaigns_message_add"),
        {
            "owner": owner.pk,
            "subject": "Hi\nBcc: x@example.org",
            "html_body": "<p>Hi</p>",
            "text_body": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert ONE_LINE in str(response.context["adminform"].form.errors["subject"])
    assert not Message.objects.exists()
