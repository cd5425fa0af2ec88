"""Donations paid by card through Stripe Checkout, against the Stripe simulator (a real
HTTP server, services/simulators/stripe) that calls the shop's webhook on a live server:
the same sessions, signed events and PaymentEvent rows as orders, applied to the
donation (paid with one thank-you email, cancelled, or flagged for review).

Events are applied by calling the task's service in the test process, as in
test_stripe_checkout.py.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from lavka.core.tests.support import wait_until
from lavka.marketplace.donations import services
from lavka.marketplace.models import (
    CreatorProfile,
    Donation,
    DonationEmail,
    Order,
    OrderEmail,
    PaymentEvent,
)
from lavka.marketplace.orders import payment_events
from lavka.marketplace.payments.stripe_checkout import client as stripe_client
from lavka.marketplace.tests.factories import ProductFactory
from lavka.marketplace.tests.helpers import approved_creator
from lavka.marketplace.tests.orders_helpers import checkout, line
from lavka.marketplace.tests.stripe_helpers import (
    WEBHOOK_PATH,
    apply_payment_events,
    donation_session_event,
    post_event,
    stripe_simulator,
)
from services.simulators.stripe.testing import submit_payment_page, wait_idle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@dataclass
class CardDonations:
    sim: Any
    webhook_url: str
    creator: CreatorProfile

    def sessions(self) -> int:
        """Checkout Sessions the simulator was asked to create."""
        return len(self.sim.store.sessions)

    def form(self, client: Client, **values: Any) -> dict[str, Any]:
        html = client.get(reverse("marketplace:donate", args=[self.creator.slug])).content
        token = re.search(r'name="checkout_token" value="([^"]+)"', html.decode())
        assert token, "no token in the donation form"
        return {
            "amount": "12.50",
            "message": "For the kiln",
            "product": "",
            "payment_method": "stripe",
            "checkout_token": token.group(1),
            **values,
        }

    def donate(self, client: Client, **values: Any) -> Any:
        url = reverse("marketplace:donate", args=[self.creator.slug])
        return client.post(url, self.form(client, **values))

    def give(self, donor: Any, amount: str = "12.50") -> tuple[Donation, str]:
        """A card donation made through the page: (donation, the payment page's URL)."""
        client = signed_in(donor)
        response = self.donate(client, amount=amount)
        assert response.status_code == 302, response.content.decode()[:2000]
        donation = Donation.objects.filter(donor=donor).latest("pk")
        return donation, response["Location"]


@pytest.fixture
def card_donations(settings: Any, live_server: Any) -> Iterator[CardDonations]:
    with stripe_simulator(settings, live_server) as sim:
        creator = approved_creator(display_name="Clay Studio")
        yield CardDonations(sim, live_server.url + WEBHOOK_PATH, creator)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def deliver(card_donations: CardDonations, donation: Donation, *kinds: str, **change: Any) -> None:
    for kind in kinds:
        event = donation_session_event(donation, kind, **change)
        assert post_event(card_donations.webhook_url, event) == 200


def thank_yous() -> int:
    return DonationEmail.objects.count()


def test_a_donor_pays_by_card_and_is_thanked_once(
    card_donations: CardDonations, customer: Any
) -> None:
    client = signed_in(customer)
    page = client.get(reverse("marketplace:donate", args=[card_donations.creator.slug]))
    assert "Card (test mode)" in page.content.decode()

    response = card_donations.donate(client)
    donation = Donation.objects.get()
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(card_donations.sim.url + "/c/pay/")
    assert donation.provider == "stripe" and donation.status == Donation.Status.AWAITING_PAYMENT
    session = stripe_client().v1.checkout.sessions.retrieve(donation.reference)
    assert session.amount_total == 1250 and session.currency == "eur"
    assert session.client_reference_id == f"donation-{donation.pk}"
    assert session.metadata["kind"] == "donation"
    assert session.metadata["donation_id"] == str(donation.pk)
    assert session.customer_email == customer.email

    status, target = submit_payment_page(url, "pay")
    assert status == 303
    assert target.endswith(f"/shop/donations/{donation.pk}/?paid={donation.reference}")
    back = urlsplit(target)
    thanks = client.get(f"{back.path}?{back.query}")
    assert "We will confirm your donation once the payment is through." in thanks.content.decode()
    apply_payment_events(card_donations.sim)

    donation.refresh_from_db()
    assert donation.status == Donation.Status.PAID and donation.paid_at is not None
    assert not donation.review_reason and donation.confirmed_by is None
    event = PaymentEvent.objects.get()
    assert event.outcome == "paid" and event.donation == donation and event.order is None
    assert thank_yous() == 1
    assert services.send_donation_email(donation_email_id=DonationEmail.objects.get().pk)
    (thank_you,) = mail.outbox
    assert donation.number in thank_you.subject and thank_you.to == [customer.email]
    # the creator now sees it among the donations received
    assert card_donations.creator.donations.filter(paid_at__isnull=False).count() == 1


def test_decline_and_cancel_leave_the_donation_unpaid_and_pay_now_goes_back(
    card_donations: CardDonations, customer: Any
) -> None:
    donation, url = card_donations.give(customer)

    assert submit_payment_page(url, "decline") == (200, "")  # declined, still open
    status, target = submit_payment_page(url, "cancel")
    assert status == 303 and target.endswith(f"/shop/donations/{donation.pk}/?cancelled=1")
    apply_payment_events(card_donations.sim)

    donation.refresh_from_db()
    assert donation.status == Donation.Status.AWAITING_PAYMENT
    assert not PaymentEvent.objects.exists() and thank_yous() == 0
    client = signed_in(customer)
    page = client.get(f"/shop/donations/{donation.pk}/?cancelled=1")
    assert page.context["pays_online"]
    assert "this donation is not paid" in page.content.decode()
    again = client.post(f"/shop/donations/{donation.pk}/pay/")
    assert again.status_code == 302 and again["Location"] == url  # the same session
    assert card_donations.sessions() == 1


def test_an_expired_session_cancels_the_donation(
    card_donations: CardDonations, customer: Any
) -> None:
    donation, _url = card_donations.give(customer)
    stripe_client().v1.checkout.sessions.expire(donation.reference)
    apply_payment_events(card_donations.sim)

    donation.refresh_from_db()
    assert donation.status == Donation.Status.CANCELLED
    event = PaymentEvent.objects.get()
    assert event.event_type == "checkout.session.expired" and event.outcome == "cancelled"
    assert event.donation == donation
    response = signed_in(customer).post(f"/shop/donations/{donation.pk}/pay/", follow=True)
    assert "cannot be paid online" in response.content.decode()


@pytest.mark.parametrize(
    ("action", "status", "emails"),
    [("debit_succeeds", Donation.Status.PAID, 1), ("debit_fails", Donation.Status.CANCELLED, 0)],
)
def test_a_bank_debit_settles_the_donation_later(
    card_donations: CardDonations, customer: Any, action: str, status: str, emails: int
) -> None:
    donation, url = card_donations.give(customer)
    submit_payment_page(url, action)
    apply_payment_events(card_donations.sim)

    donation.refresh_from_db()
    assert donation.status == status
    assert thank_yous() == emails
    assert "ignored" in set(PaymentEvent.objects.values_list("outcome", flat=True))


def test_duplicate_and_replayed_deliveries_have_one_effect(
    card_donations: CardDonations, customer: Any
) -> None:
    card_donations.sim.control_update({"duplicate": True})
    donation, url = card_donations.give(customer)
    submit_payment_page(url, "pay")
    wait_idle(card_donations.sim)
    assert PaymentEvent.objects.count() == 1
    apply_payment_events()
    payload = PaymentEvent.objects.get().payload
    assert post_event(card_donations.webhook_url, payload) == 200  # once more, by hand
    apply_payment_events()

    assert PaymentEvent.objects.count() == 1
    donation.refresh_from_db()
    assert donation.status == Donation.Status.PAID
    assert thank_yous() == 1


def test_a_late_expired_does_not_cancel_a_paid_donation(
    card_donations: CardDonations, customer: Any
) -> None:
    donation, _url = card_donations.give(customer)
    deliver(card_donations, donation, "completed", "expired")
    completed, expired = PaymentEvent.objects.order_by("pk")

    # a worker takes the expired first: it waits for the payment received before it
    assert not payment_events.process_event(event_pk=expired.pk)
    donation.refresh_from_db()
    assert donation.status == Donation.Status.AWAITING_PAYMENT
    assert payment_events.process_event(event_pk=completed.pk)
    assert wait_until(lambda: payment_events.process_event(event_pk=expired.pk), timeout=90)

    donation.refresh_from_db()
    expired.refresh_from_db()
    assert donation.status == Donation.Status.PAID
    assert expired.outcome == "ignored"
    assert thank_yous() == 1


def test_a_payment_after_the_donation_was_cancelled_is_flagged_not_applied(
    card_donations: CardDonations, customer: Any
) -> None:
    donation, _url = card_donations.give(customer)
    deliver(card_donations, donation, "expired", "completed")
    apply_payment_events()

    donation.refresh_from_db()
    assert donation.status == Donation.Status.CANCELLED
    assert "refund" in donation.review_reason
    assert thank_yous() == 0
    assert dict(PaymentEvent.objects.values_list("event_type", "outcome")) == {
        "checkout.session.expired": "cancelled",
        "checkout.session.completed": "flagged",
    }


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount_total": 1}, "minor units"),
        ({"currency": "usd"}, "USD"),
        ({"id": "cs_someone_elses"}, "through session cs_someone_elses"),
    ],
)
def test_a_mismatched_payment_flags_the_donation_instead_of_paying_it(
    card_donations: CardDonations,
    customer: Any,
    manager: Any,
    change: dict[str, Any],
    reason: str,
) -> None:
    donation, _url = card_donations.give(customer)
    deliver(card_donations, donation, "completed", **change)
    apply_payment_events()

    donation.refresh_from_db()
    assert donation.status == Donation.Status.AWAITING_PAYMENT
    assert reason in donation.review_reason
    assert PaymentEvent.objects.get().outcome == "flagged"
    assert thank_yous() == 0
    staff = signed_in(manager)
    page = staff.get(f"/shop/staff/donations/{donation.pk}/").content.decode()
    assert "Needs review:" in page and reason in page
    assert "needs review" in staff.get("/shop/staff/donations/").content.decode()


