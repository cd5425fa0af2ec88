from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lavka.campaigns.models import ImportStatus, Recipient, RecipientImport
from lavka.campaigns.tests.helpers import run_confirmed_imports

IMPORT_URL = "/campaigns/recipients/import/"
CONFIRM_URL = "/campaigns/recipients/import/confirm/"


def _upload(client, content, *, name="clients.csv", target_list=None):
    data = {"file": SimpleUploadedFile(name, content, content_type="text/csv")}
    if target_list is not None:
        data["target_list"] = target_list.pk
    return client.post(IMPORT_URL, data)


def _confirm(client, preview):
    token = preview.context["confirm_form"].initial["token"]
    response = client.post(CONFIRM_URL, {"token": token})
    run_confirmed_imports()
    return response


def _rows(preview, action):
    return {row.line: row for row in preview.context["plan"].rows if row.action == action}


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


# --- access ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_visitors_cannot_import(client):
    preview = client.post(IMPORT_URL, {"file": SimpleUploadedFile("a.csv", b"email\na@x.org\n")})
    confirm = client.post(CONFIRM_URL, {"token": "x"})

    assert preview.status_code == confirm.status_code == 302
    assert preview["Location"].startswith("/accounts/login/")
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_another_user_cannot_confirm_someone_elses_preview(client, owner, other_customer):
    client.force_login(owner)
    preview = _upload(client, b"email\nanna@example.net\n")
    token = preview.context["confirm_form"].initial["token"]
    intruder = client.__class__()
    intruder.force_login(other_customer)

    response = intruder.post(CONFIRM_URL, {"token": token})

    assert response.status_code == 400
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_a_list_of_another_owner_cannot_be_the_target(signed_in, other_customer, list_factory):
    foreign = list_factory(owner=other_customer)

    response = _upload(signed_in, b"email\nanna@example.net\n", target_list=foreign)

    assert response.status_code == 400
    assert "target_list" in response.context["form"].errors


# --- preview then import --------------------------------------------------------------


@pytest.mark.django_db
def test_preview_writes_nothing_and_confirm_imports_what_it_showed(
    signed_in, owner, recipient_factory, list_factory
):
    recipient_factory(owner=owner, email="known@example.net", full_name="Old Name", comment="keep")
    news = list_factory(owner=owner, name="News")
    content = (
        b"email,full_name,phone,country,comment\n"
        b"anna@example.net,Anna,+49 30 1234567,DE,fair\n"
        b"KNOWN@example.net,New Name,,,\n"
        b"not-an-email,Bad,,,\n"
        b"boris@example.net,Boris,,,\n"
    )

    preview = _upload(signed_in, content, target_list=news)

    assert preview.status_code == 200
    assert Recipient.objects.filter(owner=owner).count() == 1
    assert sorted(_rows(preview, "create")) == [2, 5]
    assert _rows(preview, "update")[3].changed == ["full_name"]
    assert "not-an-email" in _rows(preview, "reject")[4].errors[0]

    response = _confirm(signed_in, preview)

    job = RecipientImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/campaigns/recipients/imports/{job.pk}/"
    assert (job.status, job.created, job.updated, job.rejected) == (ImportStatus.FINISHED, 2, 1, 1)
    by_email = {r.email: r for r in Recipient.objects.filter(owner=owner)}
    assert sorted(by_email) == ["anna@example.net", "boris@example.net", "known@example.net"]
    assert str(by_email["anna@example.net"].phone) == "+49301234567"
    assert by_email["anna@example.net"].country.code == "DE"
    assert (by_email["known@example.net"].full_name, by_email["known@example.net"].comment) == (
        "New Name",
        "keep",
    )
    assert news.recipients.count() == 3


@pytest.mark.django_db
def test_a_second_confirm_imports_nothing_more_and_shows_the_same_import(signed_in, owner):
    preview = _upload(signed_in, b"email\nanna@example.net\n")
    first = _confirm(signed_in, preview)

    again = _confirm(signed_in, preview)

    assert again.status_code == 302
    assert again["Location"] == first["Location"]
    assert RecipientImport.objects.count() == 1
    assert Recipient.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db
