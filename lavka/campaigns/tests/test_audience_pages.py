from __future__ import annotations

import csv
import io

import pytest

from lavka.campaigns.models import Recipient, RecipientList


@pytest.fixture
def reader(recipient_factory, owner):
    return recipient_factory(owner=owner, email="reader@example.net", full_name="Rita Reader")


@pytest.fixture
def news(list_factory, owner):
    return list_factory(owner=owner, name="News")


def _recipient_data(**overrides):
    data = {
        "email": "new@example.net",
        "full_name": "Nina New",
        "phone": "+49 30 1234567",
        "country": "DE",
        "comment": "",
    }
    data.update(overrides)
    return data


# --- access ---------------------------------------------------------------------------

OWNED_PAGES = [
    "/campaigns/recipients/{recipient}/edit/",
    "/campaigns/recipients/{recipient}/delete/",
    "/campaigns/lists/{list}/",
    "/campaigns/lists/{list}/edit/",
    "/campaigns/lists/{list}/delete/",
    "/campaigns/lists/{list}/export.csv",
]
OWNED_ACTIONS = [
    "/campaigns/recipients/{recipient}/deactivate/",
    "/campaigns/recipients/{recipient}/reactivate/",
    "/campaigns/recipients/{recipient}/resubscribe/",
    "/campaigns/recipients/{recipient}/delete/",
    "/campaigns/lists/{list}/delete/",
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/campaigns/recipients/",
        "/campaigns/recipients/new/",
        "/campaigns/recipients/import/",
        "/campaigns/lists/",
        "/campaigns/lists/new/",
        *OWNED_PAGES,
    ],
)
def test_anonymous_visitors_are_sent_to_the_login_page(client, reader, news, url):
    response = client.get(url.format(recipient=reader.pk, list=news.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("url", OWNED_PAGES)
def test_the_owner_opens_their_own_pages(client, owner, reader, news, url):
    client.force_login(owner)

    response = client.get(url.format(recipient=reader.pk, list=news.pk))

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["other_customer", "manager", "superuser"])
@pytest.mark.parametrize("url", OWNED_PAGES)
def test_anyone_else_gets_404_for_an_owners_pages(request, client, reader, news, role, url):
    client.force_login(request.getfixturevalue(role))

    response = client.get(url.format(recipient=reader.pk, list=news.pk))

    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["other_customer", "manager"])
@pytest.mark.parametrize("url", OWNED_ACTIONS)
def test_anyone_else_cannot_change_or_delete_an_owners_audience(
    request, client, reader, news, role, url
):
    reader.unsubscribed_at = "2024-01-01T00:00:00Z"
    reader.save()
    client.force_login(request.getfixturevalue(role))

    response = client.post(url.format(recipient=reader.pk, list=news.pk))

    reader.refresh_from_db()
    assert response.status_code == 404
    assert reader.is_active and reader.unsubscribed_at is not None
    assert RecipientList.objects.filter(pk=news.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["other_customer", "manager", "superuser"])
def test_lists_pages_show_only_ones_own_recipients_and_lists(request, client, reader, news, role):
    client.force_login(request.getfixturevalue(role))

    recipients = client.get("/campaigns/recipients/").content.decode()
    lists = client.get("/campaigns/lists/").content.decode()

    assert "reader@example.net" not in recipients
    assert "News" not in lists


# --- recipients list ------------------------------------------------------------------


@pytest.mark.django_db
def test_recipient_list_searches_and_filters_by_state(client, owner, recipient_factory):
    from django.utils import timezone

    recipient_factory(owner=owner, email="anna@example.net", full_name="Anna")
    recipient_factory(owner=owner, email="boris@example.net", full_name="Boris")
    recipient_factory(owner=owner, email="gone@example.net", unsubscribed_at=timezone.now())
    recipient_factory(
        owner=owner,
        email="bounced@example.net",
        suppressed_at=timezone.now(),
        suppression_reason="550",
    )
    recipient_factory(owner=owner, email="paused@example.net", is_active=False)
    client.force_login(owner)

    def emails(query):
        page = client.get("/campaigns/recipients/" + query).context["page"]
        return sorted(r.email for r in page.object_list)

    assert emails("?q=ann") == ["anna@example.net"]
    assert emails("?state=unsubscribed") == ["gone@example.net"]
    assert emails("?state=suppressed") == ["bounced@example.net"]
    assert emails("?state=inactive") == ["paused@example.net"]
    assert emails("?state=active") == ["anna@example.net", "boris@example.net"]
    assert len(emails("?state=nonsense")) == 5


@pytest.mark.django_db
def test_recipient_list_shows_unsubscribed_and_suppressed_visibly(client, owner, recipient_factory):
    from django.utils import timezone

    recipient_factory(owner=owner, email="gone@example.net", unsubscribed_at=timezone.now())
    recipient_factory(owner=owner, email="bounced@example.net", suppressed_at=timezone.now())
    client.force_login(owner)

    html = client.get("/campaigns/recipients/").content.decode()

    gone_row = html.split('data-email="gone@example.net"', 1)[1].split("</tr>", 1)[0]
    bounced_row = html.split('data-email="bounced@example.net"', 1)[1].split("</tr>", 1)[0]
    assert "unsubscribed" in gone_row
    assert "suppressed" in bounced_row


