"""Issue 8, finding 4: anyone who signed up could send bulk email. Campaigns (and the API)
are for creators; a customer gets a page that says how to become one, or a 403."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.core.management import call_command

from lavka.accounts.models import ApiToken, User
from lavka.accounts.tests.factories import UserFactory
from lavka.campaigns.apps import CAMPAIGN_PERMISSIONS
from lavka.campaigns.models import Mailing, Message, Recipient
from lavka.core.roles import Role

PASSWORD = "a-long-and-unusual-passphrase"
FOR_CREATORS = "Campaigns and the API are for creators"


def signed_up_customer(client: Any) -> User:
    """Sign up and confirm the address the way a visitor does; signed in afterwards."""
    client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    link = re.search(r"https?://\S+(/accounts/confirm-email/\S+/)", mail.outbox[-1].body)
    client.post(link.group(1))
    client.post("/accounts/login/", {"login": "new@example.com", "password": PASSWORD})
    user = User.objects.get(email="new@example.com")
    assert client.session.get("_auth_user_id") == str(user.pk)
    return user


def _json(client: Any, url: str, data: Any, **extra: Any) -> Any:
    return client.post(url, data, content_type="application/json", **extra)


@pytest.mark.django_db
def test_a_newly_signed_up_customer_cannot_create_a_mailing(client):
    customer = signed_up_customer(client)

    page = client.post("/campaigns/messages/new/", {"subject": "Buy", "html_body": "<p>now</p>"})
    api_message = _json(client, "/api/v1/campaigns/messages/", {"subject": "Buy", "html_body": "x"})
    api_recipient = _json(client, "/api/v1/campaigns/recipients/", {"email": "a@example.net"})
    api_mailing = _json(
        client,
        "/api/v1/campaigns/mailings/",
        {"name": "Spam", "message": 1, "first_send_at": "2035-01-01T09:00:00Z"},
    )

    assert page.status_code == 403
    assert FOR_CREATORS in page.content.decode()
    assert (api_message.status_code, api_recipient.status_code, api_mailing.status_code) == (
        403,
        403,
        403,
    )
    assert "creator" in api_mailing.json()["detail"]
    assert not Message.objects.filter(owner=customer).exists()
    assert not Recipient.objects.filter(owner=customer).exists()
    assert not Mailing.objects.filter(owner=customer).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/campaigns/", "/campaigns/mailings/", "/campaigns/recipients/", "/campaigns/messages/"],
)
def test_a_customer_in_the_campaigns_area_is_told_how_to_become_a_creator(client, path):
    client.force_login(UserFactory(roles=[Role.CUSTOMER]))

    response = client.get(path)

    assert response.status_code == 403
    body = response.content.decode()
    assert FOR_CREATORS in body
    assert 'href="/shop/become-a-creator/"' in body  # the way is self-service now (issue 9)


@pytest.mark.django_db
def test_a_customer_sees_no_campaigns_link_and_no_token_form(client):
    client.force_login(UserFactory(roles=[Role.CUSTOMER]))

    home = client.get("/").content.decode()
    profile = client.get("/accounts/profile/").content.decode()

    assert 'data-testid="nav-campaigns"' not in home
    assert "/accounts/tokens/" not in profile
    assert FOR_CREATORS in profile


@pytest.mark.django_db
def test_a_customer_cannot_create_an_api_token(client):
    customer = UserFactory(roles=[Role.CUSTOMER])
    client.force_login(customer)

    response = client.post("/accounts/tokens/", {"name": "script"})

    assert response.status_code == 403
    assert FOR_CREATORS in response.content.decode()
    assert not ApiToken.objects.filter(user=customer).exists()


@pytest.mark.django_db
def test_a_customers_token_from_before_opens_no_campaigns_endpoint(client):
    from lavka.accounts import services

    customer = UserFactory(roles=[Role.CUSTOMER])
    raw = services.create_api_token(user=customer, name="old").raw
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    listed = client.get("/api/v1/campaigns/mailings/", **auth)
    created = _json(client, "/api/v1/campaigns/recipients/", {"email": "a@example.net"}, **auth)

    assert (listed.status_code, created.status_code) == (403, 403)
    assert not Recipient.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("roles", [[Role.CREATOR, Role.CUSTOMER], [Role.MANAGER]])
def test_creators_and_managers_run_campaigns(client, roles):
    client.force_login(UserFactory(roles=roles))

    assert client.get("/campaigns/").status_code == 200
    assert (
        _json(client, "/api/v1/campaigns/recipients/", {"email": "a@example.net"}).status_code
        == 201
    )
    assert client.post("/accounts/tokens/", {"name": "script"}).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_migrate_takes_campaigns_away_from_existing_customers():
    customer = UserFactory(roles=[Role.CUSTOMER])
    group = Group.objects.get(name=Role.CUSTOMER.value)
    for code in CAMPAIGN_PERMISSIONS:  # what the customer group held before
        group.permissions.add(Permission.objects.get(codename=code.split(".")[1]))
    assert User.objects.get(pk=customer.pk).has_perm("campaigns.add_mailing")

    call_command("migrate", verbosity=0)

    assert not group.permissions.filter(content_type__app_label="campaigns").exists()
    assert not User.objects.get(pk=customer.pk).has_perm("campaigns.add_mailing")
    creator = Group.objects.get(name=Role.CREATOR.value)
    assert creator.permissions.filter(codename="add_mailing").exists()


@pytest.mark.django_db
def test_the_demo_creator_runs_campaigns_and_the_demo_customer_does_not():
    from lavka.accounts.demo import load_demo_accounts

    load_demo_accounts({})

    assert User.objects.get(email="creator@lavka.localhost").has_perm("campaigns.add_mailing")
    assert not User.objects.get(email="customer@lavka.localhost").has_perm("campaigns.add_mailing")


@pytest.mark.django_db
def test_a_mailing_scheduled_by_a_customer_before_the_change_pauses_instead_of_firing():
    from datetime import timedelta

    from django.utils import timezone

    from lavka.campaigns import dispatch
    from lavka.campaigns.models import MailingRun, MailingStatus
    from lavka.campaigns.tests.factories import MailingFactory, RecipientFactory

    customer = UserFactory(roles=[Role.CUSTOMER])
    mailing = MailingFactory(owner=customer, recipients=[RecipientFactory(owner=customer)])
    Mailing.objects.filter(pk=mailing.pk).update(
        status=MailingStatus.SCHEDULED, next_send_at=timezone.now() - timedelta(seconds=5)
    )

    assert dispatch.dispatch_due_mailings() == []

    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.PAUSED
    assert "only creators may" in mailing.status_reason
    assert not MailingRun.objects.exists()
