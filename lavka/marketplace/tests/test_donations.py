"""Donations (seed 003's Donat): giving through the page with a manual provider, bad
input refused with nothing written, the pages of donors, creators and staff (details and
changes for staff, archive with delete_donation) and the thank-you email."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lavka.marketplace.donations import services
from lavka.marketplace.models import CreatorProfile, Donation, DonationEmail
from lavka.marketplace.tests.factories import CreatorProfileFactory, ProductFactory
from lavka.marketplace.tests.helpers import approved_creator

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_of(client: Client, creator: CreatorProfile, **values: Any) -> dict[str, Any]:
    html = client.get(reverse("marketplace:donate", args=[creator.slug])).content.decode()
    token = re.search(r'name="checkout_token" value="([^"]+)"', html)
    assert token, "no token in the donation form"
    return {
        "amount": "5.00",
        "message": "",
        "product": "",
        "payment_method": "bank_transfer",
        "checkout_token": token.group(1),
        **values,
    }


def give(donor: Any, creator: CreatorProfile, amount: str = "5.00", **kw: Any) -> Donation:
    return services.donate(
        donor=donor,
        creator=creator,
        product=kw.pop("product", None),
        amount=amount,
        message=kw.pop("message", ""),
        provider_code="bank_transfer",
        checkout_token=uuid.uuid4(),
        **kw,
    ).donation


def test_a_customer_donates_to_a_creator_and_sees_how_to_pay(customer):
    studio = approved_creator(display_name="Clay Studio")
    client = signed_in(customer)
    response = client.post(
        reverse("marketplace:donate", args=[studio.slug]),
        form_of(client, studio, amount="12.50", message="Keep going!\r\nLine two"),
    )

    donation = Donation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("marketplace:donation_detail", args=[donation.pk])
    assert donation.donor == customer and donation.creator == studio
    assert donation.amount == Decimal("12.50") and donation.currency == "EUR"
    assert donation.message == "Keep going!\nLine two"
    assert donation.status == "awaiting_payment" and donation.reference == donation.number
    page = client.get(response["Location"]).content.decode()
    assert f"quoting the reference {donation.number}" in page
    assert "12.50" in page


def test_a_donation_for_a_product_goes_to_its_creator(customer):
    studio = approved_creator()
    vase = ProductFactory(creator=studio, title_en="Vase")
    client = signed_in(customer)

    product_page = client.get(reverse("marketplace:product", args=[studio.slug, vase.slug]))
    assert f"/shop/donate/{studio.slug}/?product={vase.pk}" in product_page.content.decode()
    response = client.post(
        reverse("marketplace:donate", args=[studio.slug]),
        form_of(client, studio, product=str(vase.pk)),
    )

    assert response.status_code == 302
    donation = Donation.objects.get()
    assert donation.product == vase and donation.creator == studio


def test_the_creator_page_has_a_donate_button_except_for_the_creator(customer):
    studio = approved_creator()
    url = reverse("marketplace:creator", args=[studio.slug])
    assert 'data-testid="donate-button"' in signed_in(customer).get(url).content.decode()
    assert 'data-testid="donate-button"' not in signed_in(studio.user).get(url).content.decode()


def test_a_second_submit_of_the_same_form_gives_once(customer):
    studio = approved_creator()
    client = signed_in(customer)
    form = form_of(client, studio)
    url = reverse("marketplace:donate", args=[studio.slug])

    first = client.post(url, form)
    second = client.post(url, form)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Donation.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "message", "error"),
    [
        ("1.00", "", "must be more than 1.00"),
        ("0.99", "", "must be more than"),
        ("0", "", "must be more than"),
        ("-5", "", "must be more than"),
        ("abc", "", "as a number"),
        ("NaN", "", "as a number"),
        ("Infinity", "", "as a number"),
        ("1e400", "", "too large"),
        ("5.001", "", "whole cents"),
        ("", "", "required"),
        ("5", "x" * 2001, "at most 2000 characters"),
        ("5", "hi\x00there", "Null characters are not allowed"),
        ("5", "tab\there", "control characters"),
        ("5", "esc\x1b[31m", "control characters"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_writes_nothing(customer, amount, message, error):
    studio = approved_creator()
    client = signed_in(customer)
    response = client.post(
        reverse("marketplace:donate", args=[studio.slug]),
        form_of(client, studio, amount=amount, message=message),
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Donation.objects.exists()


def test_line_breaks_sent_as_crlf_count_once(customer):
    studio = approved_creator()
    client = signed_in(customer)
    message = "\r\n".join(["x" * 99] * 20)  # 1,980 characters + 19 breaks: 1,999 stored
    response = client.post(
        reverse("marketplace:donate", args=[studio.slug]), form_of(client, studio, message=message)
    )
    assert response.status_code == 302
    assert len(Donation.objects.get().message) == 1999


def test_a_10_mb_message_is_refused_whole(customer):
    studio = approved_creator()
    client = signed_in(customer)
    huge = "x" * (10 * 1024 * 1024)
    response = client.post(
        reverse("marketplace:donate", args=[studio.slug]), form_of(client, studio, message=huge)
    )
    assert response.status_code == 400  # over DATA_UPLOAD_MAX_MEMORY_SIZE: never parsed
    with pytest.raises(services.DonationRefused, match="at most 2000 characters"):
        give(customer, studio, message=huge)
    assert not Donation.objects.exists()


def test_the_minimum_comes_from_settings(customer, settings):
    settings.LAVKA_MIN_DONATION = "10.00"
    with pytest.raises(services.DonationRefused, match=r"more than 10\.00"):
        give(customer, approved_creator(), amount="10.00")
    assert give(customer, approved_creator(), amount="10.01").amount == Decimal("10.01")


def test_another_creators_or_an_archived_product_is_refused(customer):
    studio = approved_creator()
    theirs = ProductFactory(creator=approved_creator())
    archived = ProductFactory(creator=studio, archived_at=timezone.now())
    client = signed_in(customer)
    url = reverse("marketplace:donate", args=[studio.slug])

    for product in (theirs, archived):
        response = client.post(url, form_of(client, studio, product=str(product.pk)))
        assert response.status_code == 400
        assert 'data-testid="error-product"' in response.content.decode()
    response = client.post(url, form_of(client, studio, product="999999"))
    assert response.status_code == 400
    with pytest.raises(services.DonationRefused, match="not in the shop"):
        give(customer, studio, product=archived)
    assert not Donation.objects.exists()


def test_an_unapproved_creator_takes_no_donations(customer):
    pending = CreatorProfileFactory(status=CreatorProfile.Status.PENDING)
    client = signed_in(customer)
    assert client.get(reverse("marketplace:donate", args=[pending.slug])).status_code == 404
    assert client.post(reverse("marketplace:donate", args=["no-such-studio"])).status_code == 404
    with pytest.raises(services.DonationRefused, match="does not take donations"):
        give(customer, pending)


def test_nobody_donates_to_themselves():
    studio = approved_creator()
    client = signed_in(studio.user)
    url = reverse("marketplace:donate", args=[studio.slug])
    page = client.get(url)
    assert page.status_code == 200 and 'data-testid="own-creator"' in page.content.decode()
    token = str(uuid.uuid4())
    response = client.post(
        url, {"amount": "5", "payment_method": "bank_transfer", "checkout_token": token}
    )
    assert response.status_code == 400
    with pytest.raises(services.DonationRefused, match="yourself"):
        give(studio.user, studio)
    assert not Donation.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in():
    studio = approved_creator()
    response = Client().post(reverse("marketplace:donate", args=[studio.slug]), {"amount": "5.00"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Donation.objects.exists()


def test_a_donor_sees_only_their_own_donations(customer, other_customer):
    studio = approved_creator()
    mine = give(customer, studio)
    theirs = give(other_customer, studio)
    client = signed_in(customer)

    listing = client.get(reverse("marketplace:donation_list")).content.decode()
    assert mine.number in listing and theirs.number not in listing
    assert client.get(reverse("marketplace:donation_detail", args=[theirs.pk])).status_code == 404


def test_creators_see_the_paid_donations_they_received_only(customer, manager):
    studio, other = approved_creator(), approved_creator()
    paid = give(customer, studio, message="For the kiln")
    services.mark_paid(donation=paid, confirmed_by=manager)
    give(customer, studio, message="Not yet paid")
    elsewhere = give(customer, other, message="To someone else")
    services.mark_paid(donation=elsewhere)

    page = signed_in(studio.user).get(reverse("marketplace:donations_received")).content.decode()
    assert "For the kiln" in page
    assert "Not yet paid" not in page and "To someone else" not in page
    assert signed_in(customer).get(reverse("marketplace:donations_received")).status_code == 403


def test_staff_list_filters_by_status_creator_and_search(manager, customer, other_customer):
    studio, other = approved_creator(slug="clay"), approved_creator(slug="glass")
    open_one = give(customer, studio)
    paid = give(other_customer, other)
    services.mark_paid(donation=paid)
    client = signed_in(manager)
    url = reverse("marketplace:staff_donations")

    def numbers(**query: str) -> set[str]:
        html = client.get(url, query).content.decode()
        return set(re.findall(r"D-\d{6}", html))

    assert numbers() == {open_one.number, paid.number}
    assert numbers(status="paid") == {paid.number}
    assert numbers(creator="clay") == {open_one.number}
    assert numbers(q="other@") == {paid.number}
    assert numbers(q=paid.number) == {paid.number}
    assert client.get(url, {"status": "bogus", "q": "x" * 5000}).status_code == 200


def test_staff_mark_paid_once_and_the_donor_is_thanked_once(manager, customer):
    studio = approved_creator(display_name="Clay Studio")
    donation = give(customer, studio, amount="7.00")
    client = signed_in(manager)
    mark = reverse("marketplace:staff_donation_mark_paid", args=[donation.pk])

    client.post(mark)
    again = client.post(mark, follow=True)

    assert "paid already" in again.content.decode()
    donation.refresh_from_db()
    assert donation.status == "paid" and donation.confirmed_by == manager
    row = DonationEmail.objects.get(donation=donation)
    assert services.send_donation_email(donation_email_id=row.pk)
    assert not services.send_donation_email(donation_email_id=row.pk)
    (message,) = mail.outbox
    assert message.to == ["customer@example.com"]
    assert donation.number in message.subject
    assert "7.00 EUR to Clay Studio" in message.body


def test_customers_and_creators_cannot_change_donations(customer):
    studio = approved_creator()
    donation = give(customer, studio)
    for user in (customer, studio.user):
        client = signed_in(user)
        for name in ("staff_donation_mark_paid", "staff_donation_cancel"):
            assert (
                client.post(reverse(f"marketplace:{name}", args=[donation.pk])).status_code == 403
            )
    donation.refresh_from_db()
    assert donation.status == "awaiting_payment"


def test_archive_needs_delete_donation(manager, superuser, customer):
    donation = give(customer, approved_creator())
    services.cancel_donation(donation=donation)
    url = reverse("marketplace:staff_donation_archive", args=[donation.pk])

    assert signed_in(manager).post(url).status_code == 403
    donation.refresh_from_db()
    assert donation.status == "cancelled"
    detail = signed_in(manager).get(
        reverse("marketplace:staff_donation_detail", args=[donation.pk])
    )
    assert 'data-testid="archive-donation"' not in detail.content.decode()

    signed_in(superuser).post(url)
    donation.refresh_from_db()
    assert donation.status == "archived"


def test_an_open_donation_cannot_be_archived(superuser, customer):
    donation = give(customer, approved_creator())
    response = signed_in(superuser).post(
        reverse("marketplace:staff_donation_archive", args=[donation.pk]), follow=True
    )
    assert "cancel it before archiving" in response.content.decode()
    donation.refresh_from_db()
    assert donation.status == "awaiting_payment"


def test_the_thank_you_is_in_the_donors_language(user_factory):
    ivan = user_factory(email="ivan@example.com", language="ru")
    studio = approved_creator(display_name="Гончарная")
    donation = services.mark_paid(donation=give(ivan, studio, amount="3.50"))
    row = DonationEmail.objects.get(donation=donation)

    services.send_donation_email(donation_email_id=row.pk)

    (message,) = mail.outbox
    assert f"Спасибо за пожертвование {donation.number}" in str(message.subject)
    assert "3,50 EUR для автора Гончарная" in message.body  # localised number


def test_a_russian_donor_sees_the_status_in_russian(user_factory):
    ivan = user_factory(email="ivan@example.com", language="ru")
    donation = give(ivan, approved_creator())
    client = signed_in(ivan)
    page = client.get(
        reverse("marketplace:donation_detail", args=[donation.pk]), HTTP_ACCEPT_LANGUAGE="ru"
    ).content.decode()
    assert "ожидает оплаты" in page
