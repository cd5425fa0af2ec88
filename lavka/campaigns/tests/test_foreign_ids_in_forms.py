"""Another owner's message, list or recipient ids posted in the mailing form (new and
edit): refused at the field, nothing saved or linked (the list form's members are
tested in test_audience_pages)."""

from __future__ import annotations

import pytest

from lavka.campaigns.models import Mailing
from lavka.campaigns.tests.factories import MessageFactory, RecipientFactory, RecipientListFactory
from lavka.campaigns.tests.test_mailing_pages import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_customer):
    stranger = RecipientFactory(owner=other_customer, email="stranger@example.org")
    strangers = RecipientListFactory(owner=other_customer, name="Strangers")
    strangers.recipients.add(stranger)
    return {
        "message": MessageFactory(owner=other_customer),
        "lists": strangers,
        "recipients": stranger,
    }


@pytest.mark.parametrize("field", ["message", "lists", "recipients"])
def test_a_new_mailing_with_another_owners_id_is_refused(client, owner, audience, theirs, field):
    client.force_login(owner)
    value = theirs[field].pk if field == "message" else [theirs[field].pk]

    response = client.post("/campaigns/mailings/new/", form_data(owner, audience, **{field: value}))

    assert response.status_code in (200, 400)
    assert field in response.context["form"].errors
    assert not Mailing.objects.exists()


@pytest.mark.parametrize("field", ["message", "lists", "recipients"])
def test_an_edit_with_another_owners_id_changes_nothing(
    client, owner, audience, ready_mailing, theirs, field
):
    client.force_login(owner)
    before = (ready_mailing.message_id, set(ready_mailing.recipients.all()))
    value = theirs[field].pk if field == "message" else [theirs[field].pk]

    response = client.post(
        f"/campaigns/mailings/{ready_mailing.pk}/edit/",
        form_data(owner, audience, **{field: value}),
    )

    assert response.status_code in (200, 400)
    assert field in response.context["form"].errors
    ready_mailing.refresh_from_db()
    assert (ready_mailing.message_id, set(ready_mailing.recipients.all())) == before
    assert not ready_mailing.lists.exists()
