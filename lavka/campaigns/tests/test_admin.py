"""The campaigns admin: every page opens for a superuser, none for a manager without
staff status, and mailings change only through the services' actions."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from lavka.campaigns.models import (
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingRun,
    MailingStatus,
    Message,
    RecipientList,
    RunStatus,
    SendingPolicy,
)
from lavka.campaigns.tests.factories import (
    MailingFactory,
    RecipientFactory,
    RecipientListFactory,
)


@pytest.fixture
def everything(owner: Any, audience: list[Any]) -> dict[str, Any]:
    """One row of each campaigns model, owned by `owner`."""
    recipient_list = RecipientListFactory(owner=owner)
    recipient_list.recipients.set(audience)
    mailing = MailingFactory(owner=owner, lists=[recipient_list], recipients=audience[:2])
    run = MailingRun.objects.create(
        mailing=mailing, scheduled_for=timezone.now(), status=RunStatus.COMPLETED, total=5, sent=5
    )
    deliveries = [
        Delivery(
            run=run,
            recipient=r,
            email=r.email,
            status=DeliveryStatus.SENT,
            owner=owner,
        )
        for r in audience
    ]
    Delivery.objects.bulk_create(deliveries)
    return {
        "recipient": audience[0],
        "recipientlist": recipient_list,
        "message": mailing.message,
        "mailing": mailing,
        "mailingrun": run,
        "delivery": Delivery.objects.filter(run=run).first(),
        "sendingpolicy": SendingPolicy.objects.create(owner=owner),
    }


MODELS = [
    "recipient",
    "recipientlist",
    "message",
    "mailing",
    "mailingrun",
    "delivery",
    "sendingpolicy",
]


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS)
def test_a_superuser_opens_each_changelist_and_change_page(client, superuser, everything, model):
    client.force_login(superuser)
    obj = everything[model]

    changelist = client.get(reverse(f"admin:campaigns_{model}_changelist"))
    change = client.get(reverse(f"admin:campaigns_{model}_change", args=[obj.pk]))

    assert changelist.status_code == 200
    assert change.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("?q=r1@example.net", 1),
        ("?is_active__exact=0", 0),
        ("?unsubscribed_at__isempty=0", 1),
        ("?suppressed_at__isempty=1", 5),
    ],
)
def test_recipients_are_searched_and_filtered_in_the_admin(
    client, superuser, audience, query, found
):
    audience[3].unsubscribed_at = timezone.now()
    audience[3].save()
    client.force_login(superuser)

    response = client.get(reverse("admin:campaigns_recipient_changelist") + query)

    assert response.status_code == 200
    assert response.context["cl"].result_count == found


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("mailing", "?status__exact=draft"),
        ("delivery", "?status__exact=sent"),
        ("mailingrun", "?status__exact=completed"),
    ],
)
def test_status_filters_narrow_the_changelists(client, superuser, everything, model, query):
    client.force_login(superuser)

    response = client.get(reverse(f"admin:campaigns_{model}_changelist") + query)

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.django_db
def test_a_runs_deliveries_are_one_link_away(client, superuser, everything):
    client.force_login(superuser)
    run = everything["mailingrun"]

    page = client.get(reverse("admin:campaigns_mailingrun_change", args=[run.pk]))
    deliveries = client.get(
        reverse("admin:campaigns_delivery_changelist") + f"?run__id__exact={run.pk}"
    )

    assert f"?run__id__exact={run.pk}" in page.content.decode()
    assert deliveries.context["cl"].result_count == 5


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS)
def test_a_manager_without_staff_status_cannot_open_the_admin(client, manager, everything, model):
    client.force_login(manager)

    changelist = client.get(reverse(f"admin:campaigns_{model}_changelist"))
    change = client.get(reverse(f"admin:campaigns_{model}_change", args=[everything[model].pk]))

    assert changelist.status_code == 302
    assert changelist["Location"].startswith(reverse("admin:login"))
    assert change.status_code == 302


@pytest.mark.django_db
def test_runs_and_deliveries_are_read_only_in_the_admin(client, superuser, everything):
    client.force_login(superuser)
    run = everything["mailingrun"]

    response = client.post(
        reverse("admin:campaigns_mailingrun_change", args=[run.pk]), {"sent": 999}
    )
    add = client.get(reverse("admin:campaigns_delivery_add"))

    assert response.status_code == 403
    assert add.status_code == 403
    run.refresh_from_db()
    assert run.sent == 5


def run_action(client: Any, action: str, mailings: list[Any]) -> Any:
    return client.post(
        reverse("admin:campaigns_mailing_changelist"),
        {"action": action, "_selected_action": [m.pk for m in mailings]},
        follow=True,
    )


@pytest.mark.django_db
def test_admin_actions_pause_resume_and_complete_through_the_services(
    client, superuser, owner, audience
):
    client.force_login(superuser)
    mailing = MailingFactory(owner=owner, recipients=audience, status=MailingStatus.SCHEDULED)

    run_action(client, "pause_mailings", [mailing])
    mailing.refresh_from_db()
    assert (mailing.status, mailing.status_reason) == (
        MailingStatus.PAUSED,
        "Paused by a manager.",
    )
    run_action(client, "resume_mailings", [mailing])
    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.SCHEDULED
    assert mailing.next_send_at == mailing.first_send_at
    run_action(client, "complete_mailings", [mailing])
    mailing.refresh_from_db()
    assert (mailing.status, mailing.next_send_at) == (MailingStatus.COMPLETED, None)


@pytest.mark.django_db
def test_an_action_that_does_not_apply_says_why_and_changes_nothing(client, superuser, owner):
    client.force_login(superuser)
    draft = MailingFactory(owner=owner)

    response = run_action(client, "pause_mailings", [draft])

    messages = [str(m) for m in response.context["messages"]]
    assert any("Only a scheduled or running mailing can be paused." in m for m in messages)
    assert Mailing.objects.get(pk=draft.pk).status == MailingStatus.DRAFT


@pytest.mark.django_db
def test_mailings_are_not_added_by_hand_in_the_admin(client, superuser):
    client.force_login(superuser)

    response = client.get(reverse("admin:campaigns_mailing_add"))

    assert response.status_code == 403


@pytest.mark.django_db
def test_a_message_with_an_unknown_placeholder_is_refused_in_the_admin(client, superuser, owner):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:campaigns_message_add"),
        {
            "owner": owner.pk,
            "subject": "Hi {{ name }}",
            "html_body": "<p>{{ secret }}</p>",
            "text_body": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert "{{ secret }}" in str(response.context["adminform"].form.errors["html_body"])
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_list_cannot_take_someone_elses_recipient_in_the_admin(
    client, superuser, owner, other_customer
):
    client.force_login(superuser)
    theirs = RecipientFactory(owner=other_customer, email="theirs@example.net")

    response = client.post(
        reverse("admin:campaigns_recipientlist_add"),
        {"owner": owner.pk, "name": "Mixed", "description": "", "recipients": [theirs.pk]},
    )

    assert response.status_code == 200
    assert "theirs@example.net" in str(response.context["adminform"].form.errors["recipients"])
    assert not RecipientList.objects.exists()


@pytest.mark.django_db
def test_the_sending_policy_is_edited_in_the_admin(client, superuser, owner):
    client.force_login(superuser)
    policy = SendingPolicy.objects.create(owner=owner)

    response = client.post(
        reverse("admin:campaigns_sendingpolicy_change", args=[policy.pk]),
        {"owner": owner.pk, "messages_per_minute": 120, "pause_after_consecutive_failures": 5},
    )
    refused = client.post(
        reverse("admin:campaigns_sendingpolicy_change", args=[policy.pk]),
        {"owner": owner.pk, "messages_per_minute": 0, "pause_after_consecutive_failures": 5},
    )

    assert response.status_code == 302
    assert refused.status_code == 200
    policy.refresh_from_db()
    assert (policy.messages_per_minute, policy.pause_after_consecutive_failures) == (120, 5)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS)
def test_admin_changelists_use_a_fixed_number_of_queries(
    client, superuser, user_factory, django_assert_max_num_queries, model
):
    for _ in range(8):
        someone = user_factory()
        SendingPolicy.objects.create(owner=someone)
        recipient = RecipientFactory(owner=someone)
        RecipientListFactory(owner=someone).recipients.set([recipient])
        mailing = MailingFactory(owner=someone, recipients=[recipient])
        run = MailingRun.objects.create(mailing=mailing, scheduled_for=timezone.now())
        Delivery.objects.create(run=run, recipient=recipient, email=recipient.email, owner=someone)
    client.force_login(superuser)

    with django_assert_max_num_queries(8):
        response = client.get(reverse(f"admin:campaigns_{model}_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 8
