"""Each campaigns action's check, per role: the owner, another owner, a manager, a
superuser, and someone anonymous or deactivated. Also what the actions themselves decide
(a disabled mailing, save-and-schedule as one change) and that the admin goes through
them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from lavka.campaigns import actions, selectors
from lavka.campaigns.models import Mailing, MailingStatus, Periodicity
from lavka.campaigns.tests.factories import (
    MailingFactory,
    MessageFactory,
    RecipientFactory,
    RecipientListFactory,
)

ROLES = ["owner", "other_customer", "manager", "superuser", "anonymous", "inactive"]
# Managers run campaigns of their own too (and moderate everyone's mailings).
EVERYONE_WHO_CAMPAIGNS = {"owner", "other_customer", "manager", "superuser"}
OWNER_OR_GRANTED = {"owner", "superuser"}
OWNER_ONLY = {"owner"}
OWNER_OR_MODERATOR = {"owner", "manager", "superuser"}
MODERATORS = {"manager", "superuser"}


@pytest.fixture
def things(owner: Any) -> dict[str, Any]:
    """One of each of the owner's objects."""
    recipient = RecipientFactory(owner=owner, email="reader@example.net")
    recipient_list = RecipientListFactory(owner=owner, name="News")
    message = MessageFactory(owner=owner)
    mailing = MailingFactory(owner=owner, message=message, recipients=[recipient])
    return {
        "owner": owner,
        "recipient": recipient,
        "list": recipient_list,
        "message": message,
        "mailing": mailing,
    }


def _actor(request: Any, role: str, user_factory: Any) -> Any:
    if role == "anonymous":
        return AnonymousUser()
    if role == "inactive":
        return user_factory(email="gone@example.com", is_active=False)
    return request.getfixturevalue(role)


def _later() -> Any:
    return timezone.now() + timedelta(days=1)


ACTIONS: dict[str, tuple[Any, set[str]]] = {
    "create a recipient for oneself": (
        lambda actor, t: actions.CreateRecipient(actor, email="new@example.net"),
        EVERYONE_WHO_CAMPAIGNS,
    ),
    "create a recipient for the owner": (
        lambda actor, t: actions.CreateRecipient(actor, owner=t["owner"], email="n@example.net"),
        OWNER_OR_GRANTED,
    ),
    "update a recipient": (
        lambda actor, t: actions.UpdateRecipient(actor, recipient=t["recipient"], full_name="X"),
        OWNER_OR_GRANTED,
    ),
    "edit a recipient with its lists": (
        lambda actor, t: actions.UpdateRecipient(actor, recipient=t["recipient"], lists=[]),
        OWNER_OR_GRANTED,
    ),
    "deactivate a recipient": (
        lambda actor, t: actions.SetRecipientActive(actor, recipient=t["recipient"], active=False),
        OWNER_OR_GRANTED,
    ),
    "resubscribe a recipient": (
        lambda actor, t: actions.ResubscribeRecipient(actor, recipient=t["recipient"]),
        OWNER_OR_GRANTED,
    ),
    "delete a recipient": (
        lambda actor, t: actions.DeleteRecipient(actor, recipient=t["recipient"]),
        OWNER_OR_GRANTED,
    ),
    "create a list": (
        lambda actor, t: actions.SaveList(actor, name="Fresh"),
        EVERYONE_WHO_CAMPAIGNS,
    ),
    "edit a list with its members": (
        lambda actor, t: actions.SaveList(
            actor, recipient_list=t["list"], name="News", members=[t["recipient"]]
        ),
        OWNER_OR_GRANTED,
    ),
    "delete a list": (
        lambda actor, t: actions.DeleteList(actor, recipient_list=t["list"]),
        OWNER_OR_GRANTED,
    ),
    "write a message": (
        lambda actor, t: actions.SaveMessage(actor, subject="Hi", html_body="<p>Hi</p>"),
        EVERYONE_WHO_CAMPAIGNS,
    ),
    "edit a message": (
        lambda actor, t: actions.SaveMessage(
            actor, message=t["message"], subject="Hi", html_body="<p>Hi</p>"
        ),
        OWNER_OR_GRANTED,
    ),
    "delete a message": (
        lambda actor, t: actions.DeleteMessage(actor, message=t["message"]),
        OWNER_OR_GRANTED,
    ),
    "send a test of a message": (
        lambda actor, t: actions.SendTestMessage(actor, message=t["message"]),
        OWNER_ONLY,
    ),
    "confirm a CSV import": (
        lambda actor, t: actions.ConfirmImport(actor, pending=None, token=""),
        EVERYONE_WHO_CAMPAIGNS,
    ),
    "create a mailing": (
        lambda actor, t: actions.SaveMailing(actor, name="New", first_send_at=_later()),
        EVERYONE_WHO_CAMPAIGNS,
    ),
    "edit a mailing": (
        lambda actor, t: actions.SaveMailing(actor, mailing=t["mailing"], then_schedule=True),
        OWNER_ONLY,
    ),
    "schedule a mailing": (
        lambda actor, t: actions.ScheduleMailing(actor, mailing=t["mailing"]),
        OWNER_ONLY,
    ),
    "delete a mailing": (
        lambda actor, t: actions.DeleteMailing(actor, mailing=t["mailing"]),
        OWNER_ONLY,
    ),
    "pause a mailing": (
        lambda actor, t: actions.PauseMailing(actor, mailing=t["mailing"]),
        OWNER_OR_MODERATOR,
    ),
    "disable a mailing": (
        lambda actor, t: actions.PauseMailing(actor, mailing=t["mailing"], disable=True),
        MODERATORS,
    ),
    "resume a mailing": (
        lambda actor, t: actions.ResumeMailing(actor, mailing=t["mailing"]),
        OWNER_OR_MODERATOR,
    ),
    "complete a mailing": (
        lambda actor, t: actions.CompleteMailing(actor, mailing=t["mailing"]),
        OWNER_OR_MODERATOR,
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ACTIONS))
def test_each_action_is_allowed_to_exactly_its_roles(request, user_factory, things, name, role):
    build, allowed = ACTIONS[name]
    action = build(_actor(request, role, user_factory), things)

    if role in allowed:
        action.check()
    else:
        with pytest.raises(PermissionDenied):
            action.check()


