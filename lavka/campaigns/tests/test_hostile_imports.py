"""Hostile CSV uploads not covered elsewhere: file names with NUL and markup, addresses
with line breaks, the same address in another case than the stored one, formula and
markup cells (the export's guard is tested in test_csv_import)."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lavka.campaigns.csv_io import ImportRefused, read_lines
from lavka.campaigns.models import Recipient, RecipientImport
from lavka.campaigns.tests.helpers import run_confirmed_imports

IMPORT_URL = "/campaigns/recipients/import/"
CONFIRM_URL = "/campaigns/recipients/import/confirm/"
MARKUP = "<script>alert(1)</script>"

pytestmark = pytest.mark.django_db


def _upload(client, content, *, name="clients.csv"):
    return client.post(
        IMPORT_URL, {"file": SimpleUploadedFile(name, content, content_type="text/csv")}
    )


def _confirm(client, preview):
    token = preview.context["confirm_form"].initial["token"]
    response = client.post(CONFIRM_URL, {"token": token})
    run_confirmed_imports()
    return response


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


@pytest.mark.parametrize(
    "name", ["a\x00b.csv", f"{MARKUP}.csv", "x" * 300 + ".csv", "a\r\nb.csv", "../../etc.csv"]
)
def test_a_hostile_file_name_is_stored_printable_and_shown_escaped(signed_in, owner, name):
    preview = _upload(signed_in, b"email\nanna@example.net\n", name=name)
    assert preview.status_code == 200
    assert MARKUP not in preview.content.decode()

    response = _confirm(signed_in, preview)

    assert response.status_code == 302
    job = RecipientImport.objects.get()
    assert "\x00" not in job.filename and "\n" not in job.filename
    assert "/" not in job.filename and len(job.filename) <= 255
    page = signed_in.get(response["Location"]).content.decode()
    assert MARKUP not in page
    assert list(Recipient.objects.values_list("email", flat=True)) == ["anna@example.net"]


def test_an_address_with_a_line_break_inside_is_rejected_and_one_ending_in_it_is_trimmed(
    signed_in, owner
):
    content = (
        b'email,full_name\r\n"anna@example.net\r\nBcc: eve@example.org",Anna\r\n'
        b'"bob@example.net\r\n",Bob\r\n'
    )

    preview = _upload(signed_in, content)
    _confirm(signed_in, preview)

    rows = {row.line: row for row in preview.context["plan"].rows}
    assert rows[2].action == "reject"
    assert list(Recipient.objects.values_list("email", flat=True)) == ["bob@example.net"]


def test_an_address_in_another_case_than_the_stored_one_updates_it(
    signed_in, owner, recipient_factory
):
    stored = recipient_factory(owner=owner, email="Anna.Smith@Example.NET", full_name="Old")

    preview = _upload(signed_in, b"email,full_name\nANNA.SMITH@example.net,New\n")
    _confirm(signed_in, preview)

    assert [row.action for row in preview.context["plan"].rows] == ["update"]
    assert list(Recipient.objects.values_list("pk", "full_name")) == [(stored.pk, "New")]


def test_markup_and_formula_cells_are_shown_escaped_and_stored_as_typed(signed_in, owner):
    content = (
        f'email,full_name,comment\n"{MARKUP}@x",Bad,\nanna@example.net,"=HYPERLINK(""x"")",'
        f'"{MARKUP}"\n'
    ).encode()

    preview = _upload(signed_in, content)
    assert MARKUP not in preview.content.decode()
    _confirm(signed_in, preview)

    anna = Recipient.objects.get()
    assert (anna.full_name, anna.comment) == ('=HYPERLINK("x")', MARKUP)


def test_a_header_of_many_columns_is_read_in_linear_time():
    # A 5 MB first line holds ~700k column names; looking for repeated ones by counting
    # each in the whole line took hours of one web worker's CPU.
    text = "email," + ",".join(f"c{i}" for i in range(30_000)) + ",c7\nanna@example.net\n"

    started = time.monotonic()
    with pytest.raises(ImportRefused, match="c7 appears more than once"):
        read_lines(text)

    assert time.monotonic() - started < 2