def test_a_donation_event_never_touches_an_order(
    card_donations: CardDonations, customer: Any
) -> None:
    """Dispatch is by the session's metadata kind: a donation's event naming an order's
    id and session (as an order's client_reference_id would) still goes to the donation."""
    order = checkout(customer, [line(ProductFactory(stock=1))], provider_code="stripe").order
    donation, _url = card_donations.give(customer)
    order.payment.refresh_from_db()
    reference = order.payment.reference or "cs_order"
    deliver(card_donations, donation, "completed", id=reference, client_reference_id=str(order.pk))
    apply_payment_events()

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT and not order.review_reason
    assert not OrderEmail.objects.filter(kind=OrderEmail.Kind.PAID).exists()
    event = PaymentEvent.objects.get()
    assert event.order is None and event.donation == donation


@pytest.mark.parametrize("amount", ["1.00", "0.50", "0", "-5", "abc", "1e3x", "\x00"])
def test_a_refused_amount_is_refused_before_any_stripe_call(
    card_donations: CardDonations, customer: Any, amount: str
) -> None:
    client = signed_in(customer)
    response = card_donations.donate(client, amount=amount)

    assert response.status_code == 400
    assert not Donation.objects.exists()
    assert card_donations.sessions() == 0
    # the same form with an amount just above the minimum does reach Stripe
    assert card_donations.donate(client, amount="1.01").status_code == 302
    assert card_donations.sessions() == 1


