"""Donations under real conditions: two staff tabs marking the same donation paid at
once (each thread its own database connection), and the thank-you through a real
worker process and the configured mail transport.

    python -m pytest lavka/marketplace/tests/test_donation_work.py
"""

from __future__ import annotations

import uuid
from email.header import decode_header, make_header

import pytest

from lavka.accounts.tests.factories import UserFactory
from lavka.core.tests.support import wait_until
from lavka.marketplace.donations import services
from lavka.marketplace.models import Donation, DonationEmail
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.orders_helpers import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def give(donor, creator) -> Donation:
    return services.donate(
        donor=donor,
        creator=creator,
        product=None,
        amount="9.00",
        message="Line one\nLine two",
        provider_code="bank_transfer",
        checkout_token=uuid.uuid4(),
    ).donation


def test_two_staff_marking_paid_at_once_make_one_change_and_one_email():
    donation = give(UserFactory(), approved_creator())
    staff = [UserFactory(), UserFactory()]

    results = run_in_threads(
        [lambda who=who: services.mark_paid(donation=donation, confirmed_by=who) for who in staff]
    )

    paid = [r for r in results if isinstance(r, Donation)]
    refused = [r for r in results if isinstance(r, services.DonationRefused)]
    assert len(paid) == 1 and len(refused) == 1, results
    assert refused[0].code == "paid"
    assert DonationEmail.objects.filter(donation=donation).count() == 1


def test_one_form_submitted_from_two_tabs_at_once_gives_once():
    donor, studio = UserFactory(), approved_creator()
    token = uuid.uuid4()

    def submit() -> services.Given:
        return services.donate(
            donor=donor,
            creator=studio,
            product=None,
            amount="4.00",
            message="",
            provider_code="bank_transfer",
            checkout_token=token,
        )

    results = run_in_threads([submit, submit])

    assert all(isinstance(r, services.Given) for r in results), results
    assert Donation.objects.count() == 1
    assert sorted(r.created for r in results) == [False, True]


@pytest.mark.worker
def test_the_thank_you_arrives_through_a_real_worker(celery_worker_process, mail_sink):
    donor = UserFactory(email="donor@example.com")
    donation = give(donor, approved_creator(display_name="Clay Studio"))

    services.mark_paid(donation=donation)
    arrived = wait_until(lambda: mail_sink("donor@example.com"), timeout=60)

    assert arrived, f"no email; worker log:\n{celery_worker_process.log_tail()}"
    (message,) = arrived
    assert str(make_header(decode_header(message.subject))) == (
        f"[Lavka] Thank you for your donation {donation.number}"
    )
    assert "9.00 EUR to Clay Studio" in message.text()
    row = DonationEmail.objects.get(donation=donation)
    assert wait_until(lambda: DonationEmail.objects.get(pk=row.pk).sent_at is not None, 30)
