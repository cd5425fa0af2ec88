"""The campaigns REST API: access per role, bad input, the mailing actions, query counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from lavka.accounts import services as account_services
from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    MailingStatus,
    Message,
    Recipient,
    RecipientList,
    RunStatus,
)
from lavka.campaigns.tests.factories import (
    MailingFactory,
    MessageFactory,
    RecipientFactory,
    RecipientListFactory,
)

API = "/api/v1/campaigns"
FUTURE = "2035-03-10T09:00:00+01:00"


def bearer(user: Any) -> dict[str, str]:
    issued = account_services.create_api_token(user=user, name="script")
    return {"HTTP_AUTHORIZATION": f"Bearer {issued.raw}"}


def post(client: Any, url: str, data: Any = None, **extra: Any) -> Any:
    return client.post(url, data or {}, content_type="application/json", **extra)


def patch(client: Any, url: str, data: Any) -> Any:
    return client.patch(url, data, content_type="application/json")


def put(client: Any, url: str, data: Any) -> Any:
    return client.put(url, data, content_type="application/json")


def make_run(mailing: Mailing, *, deliveries: dict[str, int] | None = None, **fields: Any) -> Any:
    """A finished run with `deliveries={"sent": 2, "failed": 1}` rows, one per recipient."""
    counts = deliveries or {}
    run = MailingRun.objects.create(
        mailing=mailing,
        scheduled_for=fields.pop("scheduled_for", timezone.now()),
        status=RunStatus.COMPLETED,
        total=sum(counts.values()),
        **{status: count for status, count in counts.items() if status != "pending"},
        **fields,
    )
    for status, count in counts.items():
        for _ in range(count):
            recipient = RecipientFactory(owner=mailing.owner)
            Delivery.objects.create(
                run=run,
                recipient=recipient,
                email=recipient.email,
                status=status,
                owner=mailing.owner,
            )
    return run


@pytest.fixture
def owner_client(client: Any, owner: Any) -> Any:
    client.force_login(owner)
    return client


@pytest.fixture
def foreign(other_customer: Any) -> dict[str, Any]:
    """One of each object, owned by someone else."""
    recipient = RecipientFactory(owner=other_customer, email="theirs@example.net")
    recipient_list = RecipientListFactory(owner=other_customer)
    mailing = MailingFactory(owner=other_customer, recipients=[recipient])
    recipient_list.recipients.add(recipient)
    return {
        "recipients": recipient,
        "lists": recipient_list,
        "messages": mailing.message,
        "mailings": mailing,
        "runs": make_run(mailing, deliveries={"sent": 1}),
    }


def detail_url(resource: str, obj: Any) -> str:
    return f"{API}/{resource}/{obj.pk}/"


# --- access per role ------------------------------------------------------------------

ANONYMOUS_CALLS = [
    ("get", "/recipients/"),
    ("post", "/recipients/"),
    ("get", "/recipients/1/"),
    ("patch", "/recipients/1/"),
    ("delete", "/recipients/1/"),
    ("get", "/lists/"),
    ("post", "/lists/"),
    ("get", "/messages/"),
    ("post", "/messages/"),
    ("get", "/mailings/"),
    ("post", "/mailings/"),
    ("get", "/mailings/1/"),
    ("put", "/mailings/1/"),
    ("post", "/mailings/1/schedule/"),
    ("post", "/mailings/1/pause/"),
    ("post", "/mailings/1/resume/"),
    ("post", "/mailings/1/complete/"),
    ("get", "/mailings/1/runs/"),
    ("get", "/runs/1/"),
    ("get", "/runs/1/deliveries/"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), ANONYMOUS_CALLS)
def test_anonymous_callers_get_a_json_401(client, method, path):
    response = getattr(client, method)(API + path, content_type="application/json")

    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("resource", ["recipients", "lists", "messages", "mailings"])
def test_owners_list_only_their_own_objects(owner_client, owner, foreign, resource):
    mine = {
        "recipients": lambda: RecipientFactory(owner=owner),
        "lists": lambda: RecipientListFactory(owner=owner),
        "messages": lambda: MessageFactory(owner=owner),
        "mailings": lambda: MailingFactory(owner=owner),
    }[resource]()

    response = owner_client.get(f"{API}/{resource}/")

    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert mine.pk in ids
    assert foreign[resource].pk not in ids


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_role", "resource"),
    [
        *[("owner", r) for r in ("recipients", "lists", "messages", "mailings", "runs")],
        # Managers see every mailing and run (below), but no one else's audience or text.
        *[("manager", r) for r in ("recipients", "lists", "messages")],
    ],
)
def test_another_owners_object_reads_as_missing(client, owner, manager, foreign, resource, as_role):
    client.force_login(owner if as_role == "owner" else manager)

    response = client.get(detail_url(resource, foreign[resource]))
    nonexistent = client.get(f"{API}/{resource}/999999/")

    assert response.status_code == 404
    assert response.json() == nonexistent.json()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("resource", ["recipients", "lists", "messages", "mailings"])
def test_another_owners_object_cannot_be_changed_or_deleted(
    owner_client, foreign, method, resource
):
    target = foreign[resource]
    before = type(target).objects.get(pk=target.pk).updated_at

    response = getattr(owner_client, method)(
        detail_url(resource, target), {"name": "Mine now"}, content_type="application/json"
    )

    assert response.status_code == 404
    assert type(target).objects.get(pk=target.pk).updated_at == before


@pytest.mark.django_db
@pytest.mark.parametrize("staff", ["manager", "superuser"])
def test_staff_list_and_read_every_mailing_run_and_delivery(client, request, foreign, staff):
    client.force_login(request.getfixturevalue(staff))
    mailing, run = foreign["mailings"], foreign["runs"]

    listed = client.get(f"{API}/mailings/")
    detail = client.get(detail_url("mailings", mailing))
    runs = client.get(f"{API}/mailings/{mailing.pk}/runs/")
    deliveries = client.get(f"{API}/runs/{run.pk}/deliveries/")

    assert [row["id"] for row in listed.json()["results"]] == [mailing.pk]
    assert detail.json()["owner"] == "other@example.com"
    assert [row["id"] for row in runs.json()["results"]] == [run.pk]
    assert deliveries.json()["count"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_manager_cannot_edit_or_delete_someone_elses_mailing(client, manager, foreign, method):
    client.force_login(manager)
    mailing = foreign["mailings"]

    response = getattr(client, method)(
        detail_url("mailings", mailing), {"name": "Hijacked"}, content_type="application/json"
    )

    assert response.status_code == 404
    mailing.refresh_from_db()
    assert mailing.name != "Hijacked"


@pytest.mark.django_db
def test_a_manager_cannot_schedule_someone_elses_mailing(client, manager, foreign):
    client.force_login(manager)

    response = post(client, f"{API}/mailings/{foreign['mailings'].pk}/schedule/")

    assert response.status_code == 404
    assert Mailing.objects.get(pk=foreign["mailings"].pk).status == MailingStatus.DRAFT


@pytest.mark.django_db
def test_a_manager_may_pause_and_then_complete_any_mailing(client, manager, foreign):
    mailing = foreign["mailings"]
    mailing.status = MailingStatus.SCHEDULED
    mailing.save()
    client.force_login(manager)

    paused = post(client, f"{API}/mailings/{mailing.pk}/pause/", {"reason": "Spam reports"})
    completed = post(client, f"{API}/mailings/{mailing.pk}/complete/")

    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    assert paused.json()["status_reason"] == "Spam reports"
    assert completed.status_code == 200
    assert completed.json()["status"] == "completed"


@pytest.mark.django_db
def test_an_owner_cannot_pause_someone_elses_mailing(owner_client, foreign):
    response = post(owner_client, f"{API}/mailings/{foreign['mailings'].pk}/pause/")

    assert response.status_code == 404


@pytest.mark.django_db
def test_an_owner_may_not_disable_their_own_mailing_as_if_a_manager(owner_client, owner):
    mailing = MailingFactory(owner=owner, status=MailingStatus.SCHEDULED)

    response = post(owner_client, f"{API}/mailings/{mailing.pk}/pause/", {"disable": True})

    assert response.status_code == 403
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.SCHEDULED


@pytest.mark.django_db
def test_a_bearer_token_works_for_the_campaigns_api(client, owner):
    headers = bearer(owner)

    created = post(client, f"{API}/recipients/", {"email": "token@example.net"}, **headers)
    listed = client.get(f"{API}/recipients/", **headers)

    assert created.status_code == 201
    assert listed.json()["results"][0]["email"] == "token@example.net"


# --- recipients -----------------------------------------------------------------------


@pytest.mark.django_db
def test_creating_a_recipient_normalises_the_email(owner_client, owner):
    response = post(
        owner_client,
        f"{API}/recipients/",
        {"email": "  Anna@Example.NET ", "full_name": "Anna", "country": "DE"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "anna@example.net"
    assert body["country"] == "DE"
    assert body["can_receive"] is True
    assert Recipient.objects.get(pk=body["id"]).owner == owner


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({}, "email"),
        ({"email": "ok@example.net", "phone": "12"}, "phone"),
        ({"email": "ok@example.net", "country": "XX"}, "country"),
    ],
)
def test_bad_recipient_input_is_a_field_error_and_saves_nothing(owner_client, payload, field):
    response = post(owner_client, f"{API}/recipients/", payload)

    assert response.status_code == 400
    assert field in response.json()
    assert response.json()["detail"] == "Invalid input."
    assert not Recipient.objects.exists()


@pytest.mark.django_db
def test_a_duplicate_email_is_refused_whatever_its_case(owner_client, owner):
    RecipientFactory(owner=owner, email="anna@example.net")

    response = post(owner_client, f"{API}/recipients/", {"email": "ANNA@example.net"})

    assert response.status_code == 400
    assert response.json()["email"] == ["You already have a recipient with this email."]
    assert Recipient.objects.filter(owner=owner).count() == 1


@pytest.mark.django_db
def test_the_same_email_may_belong_to_two_owners(owner_client, foreign):
    response = post(owner_client, f"{API}/recipients/", {"email": "theirs@example.net"})

    assert response.status_code == 201


@pytest.mark.django_db
def test_patching_a_recipient_changes_only_what_is_sent(owner_client, owner):
    recipient = RecipientFactory(owner=owner, email="a@example.net", full_name="Anna")

    response = patch(owner_client, detail_url("recipients", recipient), {"is_active": False})

    assert response.status_code == 200
    recipient.refresh_from_db()
    assert (recipient.email, recipient.full_name, recipient.is_active) == (
        "a@example.net",
        "Anna",
        False,
    )


@pytest.mark.django_db
def test_putting_a_recipient_replaces_its_fields(owner_client, owner):
    recipient = RecipientFactory(owner=owner, email="a@example.net", full_name="Anna")

    response = put(
        owner_client,
        detail_url("recipients", recipient),
        {"email": "B@example.net", "full_name": "Bea", "phone": "+49 30 901820"},
    )

    assert response.status_code == 200
    assert response.json()["email"] == "b@example.net"
    assert response.json()["phone"] == "+4930901820"


@pytest.mark.django_db
def test_renaming_a_recipient_to_a_taken_email_changes_nothing(owner_client, owner):
    RecipientFactory(owner=owner, email="taken@example.net")
    recipient = RecipientFactory(owner=owner, email="mine@example.net", full_name="Mine")

    response = patch(
        owner_client,
        detail_url("recipients", recipient),
        {"email": "Taken@example.net", "full_name": "Changed"},
    )

    assert response.status_code == 400
    assert "email" in response.json()
    recipient.refresh_from_db()
    assert (recipient.email, recipient.full_name) == ("mine@example.net", "Mine")


@pytest.mark.django_db
def test_recipients_are_searched_and_filtered_by_state(owner_client, owner):
    RecipientFactory(owner=owner, email="anna@example.net", full_name="Anna")
    RecipientFactory(owner=owner, email="bob@example.net", full_name="Bob", is_active=False)
    RecipientFactory(
        owner=owner, email="carl@example.net", full_name="Carl", unsubscribed_at=timezone.now()
    )

    searched = owner_client.get(f"{API}/recipients/?search=ANNA")
    inactive = owner_client.get(f"{API}/recipients/?state=inactive")
    unsubscribed = owner_client.get(f"{API}/recipients/?state=unsubscribed")

    assert [r["email"] for r in searched.json()["results"]] == ["anna@example.net"]
    assert [r["email"] for r in inactive.json()["results"]] == ["bob@example.net"]
    assert [r["email"] for r in unsubscribed.json()["results"]] == ["carl@example.net"]
    assert unsubscribed.json()["results"][0]["can_receive"] is False


@pytest.mark.django_db
def test_an_unknown_state_filter_is_a_400(owner_client):
    response = owner_client.get(f"{API}/recipients/?state=happy")

    assert response.status_code == 400
    assert "state" in response.json()


@pytest.mark.django_db
def test_deleting_a_recipient(owner_client, owner):
    recipient = RecipientFactory(owner=owner)

    response = owner_client.delete(detail_url("recipients", recipient))

    assert response.status_code == 204
    assert not Recipient.objects.filter(pk=recipient.pk).exists()


# --- lists ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_list_is_created_with_its_members(owner_client, owner):
    members = [RecipientFactory(owner=owner) for _ in range(2)]

    response = post(
        owner_client,
        f"{API}/lists/",
        {"name": "VIP", "description": "Best", "members": [r.pk for r in members]},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["size"] == 2
    assert sorted(body["members"]) == sorted(r.pk for r in members)


@pytest.mark.django_db
def test_someone_elses_recipient_cannot_join_a_list_and_nothing_is_saved(
    owner_client, owner, foreign
):
    mine = RecipientFactory(owner=owner)

    response = post(
        owner_client,
        f"{API}/lists/",
        {"name": "VIP", "members": [mine.pk, foreign["recipients"].pk]},
    )
    missing = post(owner_client, f"{API}/lists/", {"name": "VIP", "members": [999999]})

    assert response.status_code == 400
    foreign_error = response.json()["members"][0]
    assert foreign_error.startswith("Invalid pk")
    assert foreign_error.replace(str(foreign["recipients"].pk), "N") == missing.json()["members"][
        0
    ].replace("999999", "N")
    assert not RecipientList.objects.filter(owner=owner).exists()


@pytest.mark.django_db
def test_a_duplicate_list_name_is_a_field_error(owner_client, owner):
    RecipientListFactory(owner=owner, name="VIP")

    response = post(owner_client, f"{API}/lists/", {"name": "VIP"})

    assert response.status_code == 400
    assert response.json()["name"] == ["You already have a list with this name."]


@pytest.mark.django_db
def test_patching_a_list_keeps_members_unless_they_are_sent(owner_client, owner):
    first, second = RecipientFactory(owner=owner), RecipientFactory(owner=owner)
    recipient_list = RecipientListFactory(owner=owner, name="Old")
    recipient_list.recipients.set([first])

    renamed = patch(owner_client, detail_url("lists", recipient_list), {"name": "New"})
    regrouped = patch(owner_client, detail_url("lists", recipient_list), {"members": [second.pk]})

    assert renamed.json()["members"] == [first.pk]
    assert renamed.json()["name"] == "New"
    assert regrouped.json()["members"] == [second.pk]


@pytest.mark.django_db
def test_a_failed_list_edit_changes_neither_name_nor_members(owner_client, owner, foreign):
    member = RecipientFactory(owner=owner)
    recipient_list = RecipientListFactory(owner=owner, name="Old")
    recipient_list.recipients.set([member])
    RecipientListFactory(owner=owner, name="Taken")

    response = put(
        owner_client, detail_url("lists", recipient_list), {"name": "Taken", "members": []}
    )

    assert response.status_code == 400
    recipient_list.refresh_from_db()
    assert recipient_list.name == "Old"
    assert list(recipient_list.recipients.all()) == [member]


@pytest.mark.django_db
def test_deleting_a_list_keeps_its_recipients(owner_client, owner):
    member = RecipientFactory(owner=owner)
    recipient_list = RecipientListFactory(owner=owner)
    recipient_list.recipients.set([member])

    response = owner_client.delete(detail_url("lists", recipient_list))

    assert response.status_code == 204
    assert Recipient.objects.filter(pk=member.pk).exists()


# --- messages -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_message_is_created_and_edited(owner_client, owner):
    created = post(
        owner_client,
        f"{API}/messages/",
        {"subject": "Hi {{ name }}", "html_body": "<p>Hello {{ name }}</p>"},
    )
    edited = patch(
        owner_client, f"{API}/messages/{created.json()['id']}/", {"subject": "Hello again"}
    )

    assert created.status_code == 201
    assert created.json()["is_active"] is True
    assert edited.status_code == 200
    message = Message.objects.get(owner=owner)
    assert (message.subject, message.html_body) == ("Hello again", "<p>Hello {{ name }}</p>")


@pytest.mark.django_db
def test_an_unknown_placeholder_is_refused_with_its_name(owner_client):
    response = post(
        owner_client,
        f"{API}/messages/",
        {"subject": "Hi", "html_body": "<p>{{ user.password }}</p>"},
    )

    assert response.status_code == 400
    assert "{{ user.password }}" in response.json()["detail"]
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_message_without_a_body_is_a_field_error(owner_client):
    response = post(owner_client, f"{API}/messages/", {"subject": "Hi"})

    assert response.status_code == 400
    assert "html_body" in response.json()


@pytest.mark.django_db
def test_a_message_in_use_cannot_be_deleted(owner_client, owner):
    mailing = MailingFactory(owner=owner)

    response = owner_client.delete(detail_url("messages", mailing.message))

    assert response.status_code == 400
    assert "used by a mailing" in response.json()["detail"]
    assert Message.objects.filter(pk=mailing.message.pk).exists()


# --- mailings: create and edit --------------------------------------------------------


def mailing_payload(owner: Any, **overrides: Any) -> dict[str, Any]:
    message = MessageFactory(owner=owner)
    recipient = RecipientFactory(owner=owner)
    return {
        "name": "Spring news",
        "message": message.pk,
        "recipients": [recipient.pk],
        "first_send_at": FUTURE,
        "periodicity": "daily",
        **overrides,
    }


@pytest.mark.django_db
def test_a_mailing_is_created_as_a_draft_with_empty_stats(owner_client, owner):
    recipient_list = RecipientListFactory(owner=owner)

    response = post(
        owner_client,
        f"{API}/mailings/",
        mailing_payload(owner, lists=[recipient_list.pk], end_at="2035-04-01T00:00:00Z"),
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["next_send_at"] is None
    assert body["lists"] == [recipient_list.pk]
    assert body["time_zone"] == "Europe/Berlin"
    assert body["stats"] == {"runs": 0, "sent": 0, "failed": 0, "skipped": 0}
    mailing = Mailing.objects.get(pk=body["id"])
    assert mailing.first_send_at == datetime(2035, 3, 10, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_time_without_offset_is_read_in_the_owners_time_zone(owner_client, owner):
    response = post(
        owner_client,
        f"{API}/mailings/",
        mailing_payload(owner, first_send_at="2035-07-01T09:00:00"),
    )

    assert response.status_code == 201
    mailing = Mailing.objects.get(pk=response.json()["id"])
    assert mailing.first_send_at == datetime(2035, 7, 1, 7, 0, tzinfo=UTC)  # Berlin, summer
    assert response.json()["first_send_at"] == "2035-07-01T09:00:00+02:00"


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["message", "lists", "recipients"])
def test_someone_elses_objects_cannot_be_used_in_a_mailing(owner_client, owner, foreign, field):
    theirs = foreign[{"message": "messages"}.get(field, field)].pk
    payload = mailing_payload(owner, **{field: theirs if field == "message" else [theirs]})

    response = post(owner_client, f"{API}/mailings/", payload)

    assert response.status_code == 400
    error = response.json()[field][0]
    assert error == f'Invalid pk "{theirs}" - object does not exist.'
    assert not Mailing.objects.filter(owner=owner).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"end_at": "2035-03-01T00:00:00Z"}, "end_at", "The end must be after the first send."),
        (
            {"periodicity": "cron", "cron_expression": "every monday"},
            "cron_expression",
            "Not a valid cron expression",
        ),
        ({"periodicity": "cron", "cron_expression": ""}, "cron_expression", "Not a valid cron"),
        ({"periodicity": "hourly"}, "periodicity", "is not a valid choice"),
        ({"first_send_at": "tomorrow"}, "first_send_at", "Datetime has wrong format"),
        ({"name": ""}, "name", "may not be blank"),
    ],
)
def test_bad_mailing_input_is_a_field_error_and_saves_nothing(
    owner_client, owner, overrides, field, message
):
    response = post(owner_client, f"{API}/mailings/", mailing_payload(owner, **overrides))

    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert not Mailing.objects.exists()


@pytest.mark.django_db
def test_a_cron_mailing_is_accepted_with_a_valid_expression(owner_client, owner):
    response = post(
        owner_client,
        f"{API}/mailings/",
        mailing_payload(owner, periodicity="cron", cron_expression="0 9 * * 1"),
    )

    assert response.status_code == 201
    assert response.json()["cron_expression"] == "0 9 * * 1"


@pytest.mark.django_db
def test_editing_an_active_mailing_reschedules_it(owner_client, owner, audience):
    mailing = MailingFactory(owner=owner, recipients=audience, periodicity="daily")
    post(owner_client, f"{API}/mailings/{mailing.pk}/schedule/")

    response = patch(
        owner_client, f"{API}/mailings/{mailing.pk}/", {"first_send_at": "2035-05-05T12:00:00Z"}
    )

    assert response.status_code == 200
    assert response.json()["next_send_at"] == "2035-05-05T14:00:00+02:00"
    mailing.refresh_from_db()
    assert mailing.next_send_at == datetime(2035, 5, 5, 12, 0, tzinfo=UTC)
    assert sorted(mailing.recipients.values_list("pk", flat=True)) == sorted(r.pk for r in audience)


@pytest.mark.django_db
def test_a_completed_mailing_cannot_be_edited(owner_client, owner):
    mailing = MailingFactory(owner=owner, status=MailingStatus.COMPLETED, name="Done")

    response = patch(owner_client, f"{API}/mailings/{mailing.pk}/", {"name": "Again"})

    assert response.status_code == 400
    assert response.json()["detail"] == "A completed mailing cannot be edited."
    mailing.refresh_from_db()
    assert mailing.name == "Done"


@pytest.mark.django_db
def test_deleting_a_mailing(owner_client, owner):
    mailing = MailingFactory(owner=owner)

    response = owner_client.delete(f"{API}/mailings/{mailing.pk}/")

    assert response.status_code == 204
    assert not Mailing.objects.filter(pk=mailing.pk).exists()


# --- mailings: actions ----------------------------------------------------------------


@pytest.mark.django_db
def test_schedule_pause_resume_complete(owner_client, ready_mailing):
    url = f"{API}/mailings/{ready_mailing.pk}"

    scheduled = post(owner_client, f"{url}/schedule/")
    paused = post(owner_client, f"{url}/pause/")
    resumed = post(owner_client, f"{url}/resume/")
    completed = post(owner_client, f"{url}/complete/")

    assert scheduled.status_code == 200
    assert scheduled.json()["status"] == "scheduled"
    first = ready_mailing.first_send_at.astimezone(UTC)
    assert datetime.fromisoformat(scheduled.json()["next_send_at"]) == first
    assert paused.json()["status"] == "paused"
    assert resumed.json()["status"] == "scheduled"
    assert datetime.fromisoformat(resumed.json()["next_send_at"]) == first
    assert completed.json()["status"] == "completed"
    assert completed.json()["next_send_at"] is None


@pytest.mark.django_db
def test_a_mailing_without_recipients_cannot_be_scheduled(owner_client, owner):
    mailing = MailingFactory(owner=owner)

    response = post(owner_client, f"{API}/mailings/{mailing.pk}/schedule/")

    assert response.status_code == 400
    assert "Add recipients or lists before scheduling." in str(response.json())
    mailing.refresh_from_db()
    assert (mailing.status, mailing.next_send_at) == (MailingStatus.DRAFT, None)


@pytest.mark.django_db
def test_a_one_off_in_the_past_cannot_be_scheduled(owner_client, owner, audience):
    payload = mailing_payload(
        owner, periodicity="once", first_send_at=(timezone.now() - timedelta(hours=2)).isoformat()
    )
    created = post(owner_client, f"{API}/mailings/", payload)

    response = post(owner_client, f"{API}/mailings/{created.json()['id']}/schedule/")

    assert created.status_code == 201
    assert response.status_code == 400
    assert response.json()["first_send_at"] == ["A one-off mailing cannot start in the past."]
    assert Mailing.objects.get().status == MailingStatus.DRAFT


@pytest.mark.django_db
def test_a_mailing_with_a_deactivated_message_cannot_be_scheduled(owner_client, ready_mailing):
    Message.objects.filter(pk=ready_mailing.message_id).update(is_active=False)

    response = post(owner_client, f"{API}/mailings/{ready_mailing.pk}/schedule/")

    assert response.status_code == 400
    assert response.json()["message"] == ["The message is deactivated."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "action", "detail"),
    [
        ("scheduled", "schedule", "Only a draft can be scheduled"),
        ("paused", "schedule", "Only a draft can be scheduled"),
        ("draft", "pause", "Only a scheduled or running mailing can be paused."),
        ("completed", "pause", "Only a scheduled or running mailing can be paused."),
        ("draft", "resume", "Only a paused mailing can be resumed."),
        ("scheduled", "resume", "Only a paused mailing can be resumed."),
    ],
)
def test_an_invalid_status_change_is_a_400_with_a_clear_detail(
    owner_client, ready_mailing, status, action, detail
):
    Mailing.objects.filter(pk=ready_mailing.pk).update(status=status)

    response = post(owner_client, f"{API}/mailings/{ready_mailing.pk}/{action}/")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert Mailing.objects.get(pk=ready_mailing.pk).status == status


@pytest.mark.django_db
def test_a_mailing_disabled_by_a_manager_cannot_be_resumed_by_its_owner(
    client, owner, manager, ready_mailing
):
    Mailing.objects.filter(pk=ready_mailing.pk).update(status=MailingStatus.SCHEDULED)
    client.force_login(manager)
    post(client, f"{API}/mailings/{ready_mailing.pk}/pause/", {"disable": True})
    client.force_login(owner)

    response = post(client, f"{API}/mailings/{ready_mailing.pk}/resume/")

    assert response.status_code == 400
    assert "manager disabled" in response.json()["detail"]
    assert Mailing.objects.get(pk=ready_mailing.pk).status == MailingStatus.PAUSED


@pytest.mark.django_db
def test_a_too_long_pause_reason_is_a_field_error(owner_client, ready_mailing):
    Mailing.objects.filter(pk=ready_mailing.pk).update(status=MailingStatus.SCHEDULED)

    response = post(
        owner_client, f"{API}/mailings/{ready_mailing.pk}/pause/", {"reason": "x" * 501}
    )

    assert response.status_code == 400
    assert "reason" in response.json()
    assert Mailing.objects.get(pk=ready_mailing.pk).status == MailingStatus.SCHEDULED


# --- runs, deliveries and stats -------------------------------------------------------


@pytest.mark.django_db
def test_mailing_stats_sum_its_runs(owner_client, owner):
    mailing = MailingFactory(owner=owner)
    make_run(mailing, sent=5, failed=1, skipped=2, scheduled_for=timezone.now())
    make_run(mailing, sent=3, scheduled_for=timezone.now() - timedelta(days=1))

    response = owner_client.get(f"{API}/mailings/{mailing.pk}/")

    assert response.json()["stats"] == {"runs": 2, "sent": 8, "failed": 1, "skipped": 2}


@pytest.mark.django_db
def test_runs_are_listed_newest_first_and_read_one_by_one(owner_client, owner):
    mailing = MailingFactory(owner=owner)
    older = make_run(mailing, scheduled_for=timezone.now() - timedelta(days=1))
    newer = make_run(mailing, deliveries={"sent": 2}, scheduled_for=timezone.now())

    listed = owner_client.get(f"{API}/mailings/{mailing.pk}/runs/")
    detail = owner_client.get(f"{API}/runs/{newer.pk}/")

    assert [row["id"] for row in listed.json()["results"]] == [newer.pk, older.pk]
    assert detail.json()["sent"] == 2
    assert detail.json()["mailing"] == mailing.pk


@pytest.mark.django_db
def test_deliveries_are_filtered_by_status(owner_client, owner):
    run = make_run(MailingFactory(owner=owner), deliveries={"sent": 2, "failed": 1})

    everything = owner_client.get(f"{API}/runs/{run.pk}/deliveries/")
    failed = owner_client.get(f"{API}/runs/{run.pk}/deliveries/?status=failed")
    wrong = owner_client.get(f"{API}/runs/{run.pk}/deliveries/?status=lost")

    assert everything.json()["count"] == 3
    assert [row["status"] for row in failed.json()["results"]] == [DeliveryStatus.FAILED]
    assert wrong.status_code == 400
    assert "status" in wrong.json()


@pytest.mark.django_db
def test_runs_of_someone_elses_mailing_are_missing(owner_client, foreign):
    runs = owner_client.get(f"{API}/mailings/{foreign['mailings'].pk}/runs/")
    deliveries = owner_client.get(f"{API}/runs/{foreign['runs'].pk}/deliveries/")

    assert runs.status_code == 404
    assert deliveries.status_code == 404


# --- query counts ---------------------------------------------------------------------


@pytest.fixture
def busy_owner(owner: Any) -> Any:
    """Enough of everything that a query per row would break the bounds below."""
    recipients = [RecipientFactory(owner=owner) for _ in range(12)]
    for i in range(6):
        recipient_list = RecipientListFactory(owner=owner)
        recipient_list.recipients.set(recipients[i:])
        MessageFactory(owner=owner)
        mailing = MailingFactory(owner=owner, recipients=recipients[:3], lists=[recipient_list])
        make_run(mailing, sent=1, scheduled_for=timezone.now() - timedelta(days=i))
    run = make_run(mailing, deliveries={"sent": 8, "failed": 4})
    return run


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "most"),
    [
        # every endpoint first checks that the caller runs campaigns (a creator or a
        # manager): it reads the user's and their groups' permissions, once per request
        ("/recipients/", 6),
        ("/lists/", 7),
        ("/messages/", 6),
        ("/mailings/", 8),
    ],
)
def test_list_endpoints_use_a_fixed_number_of_queries(
    owner_client, busy_owner, django_assert_max_num_queries, path, most
):
    with django_assert_max_num_queries(most):
        response = owner_client.get(API + path)

    assert response.status_code == 200
    assert len(response.json()["results"]) >= 6


@pytest.mark.django_db
def test_runs_and_deliveries_use_a_fixed_number_of_queries(
    owner_client, busy_owner, django_assert_max_num_queries
):
    mailing_id = busy_owner.mailing_id

    with django_assert_max_num_queries(7):  # with the permission check (see above)
        runs = owner_client.get(f"{API}/mailings/{mailing_id}/runs/")
    with django_assert_max_num_queries(7):
        deliveries = owner_client.get(f"{API}/runs/{busy_owner.pk}/deliveries/")

    assert runs.json()["count"] == 2
    assert deliveries.json()["count"] == 12


@pytest.mark.django_db
def test_the_schema_documents_every_campaigns_endpoint(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operations = {
        operation["operationId"]
        for path, methods in schema["paths"].items()
        if path.startswith("/api/v1/campaigns/")
        for operation in methods.values()
    }
    for resource in ("recipients", "lists", "messages", "mailings"):
        for verb in ("list", "create", "retrieve", "update", "partial_update", "destroy"):
            assert f"campaigns_{resource}_{verb}" in operations
    for name in ("schedule", "pause", "resume", "complete", "runs_list"):
        assert f"campaigns_mailings_{name}" in operations
    assert {"campaigns_runs_retrieve", "campaigns_runs_deliveries_list"} <= operations
    paths = schema["paths"]
    assert "400" in paths["/api/v1/campaigns/mailings/{id}/schedule/"]["post"]["responses"]
    assert "400" in paths["/api/v1/campaigns/recipients/"]["post"]["responses"]