@pytest.mark.django_db
def test_recipient_list_pages_keep_the_filter(client, owner, recipient_factory):
    for i in range(55):
        recipient_factory(owner=owner, email=f"p{i:02}@example.net", full_name="Paged")
    client.force_login(owner)

    first = client.get("/campaigns/recipients/?q=Paged&state=active")
    second = client.get("/campaigns/recipients/?q=Paged&state=active&page=2")

    assert len(first.context["page"].object_list) == 50
    assert "?q=Paged&amp;state=active&amp;page=2" in first.content.decode()
    assert len(second.context["page"].object_list) == 5


@pytest.mark.django_db
def test_recipient_list_query_count_does_not_grow_with_recipients(
    client, owner, recipient_factory, list_factory, django_assert_max_num_queries
):
    lists = [list_factory(owner=owner, name=f"L{i}") for i in range(3)]
    for i in range(40):
        recipient = recipient_factory(owner=owner, email=f"q{i}@example.net")
        recipient.lists.set(lists)
    client.force_login(owner)

    with django_assert_max_num_queries(10):
        response = client.get("/campaigns/recipients/")

    assert response.status_code == 200
    assert response.content.decode().count('class="badge" href=') == 120


# --- create and edit ------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_adds_a_recipient_with_phone_country_and_lists(client, owner, news):
    client.force_login(owner)

    response = client.post(
        "/campaigns/recipients/new/", _recipient_data(email=" New@Example.NET ", lists=[news.pk])
    )

    recipient = Recipient.objects.get(owner=owner)
    assert response.status_code == 302
    assert recipient.email == "new@example.net"
    assert str(recipient.phone) == "+49301234567"
    assert recipient.country.code == "DE"
    assert list(recipient.lists.all()) == [news]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "READER@example.net"}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"country": "XX"}, "country"),
        ({"full_name": "x" * 201}, "full_name"),
    ],
)
def test_bad_recipient_input_is_shown_at_the_field_and_creates_nothing(
    client, owner, reader, data, field
):
    client.force_login(owner)

    response = client.post("/campaigns/recipients/new/", _recipient_data(**data))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Recipient.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db
def test_a_list_of_another_owner_cannot_be_chosen(client, owner, other_customer, list_factory):
    foreign = list_factory(owner=other_customer, name="Theirs")
    client.force_login(owner)

    response = client.post("/campaigns/recipients/new/", _recipient_data(lists=[foreign.pk]))

    assert response.status_code == 400
    assert "lists" in response.context["form"].errors
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_the_same_email_may_belong_to_two_owners(client, owner, other_customer, recipient_factory):
    recipient_factory(owner=other_customer, email="new@example.net")
    client.force_login(owner)

    response = client.post("/campaigns/recipients/new/", _recipient_data())

    assert response.status_code == 302
    assert Recipient.objects.filter(email="new@example.net").count() == 2


@pytest.mark.django_db
def test_owner_edits_a_recipient_and_its_lists(client, owner, reader, news, list_factory):
    vip = list_factory(owner=owner, name="VIP")
    reader.lists.add(news)
    client.force_login(owner)

    page = client.get(f"/campaigns/recipients/{reader.pk}/edit/")
    response = client.post(
        f"/campaigns/recipients/{reader.pk}/edit/",
        _recipient_data(email="rita@example.net", full_name="Rita R.", lists=[vip.pk]),
    )

    reader.refresh_from_db()
    assert page.context["form"].initial["lists"] == [news.pk]
    assert response.status_code == 302
    assert (reader.email, reader.full_name) == ("rita@example.net", "Rita R.")
    assert list(reader.lists.all()) == [vip]


@pytest.mark.django_db
def test_editing_to_a_duplicate_email_changes_nothing(
    client, owner, reader, news, recipient_factory
):
    recipient_factory(owner=owner, email="taken@example.net")
    reader.lists.add(news)
    client.force_login(owner)

    response = client.post(
        f"/campaigns/recipients/{reader.pk}/edit/",
        _recipient_data(email="Taken@example.net", full_name="Changed", lists=[]),
    )

    reader.refresh_from_db()
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert (reader.email, reader.full_name) == ("reader@example.net", "Rita Reader")
    assert list(reader.lists.all()) == [news]


@pytest.mark.django_db
def test_deactivate_reactivate_and_resubscribe(client, owner, reader):
    from django.utils import timezone

    reader.unsubscribed_at = reader.suppressed_at = timezone.now()
    reader.save()
    client.force_login(owner)

    client.post(f"/campaigns/recipients/{reader.pk}/deactivate/")
    reader.refresh_from_db()
    assert not reader.is_active

    client.post(f"/campaigns/recipients/{reader.pk}/reactivate/")
    client.post(f"/campaigns/recipients/{reader.pk}/resubscribe/")
    reader.refresh_from_db()
    assert reader.is_active and reader.can_receive