def test_confirm_without_a_preview_is_refused(signed_in, owner):
    response = signed_in.post(CONFIRM_URL, {"token": "made-up"})

    assert response.status_code == 400
    assert "no previewed import" in response.content.decode()
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_confirm_with_a_different_token_than_the_preview_is_refused(signed_in, owner):
    _upload(signed_in, b"email\nanna@example.net\n")

    response = signed_in.post(CONFIRM_URL, {"token": "not-the-one"})

    assert response.status_code == 400
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_confirm_after_the_recipients_changed_imports_nothing(signed_in, owner, recipient_factory):
    preview = _upload(signed_in, b"email\nanna@example.net\nboris@example.net\n")
    recipient_factory(owner=owner, email="boris@example.net", full_name="Meanwhile")

    response = _confirm(signed_in, preview)

    assert RecipientImport.objects.get().status == ImportStatus.REFUSED
    page = signed_in.get(response["Location"])
    assert "changed since the preview, so nothing was imported" in page.content.decode()
    assert list(Recipient.objects.values_list("email", flat=True)) == ["boris@example.net"]


@pytest.mark.django_db
def test_duplicates_in_the_file_take_the_last_line(signed_in, owner):
    content = (
        b"email,full_name\nanna@example.net,First\nbob@example.net,Bob\nANNA@example.net,Last\n"
    )

    preview = _upload(signed_in, content)
    _confirm(signed_in, preview)

    replaced = _rows(preview, "replaced")
    assert list(replaced) == [2]
    assert replaced[2].replaced_by == 4
    assert Recipient.objects.get(email="anna@example.net").full_name == "Last"
    assert Recipient.objects.count() == 2


@pytest.mark.django_db
def test_importing_does_not_resubscribe_anyone(signed_in, owner, recipient_factory):
    from django.utils import timezone

    gone = recipient_factory(owner=owner, email="gone@example.net", unsubscribed_at=timezone.now())

    _confirm(signed_in, _upload(signed_in, b"email,full_name\ngone@example.net,New\n"))

    gone.refresh_from_db()
    assert gone.full_name == "New"
    assert gone.unsubscribed_at is not None


@pytest.mark.django_db
def test_an_exported_list_imports_back_unchanged(signed_in, owner, list_factory, recipient_factory):
    news = list_factory(owner=owner, name="News")
    news.recipients.add(
        recipient_factory(
            owner=owner, email="a@example.net", full_name="=cmd", phone="+74951234567", country="RU"
        )
    )
    exported = b"".join(signed_in.get(f"/campaigns/lists/{news.pk}/export.csv").streaming_content)

    preview = _upload(signed_in, exported)

    assert preview.context["counts"]["unchanged"] == 1
    assert preview.context["counts"]["reject"] == 0


# --- bad rows, reported by line -------------------------------------------------------


@pytest.mark.django_db
def test_bad_rows_are_reported_by_line_number_and_not_imported(signed_in, owner):
    content = (
        b"email,full_name,phone,country\n"  # 1
        b"ok@example.net,Ok,,\n"  # 2
        b"bad@@example.net,Bad,,\n"  # 3
        b"\n"  # 4: blank lines are skipped
        b"short@example.net\n"  # 5
        b'quote@example.net,"broken"quote,,\n'  # 6
        b"phone@example.net,P,12,\n"  # 7
        b"country@example.net,C,,Atlantis\n"  # 8
        b",No email,,\n"  # 9
        b"local@example.net,L,030 1234567,DE\n"  # 10: a local number with a country is fine
    )

    preview = _upload(signed_in, content)
    rejected = _rows(preview, "reject")

    assert sorted(rejected) == [3, 5, 6, 7, 8, 9]
    assert "not a valid email" in rejected[3].errors[0]
    assert "Expected 4 columns, found 1" in rejected[5].errors[0]
    assert "Malformed line" in rejected[6].errors[0]
    assert "phone" in rejected[7].errors[0]
    assert "Atlantis" in rejected[8].errors[0]
    assert "email is missing" in rejected[9].errors[0]
    html = preview.content.decode()
    assert 'data-line="3"' in html and "bad@@example.net" in html

    _confirm(signed_in, preview)
    assert sorted(Recipient.objects.values_list("email", flat=True)) == [
        "local@example.net",
        "ok@example.net",
    ]
    assert str(Recipient.objects.get(email="local@example.net").phone) == "+49301234567"