@pytest.mark.django_db
def test_a_refused_action_changes_nothing(things, other_customer):
    recipient = things["recipient"]

    with pytest.raises(PermissionDenied):
        actions.DeleteRecipient(other_customer, recipient=recipient).execute()
    with pytest.raises(PermissionDenied):
        actions.UpdateRecipient(other_customer, recipient=recipient, full_name="Hijacked").execute()

    recipient.refresh_from_db()
    assert recipient.full_name != "Hijacked"


@pytest.mark.django_db
def test_a_mailing_a_moderator_disabled_is_resumed_by_a_moderator_only(owner, manager, things):
    mailing = things["mailing"]
    actions.ScheduleMailing(owner, mailing=mailing).execute()
    actions.PauseMailing(manager, mailing=mailing, disable=True).execute()

    with pytest.raises(ValidationError, match="A manager disabled this mailing"):
        actions.ResumeMailing(owner, mailing=mailing).execute()
    actions.ResumeMailing(manager, mailing=mailing).execute()

    mailing.refresh_from_db()
    assert (mailing.status, mailing.disabled_by_manager) == (MailingStatus.SCHEDULED, False)


@pytest.mark.django_db
def test_a_moderator_pausing_someone_elses_mailing_is_named_in_the_reason(owner, manager, things):
    mailing = things["mailing"]
    actions.ScheduleMailing(owner, mailing=mailing).execute()

    actions.PauseMailing(manager, mailing=mailing).execute()

    mailing.refresh_from_db()
    assert mailing.status_reason == "Paused by a manager."


@pytest.mark.django_db
def test_save_and_schedule_is_one_change_a_refused_schedule_keeps_nothing(owner, things):
    mailing = things["mailing"]
    mailing.recipients.clear()  # nobody to send to: scheduling is refused

    save = actions.SaveMailing(
        owner,
        mailing=mailing,
        name="Renamed",
        message=things["message"],
        first_send_at=_later(),
        periodicity=Periodicity.ONCE,
        then_schedule=True,
    )
    with pytest.raises(ValidationError):
        save.execute()

    stored = Mailing.objects.get(pk=mailing.pk)
    assert stored.name != "Renamed"
    assert stored.status == MailingStatus.DRAFT
    assert not save.scheduled


@pytest.mark.django_db
def test_save_and_schedule_schedules_a_draft_but_only_saves_an_active_mailing(owner, things):
    mailing = things["mailing"]
    values = {
        "name": "Weekly",
        "message": things["message"],
        "first_send_at": _later(),
        "periodicity": Periodicity.ONCE,
        "recipients": [things["recipient"]],
        "then_schedule": True,
    }

    first = actions.SaveMailing(owner, mailing=mailing, **values)
    first.execute()
    again = actions.SaveMailing(owner, mailing=mailing, **values)
    again.execute()

    mailing.refresh_from_db()
    assert mailing.status == MailingStatus.SCHEDULED
    assert (first.scheduled, again.scheduled) == (True, False)


@pytest.mark.django_db
def test_a_test_copy_of_a_message_with_unknown_placeholders_is_refused(owner):
    broken = MessageFactory(owner=owner, html_body="<p>{{ coupon }}</p>")

    with pytest.raises(ValidationError, match="Fix the unknown placeholders"):
        actions.SendTestMessage(owner, message=broken).execute()


@pytest.mark.django_db
def test_a_list_never_takes_another_owners_recipients(owner, other_customer):
    theirs = RecipientFactory(owner=other_customer)

    with pytest.raises(ValidationError):
        actions.SaveList(owner, name="Mixed", members=[theirs]).execute()


@pytest.mark.django_db
def test_the_admins_save_of_a_recipient_drops_the_owners_dashboard_numbers(
    client, superuser, owner, audience
):
    before = selectors.dashboard(owner_id=owner.pk)
    client.force_login(superuser)
    reader = audience[0]

    response = client.post(
        reverse("admin:campaigns_recipient_change", args=[reader.pk]),
        {"email": reader.email, "full_name": "Reader", "comment": "", "phone": "", "country": ""},
    )

    assert response.status_code == 302
    reader.refresh_from_db()
    assert not reader.is_active
    after = selectors.dashboard(owner_id=owner.pk)
    assert after.recipients_reachable == before.recipients_reachable - 1


@pytest.mark.django_db
def test_the_admin_adds_and_deletes_a_recipient_for_its_owner(client, superuser, owner):
    selectors.dashboard(owner_id=owner.pk)
    client.force_login(superuser)

    added = client.post(
        reverse("admin:campaigns_recipient_add"),
        {
            "owner": owner.pk,
            "email": "Added@Example.net",
            "full_name": "",
            "comment": "",
            "phone": "",
            "country": "",
            "is_active": "on",
        },
    )
    created = owner.recipients.get()
    counted = selectors.dashboard(owner_id=owner.pk).recipients_distinct
    deleted = client.post(
        reverse("admin:campaigns_recipient_delete", args=[created.pk]), {"post": "yes"}
    )

    assert added.status_code == deleted.status_code == 302
    assert created.email == "added@example.net"
    assert counted == 1
    assert selectors.dashboard(owner_id=owner.pk).recipients_distinct == 0