@pytest.mark.django_db
def test_state_changes_need_a_post(client, owner, reader):
    client.force_login(owner)

    response = client.get(f"/campaigns/recipients/{reader.pk}/deactivate/")

    reader.refresh_from_db()
    assert response.status_code == 405
    assert reader.is_active


@pytest.mark.django_db
def test_delete_asks_first_then_deletes_on_post(client, owner, reader):
    client.force_login(owner)

    confirm = client.get(f"/campaigns/recipients/{reader.pk}/delete/")
    assert confirm.status_code == 200
    assert Recipient.objects.filter(pk=reader.pk).exists()

    response = client.post(f"/campaigns/recipients/{reader.pk}/delete/")
    assert response.status_code == 302
    assert not Recipient.objects.filter(pk=reader.pk).exists()


# --- lists ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_lists_page_shows_each_lists_size(client, owner, news, recipient_factory):
    news.recipients.set([recipient_factory(owner=owner) for _ in range(3)])
    client.force_login(owner)

    response = client.get("/campaigns/lists/")

    assert [(lst.name, lst.size) for lst in response.context["lists"]] == [("News", 3)]


@pytest.mark.django_db
def test_owner_creates_a_list_with_members_and_sees_them(client, owner, reader, recipient_factory):
    other = recipient_factory(owner=owner, email="other@example.net")
    client.force_login(owner)

    response = client.post(
        "/campaigns/lists/new/",
        {"name": "Friends", "description": "People I know", "members": [reader.pk, other.pk]},
    )

    created = RecipientList.objects.get(owner=owner, name="Friends")
    detail = client.get(response["Location"])
    assert created.description == "People I know"
    assert sorted(r.email for r in detail.context["page"].object_list) == [
        "other@example.net",
        "reader@example.net",
    ]


@pytest.mark.django_db
def test_editing_a_list_replaces_its_members(client, owner, news, reader, recipient_factory):
    other = recipient_factory(owner=owner, email="other@example.net")
    news.recipients.add(reader)
    client.force_login(owner)

    client.post(f"/campaigns/lists/{news.pk}/edit/", {"name": "News", "members": [other.pk]})

    assert list(news.recipients.all()) == [other]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "News"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "X", "members": ["999999"]}, "members"),
    ],
)
def test_bad_list_input_is_shown_at_the_field_and_creates_nothing(client, owner, news, data, field):
    client.force_login(owner)

    response = client.post("/campaigns/lists/new/", data)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert RecipientList.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db
def test_members_of_another_owner_cannot_be_added(
    client, owner, news, other_customer, recipient_factory
):
    foreign = recipient_factory(owner=other_customer)
    client.force_login(owner)

    response = client.post(
        f"/campaigns/lists/{news.pk}/edit/", {"name": "News", "members": [foreign.pk]}
    )

    assert response.status_code == 400
    assert not news.recipients.exists()


@pytest.mark.django_db
def test_deleting_a_list_keeps_its_recipients(client, owner, news, reader):
    news.recipients.add(reader)
    client.force_login(owner)

    response = client.post(f"/campaigns/lists/{news.pk}/delete/")

    assert response.status_code == 302
    assert not RecipientList.objects.filter(pk=news.pk).exists()
    assert Recipient.objects.filter(pk=reader.pk).exists()


# --- export ---------------------------------------------------------------------------


def _read_export(response):
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.django_db
def test_list_export_has_the_header_and_one_row_per_member(client, owner, news, recipient_factory):
    news.recipients.add(
        recipient_factory(
            owner=owner,
            email="anna@example.net",
            full_name="Анна Иванова",
            phone="+74951234567",
            country="RU",
            comment="from the fair",
        ),
        recipient_factory(owner=owner, email="boris@example.net", full_name="Boris"),
    )
    recipient_factory(owner=owner, email="not-on-the-list@example.net")
    client.force_login(owner)

    response = client.get(f"/campaigns/lists/{news.pk}/export.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="news.csv"' in response["Content-Disposition"]
    assert _read_export(response) == [
        ["email", "full_name", "phone", "country", "comment"],
        ["anna@example.net", "Анна Иванова", "'+74951234567", "RU", "from the fair"],
        ["boris@example.net", "Boris", "", "", ""],
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)"])
def test_list_export_defuses_spreadsheet_formulas(
    client, owner, news, recipient_factory, dangerous
):
    news.recipients.add(
        recipient_factory(
            owner=owner, email="x@example.net", full_name=dangerous, comment=dangerous
        )
    )
    client.force_login(owner)

    rows = _read_export(client.get(f"/campaigns/lists/{news.pk}/export.csv"))

    assert rows[1][1] == "'" + dangerous
    assert rows[1][4] == "'" + dangerous
