"""factory_boy factories for campaigns."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from lavka.accounts.tests.factories import CreatorFactory
from lavka.campaigns.models import (
    Mailing,
    MailingStatus,
    Message,
    Periodicity,
    Recipient,
    RecipientList,
)


class RecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recipient

    owner = factory.SubFactory(CreatorFactory)
    email = factory.Sequence(lambda n: f"client{n}@example.net")
    # not random names: name searches in tests must not flake
    full_name = factory.Sequence(lambda n: f"Client {n}")


class RecipientListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecipientList

    owner = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"List {n}")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    owner = factory.SubFactory(CreatorFactory)
    subject = "News for {{ name }}"
    html_body = '<p>Hello {{ name }},</p><p>Our news.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'


class MailingFactory(factory.django.DjangoModelFactory):
    """A draft; pass `recipients=[...]` or `lists=[...]` to give it an audience."""

    class Meta:
        model = Mailing
        skip_postgeneration_save = True

    owner = factory.SubFactory(CreatorFactory)
    name = factory.Sequence(lambda n: f"Mailing {n}")
    message = factory.LazyAttribute(lambda o: MessageFactory(owner=o.owner))
    first_send_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    )
    periodicity = Periodicity.ONCE
    status = MailingStatus.DRAFT
    time_zone = "UTC"

    @factory.post_generation
    def recipients(self, create, extracted, **kwargs):
        if create and extracted:
            self.recipients.set(extracted)

    @factory.post_generation
    def lists(self, create, extracted, **kwargs):
        if create and extracted:
            self.lists.set(extracted)
