"""Issue 8, finding 6: managers moderate other owners' mailings but see their audience's
addresses masked everywhere, the API included: the delivery's address, the SMTP reply
that echoes it, and the pause reason that quotes that reply."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from lavka.accounts import services as account_services
from lavka.campaigns.models import Delivery, DeliveryStatus, MailingRun, MailingStatus, RunStatus
from lavka.campaigns.tests.factories import MailingFactory, RecipientFactory

API = "/api/v1/campaigns"
ADDRESS = "ann.secret@example.net"
MASKED = "a•••@example.net"
REPLY = f"550 5.1.1 <{ADDRESS}>: Recipient address rejected"
REASON = f"Paused after 20 failures in a row. Last reply: 550 {REPLY}"
MODERATORS = ["manager", "superuser"]


@pytest.fixture
def failed_run(owner: Any) -> MailingRun:
    """A paused mailing of the owner whose run failed on an address the reply quotes."""
    recipient = RecipientFactory(owner=owner, email=ADDRESS, full_name="Ann Secret")
    mailing = MailingFactory(
        owner=owner, recipients=[recipient], status=MailingStatus.PAUSED, status_reason=REASON
    )
    run = MailingRun.objects.create(
        mailing=mailing,
        scheduled_for=timezone.now(),
        status=RunStatus.PAUSED,
        status_reason=REASON,
        total=1,
        failed=1,
    )
    Delivery.objects.create(
        run=run,
        recipient=recipient,
        email=ADDRESS,
        status=DeliveryStatus.FAILED,
        smtp_code=550,
        smtp_reply=REPLY,
        owner=owner,
    )
    return run


def bearer(user: Any) -> dict[str, str]:
    return {
        "HTTP_AUTHORIZATION": f"Bearer {account_services.create_api_token(user=user, name='x').raw}"
    }


def everything_a_viewer_reads(client: Any, run: MailingRun, auth: dict[str, str]) -> dict[str, Any]:
    mailing = run.mailing_id
    return {
        "deliveries": client.get(f"{API}/runs/{run.pk}/deliveries/", **auth),
        "run": client.get(f"{API}/runs/{run.pk}/", **auth),
        "runs": client.get(f"{API}/mailings/{mailing}/runs/", **auth),
        "mailing": client.get(f"{API}/mailings/{mailing}/", **auth),
        "mailings": client.get(f"{API}/mailings/", **auth),
        "run page": client.get(f"/campaigns/runs/{run.pk}/"),
        "mailing page": client.get(f"/campaigns/mailings/{mailing}/"),
        "mailing list": client.get("/campaigns/mailings/"),
        "dashboard": client.get("/campaigns/"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("who", MODERATORS)
def test_a_moderator_sees_no_address_of_another_owners_audience(client, request, who, failed_run):
    moderator = request.getfixturevalue(who)
    client.force_login(moderator)

    responses = everything_a_viewer_reads(client, failed_run, bearer(moderator))

    for name, response in responses.items():
        assert response.status_code == 200, name
        assert ADDRESS not in response.content.decode(), name
    deliveries = responses["deliveries"].json()["results"]
    assert deliveries[0]["email"] == MASKED
    assert deliveries[0]["smtp_reply"] == f"550 5.1.1 <{MASKED}>: Recipient address rejected"
    assert MASKED in responses["run"].json()["status_reason"]
    assert MASKED in responses["mailing"].json()["status_reason"]
    assert MASKED in responses["run page"].content.decode()
    assert MASKED in responses["mailing page"].content.decode()


@pytest.mark.django_db
def test_the_owner_sees_the_addresses_of_their_own_audience(client, owner, failed_run):
    client.force_login(owner)

    responses = everything_a_viewer_reads(client, failed_run, bearer(owner))

    delivery = responses["deliveries"].json()["results"][0]
    assert (delivery["email"], delivery["smtp_reply"]) == (ADDRESS, REPLY)
    assert responses["run"].json()["status_reason"] == REASON
    assert responses["mailing"].json()["status_reason"] == REASON
    assert REPLY in responses["run page"].content.decode().replace("&lt;", "<").replace("&gt;", ">")


@pytest.mark.django_db
def test_a_manager_sees_the_addresses_of_their_own_mailings(client, manager):
    recipient = RecipientFactory(owner=manager, email=ADDRESS)
    mailing = MailingFactory(owner=manager, recipients=[recipient])
    run = MailingRun.objects.create(mailing=mailing, scheduled_for=timezone.now(), total=1)
    Delivery.objects.create(
        run=run, recipient=recipient, email=ADDRESS, smtp_reply=REPLY, owner=manager
    )

    response = client.get(f"{API}/runs/{run.pk}/deliveries/", **bearer(manager))

    assert response.json()["results"][0]["email"] == ADDRESS


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "status"), [("other_customer", 404), ("customer", 403)])
def test_neither_another_creator_nor_a_customer_reads_the_deliveries(
    client, request, who, status, failed_run
):
    response = client.get(
        f"{API}/runs/{failed_run.pk}/deliveries/", **bearer_or_session(client, request, who)
    )

    assert response.status_code == status
    assert ADDRESS not in response.content.decode()


def bearer_or_session(client: Any, request: Any, who: str) -> dict[str, str]:
    """A session: a customer has no token (the API is for creators)."""
    client.force_login(request.getfixturevalue(who))
    return {}


@pytest.mark.django_db
def test_anonymous_visitors_read_no_deliveries(client, failed_run):
    response = client.get(f"{API}/runs/{failed_run.pk}/deliveries/")

    assert response.status_code == 401
    assert ADDRESS not in response.content.decode()
