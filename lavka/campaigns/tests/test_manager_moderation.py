"""Managers moderate every mailing: they see them all and may pause, disable and resume
any, but they cannot edit, schedule, complete or delete another owner's mailing, and
they do not see another owner's audience."""

from __future__ import annotations

import pytest
from django.utils import timezone

from lavka.campaigns import services
from lavka.campaigns.models import Delivery, DeliveryStatus, Mailing, MailingRun, MailingStatus

MODERATORS = ["manager", "superuser"]


@pytest.fixture
def active_mailing(owner, ready_mailing):
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    ready_mailing.refresh_from_db()
    return ready_mailing


@pytest.mark.django_db
@pytest.mark.parametrize("who", MODERATORS)
def test_moderators_see_every_mailing_with_its_owner(
    client, request, who, owner, other_customer, mailing_factory
):
    mailing_factory(owner=owner, name="Olga's news")
    mailing_factory(owner=other_customer, name="Otto's offers")
    client.force_login(request.getfixturevalue(who))

    page = client.get("/campaigns/mailings/").content.decode()

    assert "Olga&#x27;s news" in page and "Otto&#x27;s offers" in page
    assert "owner@example.com" in page and "other@example.com" in page


@pytest.mark.django_db
@pytest.mark.parametrize("who", MODERATORS)
def test_moderators_pause_any_mailing_and_the_owner_sees_why(
    client, request, who, owner, active_mailing
):
    client.force_login(request.getfixturevalue(who))

    response = client.post(
        f"/campaigns/mailings/{active_mailing.pk}/pause/", {"reason": "Complaints"}, follow=True
    )

    active_mailing.refresh_from_db()
    assert response.status_code == 200
    assert active_mailing.status == MailingStatus.PAUSED
    assert active_mailing.status_reason == "Complaints"
    assert not active_mailing.disabled_by_manager
    client.force_login(owner)
    assert "Complaints" in client.get(f"/campaigns/mailings/{active_mailing.pk}/").content.decode()


@pytest.mark.django_db
def test_a_disabled_mailing_cannot_be_resumed_by_its_owner_only_by_a_manager(
    client, owner, manager, active_mailing
):
    client.force_login(manager)
    client.post(f"/campaigns/mailings/{active_mailing.pk}/disable/", {"reason": "Spam"})

    client.force_login(owner)
    owner_page = client.get(f"/campaigns/mailings/{active_mailing.pk}/").content.decode()
    refused = client.post(f"/campaigns/mailings/{active_mailing.pk}/resume/", follow=True)
    active_mailing.refresh_from_db()
    assert active_mailing.status == MailingStatus.PAUSED
    assert active_mailing.disabled_by_manager
    assert 'data-testid="disabled-note"' in owner_page
    assert 'data-testid="action-resume"' not in owner_page
    assert "A manager disabled this mailing" in refused.content.decode()

    client.force_login(manager)
    resumed = client.post(f"/campaigns/mailings/{active_mailing.pk}/resume/", follow=True)
    active_mailing.refresh_from_db()
    assert active_mailing.status == MailingStatus.SCHEDULED
    assert not active_mailing.disabled_by_manager
    assert "Resumed. Next send:" in resumed.content.decode()


@pytest.mark.django_db
def test_an_owner_cannot_disable_their_own_mailing(client, owner, active_mailing):
    client.force_login(owner)

    response = client.post(f"/campaigns/mailings/{active_mailing.pk}/disable/")

    active_mailing.refresh_from_db()
    assert response.status_code == 403
    assert active_mailing.status == MailingStatus.SCHEDULED


@pytest.mark.django_db
@pytest.mark.parametrize("who", MODERATORS)
@pytest.mark.parametrize("action", ["schedule", "complete", "delete", "edit"])
def test_moderators_cannot_change_another_owners_content(
    client, request, who, action, active_mailing
):
    before = Mailing.objects.values().get(pk=active_mailing.pk)
    client.force_login(request.getfixturevalue(who))

    response = client.post(
        f"/campaigns/mailings/{active_mailing.pk}/{action}/",
        {"name": "Hijacked", "periodicity": "daily", "first_send_at": "2031-01-01T09:00"},
    )

    assert response.status_code == 404
    assert Mailing.objects.values().get(pk=active_mailing.pk) == before


@pytest.mark.django_db
@pytest.mark.parametrize("who", MODERATORS)
def test_moderators_see_no_owner_buttons_on_another_owners_mailing(
    client, request, who, active_mailing
):
    client.force_login(request.getfixturevalue(who))

    page = client.get(f"/campaigns/mailings/{active_mailing.pk}/").content.decode()

    assert 'data-testid="action-pause"' in page and 'data-testid="action-disable"' in page
    for owner_only in ("action-edit", "action-schedule", "action-complete", "action-delete"):
        assert f'data-testid="{owner_only}"' not in page
    assert 'data-testid="mailing-owner">owner@example.com<' in page


@pytest.mark.django_db
@pytest.mark.parametrize("who", MODERATORS)
def test_moderators_see_a_runs_outcomes_but_not_the_owners_addresses(
    client, request, who, owner, active_mailing, audience
):
    run = MailingRun.objects.create(mailing=active_mailing, scheduled_for=timezone.now())
    Delivery.objects.bulk_create(
        Delivery(run=run, recipient=r, email=r.email, owner=owner, status=DeliveryStatus.SENT)
        for r in audience
    )
    client.force_login(request.getfixturevalue(who))

    page = client.get(f"/campaigns/runs/{run.pk}/").content.decode()
    detail = client.get(f"/campaigns/mailings/{active_mailing.pk}/").content.decode()

    assert page.count('data-status="sent"') == 5
    assert "r•••@example.net" in page
    assert not any(r.email in page or r.email in detail for r in audience)


@pytest.mark.django_db
def test_a_plain_user_cannot_moderate(client, other_customer, active_mailing):
    client.force_login(other_customer)

    listing = client.get("/campaigns/mailings/").content.decode()
    pause = client.post(f"/campaigns/mailings/{active_mailing.pk}/pause/")

    active_mailing.refresh_from_db()
    assert active_mailing.name not in listing
    assert pause.status_code == 404
    assert active_mailing.status == MailingStatus.SCHEDULED
