"""The campaigns dashboard: the owner's cached numbers, links and recent runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lavka.campaigns import services
from lavka.campaigns.models import Mailing, MailingRun, MailingStatus, Periodicity, RunStatus
from lavka.campaigns.tests.factories import MessageFactory, RecipientFactory


@pytest.mark.django_db
def test_dashboard_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get("/campaigns/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.django_db
def test_dashboard_shows_only_the_owners_numbers(
    client, owner, audience, ready_mailing, mailing_factory, other_customer
):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    mailing_factory(owner=owner, status=MailingStatus.PAUSED)
    mailing_factory(owner=other_customer, status=MailingStatus.SCHEDULED)
    RecipientFactory.create_batch(3, owner=other_customer)
    services.unsubscribe_recipient(recipient_id=audience[0].pk)
    client.force_login(owner)

    response = client.get("/campaigns/")

    numbers = response.context["numbers"]
    assert (numbers.mailings_total, numbers.mailings_active) == (2, 1)
    assert (numbers.recipients_distinct, numbers.recipients_reachable) == (5, 4)
    page = response.content.decode()
    assert 'data-testid="mailings-total">2<' in page
    assert 'data-testid="recipients-distinct">5<' in page


@pytest.mark.django_db
def test_dashboard_numbers_follow_mailing_changes_made_on_the_pages(client, owner, audience):
    client.force_login(owner)
    assert client.get("/campaigns/").context["numbers"].mailings_total == 0  # now cached

    client.post(
        "/campaigns/mailings/new/",
        {
            "name": "Hello",
            "message": MessageFactory(owner=owner).pk,
            "recipients": [r.pk for r in audience],
            "first_send_at": (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "periodicity": Periodicity.DAILY,
            "then": "schedule",
        },
    )
    created = client.get("/campaigns/").context["numbers"]
    mailing_id = Mailing.objects.get().pk
    client.post(f"/campaigns/mailings/{mailing_id}/pause/")
    paused = client.get("/campaigns/").context["numbers"]
    client.post(f"/campaigns/mailings/{mailing_id}/delete/")
    deleted = client.get("/campaigns/").context["numbers"]

    assert (created.mailings_total, created.mailings_active) == (1, 1)
    assert (paused.mailings_total, paused.mailings_active) == (1, 0)
    assert deleted.mailings_total == 0


@pytest.mark.django_db
def test_dashboard_lists_own_recent_runs_only(
    client, owner, ready_mailing, manager, mailing_factory
):
    own = MailingRun.objects.create(
        mailing=ready_mailing, scheduled_for=timezone.now(), status=RunStatus.COMPLETED, sent=5
    )
    theirs = MailingRun.objects.create(
        mailing=mailing_factory(owner=manager),
        scheduled_for=timezone.now(),
        status=RunStatus.COMPLETED,
    )
    client.force_login(owner)

    page = client.get("/campaigns/").content.decode()

    assert f"/campaigns/runs/{own.pk}/" in page
    assert f"/campaigns/runs/{theirs.pk}/" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["owner", "manager", "superuser"])
def test_dashboard_links_to_the_mailings_and_the_nav_links_to_it(client, request, who):
    client.force_login(request.getfixturevalue(who))

    page = client.get("/campaigns/").content.decode()

    assert 'href="/campaigns/mailings/"' in page
    assert 'href="/campaigns/mailings/new/"' in page
    assert 'data-testid="nav-campaigns"' in page


@pytest.mark.django_db
def test_the_nav_has_no_campaigns_link_for_anonymous_visitors(client):
    assert 'data-testid="nav-campaigns"' not in client.get("/").content.decode()


@pytest.mark.django_db
def test_dashboard_numbers_follow_recipient_changes(client, owner, audience):
    client.force_login(owner)

    def numbers():  # each read caches them again
        found = client.get("/campaigns/").context["numbers"]
        return found.recipients_distinct, found.recipients_reachable

    distinct, reachable = numbers()

    services.create_recipient(owner=owner, email="new@example.net")
    assert numbers() == (distinct + 1, reachable + 1)
    services.unsubscribe_recipient(recipient_id=audience[0].pk)
    assert numbers() == (distinct + 1, reachable)
    services.delete_recipient(actor=owner, recipient=audience[1])
    assert numbers() == (distinct, reachable - 1)