@pytest.mark.django_db
def test_an_unterminated_quote_is_reported_at_its_line(signed_in):
    content = (
        b'email,full_name\nok@example.net,Ok\n"broken@example.net,Unterminated\nx@example.net,X\n'
    )

    preview = _upload(signed_in, content)

    assert list(_rows(preview, "reject")) == [3]
    assert list(_rows(preview, "create")) == [2]


@pytest.mark.django_db
def test_a_file_with_only_bad_rows_offers_no_import(signed_in):
    preview = _upload(signed_in, b"email\nnope\n")

    assert preview.context["plan"].importable is False
    assert 'data-testid="import-confirm"' not in preview.content.decode()


# --- encodings and separators ---------------------------------------------------------


@pytest.mark.django_db
def test_a_windows_1251_file_is_read(signed_in, owner):
    content = "email;full_name;comment\nivan@example.net;Иван Петров;Постоянный клиент\n"

    preview = _upload(signed_in, content.encode("cp1251"))
    _confirm(signed_in, preview)

    ivan = Recipient.objects.get(owner=owner)
    assert (ivan.full_name, ivan.comment) == ("Иван Петров", "Постоянный клиент")


@pytest.mark.django_db
def test_a_utf8_file_with_bom_and_crlf_is_read(signed_in, owner):
    content = "\ufeffEmail,Full Name\r\nolga@example.net,Ольга\r\n".encode()

    preview = _upload(signed_in, content)
    _confirm(signed_in, preview)

    assert Recipient.objects.get(owner=owner).full_name == "Ольга"


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_excels_unicode_text_file_is_read(signed_in, owner, encoding):
    # Excel's "Unicode text": UTF-16 with its BOM, tab-separated, CRLF
    name = "Ольга Ивановна"
    content = f"\ufeffemail\tfull_name\r\nolga@example.net\t{name}\r\n".encode(encoding)

    preview = _upload(signed_in, content, name="clients.txt")
    _confirm(signed_in, preview)

    assert Recipient.objects.get(owner=owner).full_name == name


@pytest.mark.django_db
def test_unknown_columns_are_ignored_and_named(signed_in, owner):
    preview = _upload(signed_in, b"email,city\nanna@example.net,Berlin\n")

    assert preview.context["plan"].ignored_columns == ["city"]
    assert "city" in preview.content.decode()


# --- files that are refused whole -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a CSV file"),
        (b"name,phone\nAnna,+4930123\n", "must be"),
        (b"", "The submitted file is empty"),
        (b"   \n", "The file is empty"),
        (b"email\n\x01\x02binary@example.net\n", "not a CSV file"),
        (b"email,email\na@example.net,b@example.net\n", "more than once"),
        (b"email\n\x98\x98@example.net\n", "neither UTF-8 nor Windows-1251"),
        (b"\xff\xfee\x00m\x00\x00\xd8", "not a CSV file"),  # UTF-16 cut mid-pair
        ("\ufeffemail\n\x01@example.net\n".encode("utf-16-le"), "not a CSV file"),
    ],
)
def test_a_file_that_is_not_usable_csv_is_refused_and_imports_nothing(
    signed_in, owner, content, message
):
    response = _upload(signed_in, content)

    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["file"])
    assert message in errors
    assert signed_in.session.get("campaigns:import") is None
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_a_file_over_the_size_limit_is_refused(signed_in, settings):
    settings.CAMPAIGNS_IMPORT_MAX_BYTES = 1024
    content = b"email\n" + b"".join(f"r{i}@example.net\n".encode() for i in range(200))

    response = _upload(signed_in, content)

    assert response.status_code == 400
    assert "larger than 1 KB" in " ".join(response.context["form"].errors["file"])
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_a_large_import_runs_in_a_few_queries(
    signed_in, owner, settings, django_assert_max_num_queries
):
    settings.CAMPAIGNS_IMPORT_PAUSE_MS = 0
    content = b"email,full_name\n" + b"".join(
        f"r{i}@example.net,Reader {i}\n".encode() for i in range(2500)
    )
    preview = _upload(signed_in, content)
    token = preview.context["confirm_form"].initial["token"]

    with django_assert_max_num_queries(12):  # 2 of them: the permission check
        signed_in.post(CONFIRM_URL, {"token": token})
    # the check, then 3 batches of a few statements each; SQLite inserts ~110 rows a
    # statement (999 parameters), PostgreSQL a whole batch
    with django_assert_max_num_queries(80):
        run_confirmed_imports()

    assert Recipient.objects.filter(owner=owner).count() == 2500
