from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lavka.campaigns import dispatch, services
from lavka.campaigns.models import Delivery, SendingPolicy
from lavka.core.roles import Role


@pytest.fixture
def pending_ids(ready_mailing, owner, audience, recipient_factory):
    extra = [recipient_factory(owner=owner) for _ in range(15)]
    ready_mailing.recipients.add(*extra)
    ready_mailing.first_send_at = timezone.now() + timedelta(minutes=5)
    ready_mailing.save()
    services.schedule_mailing(actor=owner, mailing=ready_mailing)
    ready_mailing.refresh_from_db()
    run_id = dispatch.dispatch_due_mailings(now=ready_mailing.next_send_at)[0]
    dispatch.start_run(run_id=run_id)
    return list(Delivery.objects.filter(run_id=run_id).order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db
def test_no_window_of_a_minute_holds_more_than_the_limit(owner, pending_ids, settings):
    settings.CAMPAIGNS_RATE_SLACK_SECONDS = 5
    SendingPolicy.objects.create(owner=owner, messages_per_minute=7)
    start = timezone.now()
    granted_at = []
    remaining = list(pending_ids)
    for second in range(0, 300, 3):  # workers asking every 3 s for 5 minutes
        now = start + timedelta(seconds=second)
        granted, _retry = dispatch.reserve_rate_slots(
            owner_id=owner.pk, delivery_ids=remaining[:4], now=now
        )
        granted_at += [now] * len(granted)
        remaining = [pk for pk in remaining if pk not in granted]

    for moment in granted_at:
        in_window = [t for t in granted_at if moment <= t < moment + timedelta(seconds=60)]
        assert len(in_window) <= 7
    assert len(granted_at) == 20  # all sent eventually


@pytest.mark.django_db
def test_held_back_sends_learn_when_to_try_again(owner, pending_ids):
    SendingPolicy.objects.create(owner=owner, messages_per_minute=3)
    now = timezone.now()

    granted, retry_at = dispatch.reserve_rate_slots(
        owner_id=owner.pk, delivery_ids=pending_ids[:5], now=now
    )

    assert len(granted) == 3
    assert now + timedelta(seconds=60) < retry_at <= now + timedelta(seconds=70)


@pytest.mark.django_db
def test_the_limit_is_per_owner(
    owner, pending_ids, user_factory, mailing_factory, recipient_factory
):
    SendingPolicy.objects.create(owner=owner, messages_per_minute=2)
    dispatch.reserve_rate_slots(owner_id=owner.pk, delivery_ids=pending_ids[:2])
    other = user_factory(roles=[Role.CREATOR])
    other_mailing = mailing_factory(owner=other, recipients=[recipient_factory(owner=other)])
    other_mailing.first_send_at = timezone.now() + timedelta(minutes=5)
    other_mailing.save()
    services.schedule_mailing(actor=other, mailing=other_mailing)
    other_mailing.refresh_from_db()
    run_id = dispatch.dispatch_due_mailings(now=other_mailing.next_send_at)[0]
    dispatch.start_run(run_id=run_id)
    other_ids = list(Delivery.objects.filter(run_id=run_id).values_list("pk", flat=True))

    granted, _ = dispatch.reserve_rate_slots(owner_id=other.pk, delivery_ids=other_ids)

    assert granted == other_ids