def test_another_donors_card_donation_is_404(
    card_donations: CardDonations, customer: Any, other_customer: Any
) -> None:
    donation, _url = card_donations.give(customer)
    other = signed_in(other_customer)
    assert other.get(f"/shop/donations/{donation.pk}/").status_code == 404
    assert other.get(f"/shop/donations/{donation.pk}/?paid=cs_x").status_code == 404
    assert other.post(f"/shop/donations/{donation.pk}/pay/").status_code == 404
    assert other.post("/shop/donations/999999/pay/").status_code == 404
    assert signed_in(customer).get(f"/shop/donations/{donation.pk}/pay/").status_code == 405


def test_a_second_click_gives_one_donation_and_one_session(
    card_donations: CardDonations, customer: Any
) -> None:
    client = signed_in(customer)
    data = card_donations.form(client)
    url = reverse("marketplace:donate", args=[card_donations.creator.slug])
    first = client.post(url, data)
    second = client.post(url, data, follow=True)

    assert first.status_code == 302
    assert Donation.objects.count() == 1 and card_donations.sessions() == 1
    assert "made already" in second.content.decode()


def test_stripe_unreachable_keeps_the_donation_awaiting_payment(
    card_donations: CardDonations, customer: Any, settings: Any
) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens
    client = signed_in(customer)
    response = card_donations.donate(client, amount="7.00")
    donation = Donation.objects.get()

    assert response.status_code == 302
    assert response["Location"] == f"/shop/donations/{donation.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "could not be started" in page
    assert donation.status == Donation.Status.AWAITING_PAYMENT and donation.reference == ""
    assert Decimal(donation.amount) == Decimal("7.00")

    settings.STRIPE_API_BASE = card_donations.sim.url  # back: pay now opens the session
    again = client.post(f"/shop/donations/{donation.pk}/pay/")
    assert again["Location"].startswith(card_donations.sim.url + "/c/pay/")
    donation.refresh_from_db()
    assert donation.reference.startswith("cs_")


def test_bank_transfer_donations_are_not_paid_by_a_card_event(
    card_donations: CardDonations, customer: Any
) -> None:
    donation = services.donate(
        donor=customer,
        creator=card_donations.creator,
        product=None,
        amount="5.00",
        message="",
        provider_code="bank_transfer",
        checkout_token=uuid.uuid4(),
    ).donation
    deliver(card_donations, donation, "completed", id="cs_forged")
    apply_payment_events()

    donation.refresh_from_db()
    assert donation.status == Donation.Status.AWAITING_PAYMENT
    assert PaymentEvent.objects.get().outcome == "ignored"
    assert thank_yous() == 0


def test_a_crash_before_the_session_id_was_saved_gets_the_same_session_back_later(
    card_donations: CardDonations, customer: Any
) -> None:
    """Our idempotency key brings the same session back, also seconds later: the
    session's parameters (its expiry too) do not depend on when the call is made."""
    donation, url = card_donations.give(customer)
    session_id = donation.reference
    Donation.objects.filter(pk=donation.pk).update(reference="")  # the crash
    time.sleep(1.1)  # the retry comes in another second

    again = signed_in(customer).post(f"/shop/donations/{donation.pk}/pay/")
    assert again.status_code == 302 and again["Location"] == url
    donation.refresh_from_db()
    assert donation.reference == session_id
    assert card_donations.sessions() == 1
