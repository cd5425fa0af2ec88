"""Writes of donations: giving (with the provider's payment reference), staff marking
paid, cancelling and archiving, and the thank-you email.

A donation is paid through the same `PaymentProvider` interface as orders (a Donation
is `payments.Payable`): by bank transfer, confirmed by staff, or by card through Stripe
Checkout, confirmed by its webhook (`donations.payment_events`). Only the providers in
LAVKA_DONATION_PROVIDERS are offered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from lavka.core import background, mail, work
from lavka.core.composer import compose, message_id
from lavka.marketplace import payments
from lavka.marketplace.models import CreatorProfile, Donation, DonationEmail, Product
from lavka.marketplace.models.donations import (
    MAX_MESSAGE_LENGTH,
    normalise_message,
    validate_message_text,
)

CENT = Decimal("0.01")
# Ten digits before the point: what the column holds.
MAX_DONATION = Decimal("9999999999.99")


class DonationRefused(Exception):
    """Nothing was written; `message` says why, for the donor or staff."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def minimum_donation() -> Decimal:
    """LAVKA_MIN_DONATION as money (a donation must be above it)."""
    return Decimal(str(settings.LAVKA_MIN_DONATION)).quantize(CENT)


def offered_providers() -> list[payments.PaymentProvider]:
    """The payment methods offered for donations, in LAVKA_DONATION_PROVIDERS' order
    (Stripe only with a key, as for orders)."""
    found = (payments.any_provider(code) for code in settings.LAVKA_DONATION_PROVIDERS)
    return [
        p for p in found if p is not None and (p.code != "stripe" or settings.STRIPE_SECRET_KEY)
    ]


def _money(amount: Decimal) -> str:
    return f"{formats.number_format(amount, 2)} {settings.LAVKA_SHOP_CURRENCY}"


def clean_amount(raw: Any) -> Decimal:
    """The amount as money, or DonationRefused (not a number, too small, too large)."""
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise DonationRefused(_("Give the amount as a number."), code="not_a_number") from None
    if not amount.is_finite():
        raise DonationRefused(_("Give the amount as a number."), code="not_a_number")
    if amount > MAX_DONATION:
        raise DonationRefused(_("This amount is too large."), code="too_large")
    minimum = minimum_donation()
    if amount <= minimum:
        raise DonationRefused(
            _("A donation must be more than %(amount)s.") % {"amount": _money(minimum)},
            code="below_minimum",
        )
    if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
        raise DonationRefused(_("Give the amount in whole cents."), code="fraction_of_cent")
    return amount.quantize(CENT)


def clean_message(raw: str) -> str:
    message = normalise_message(raw or "")
    if len(message) > MAX_MESSAGE_LENGTH:
        raise DonationRefused(
            _("The message is at most %(count)d characters long.") % {"count": MAX_MESSAGE_LENGTH},
            code="message_too_long",
        )
    try:
        validate_message_text(message)
    except ValidationError as error:
        raise DonationRefused(" ".join(error.messages), code="message_characters") from None
    return message


def recipient_refusal(donor: Any, creator: CreatorProfile, product: Product | None) -> str:
    """Why this donor cannot give to this creator or product now ("" if they can)."""
    if not creator.is_approved:
        return _("This creator does not take donations.")
    if creator.user_id == getattr(donor, "pk", None):
        return _("You cannot donate to yourself.")
    if product is not None:
        on_sale = Product.objects.on_sale().filter(pk=product.pk, creator=creator).exists()
        if not on_sale:
            return _("This product is not in the shop any more.")
    return ""


@dataclass(frozen=True)
class Given:
    """A donation and what the donor does next (the provider's instructions or page)."""

    donation: Donation
    next_step: payments.NextStep
    created: bool
    # Why the provider could not start the payment (the donation stays open).
    error: str = ""


def donate(
    *,
    donor: Any,
    creator: CreatorProfile,
    product: Product | None,
    amount: Any,
    message: str,
    provider_code: str,
    checkout_token: uuid.UUID,
    language: str = "en",
) -> Given:
    """Write an awaiting-payment donation, then ask its provider for the next step. A
    token already used by this donor returns that donation (a double submit)."""
    existing = Donation.objects.filter(checkout_token=checkout_token).first()
    if existing is not None:
        return _given(existing, donor, created=False)
    clean = clean_amount(amount)
    text = clean_message(message)
    refusal = recipient_refusal(donor, creator, product)
    if refusal:
        raise DonationRefused(refusal, code="recipient")
    provider = next((p for p in offered_providers() if p.code == provider_code), None)
    if provider is None:
        raise DonationRefused(_("Choose one of the payment methods offered."), code="provider")
    try:
        with transaction.atomic():
            donation = Donation.objects.create(
                donor=donor,
                creator=creator,
                product=product,
                amount=clean,
                currency=settings.LAVKA_SHOP_CURRENCY,
                message=text,
                language=language[:10],
                provider=provider.code,
                checkout_token=checkout_token,
            )
            # A provider's reference may need the number, known once the row exists.
            donation.reference = provider.reference_for(donation)[:200]
            donation.save(update_fields=["reference", "updated_at"])
    except IntegrityError:
        existing = Donation.objects.filter(checkout_token=checkout_token).first()
        if existing is None:
            raise
        return _given(existing, donor, created=False)
    # Outside the transaction: a provider that calls out (Stripe) sees a committed row,
    # and when it cannot start the payment the donation stays, paid later from its page.
    try:
        return Given(donation, provider.start_payment(donation), created=True)
    except payments.PaymentError:
        return Given(donation, payments.NextStep(), created=True, error=_not_started())


def _not_started() -> str:
    # Not the provider's message: that one speaks of orders.
    return _(
        "The card payment could not be started. Your donation is kept, awaiting payment: "
        "try again from its page."
    )


def pays_online(donation: Donation) -> bool:
    """An open donation whose provider takes the payment itself (a card)."""
    provider = payments.any_provider(donation.provider)
    return donation.is_open and provider is not None and not provider.confirmed_by_staff


def continue_payment(*, donation: Donation) -> payments.NextStep:
    """Back to the provider's page of an open donation paid online (after an error or
    a closed tab): the same payment, never a second one."""
    provider = payments.any_provider(donation.provider)
    if provider is None or not pays_online(donation):
        raise DonationRefused(_("This donation cannot be paid online now."), code="closed")
    try:
        return provider.start_payment(donation)
    except payments.PaymentError:
        raise DonationRefused(_not_started(), code="not_started") from None


def _given(donation: Donation, donor: Any, *, created: bool) -> Given:
    if donation.donor_id != getattr(donor, "pk", None):
        raise DonationRefused(_("This form was already used. Start again."), code="token")
    return Given(donation, next_step(donation), created=created)


def next_step(donation: Donation) -> payments.NextStep:
    """What an unpaid donation's page tells the donor (never calls out)."""
    provider = payments.any_provider(donation.provider)
    if provider is None or not donation.is_open:
        return payments.NextStep()
    return payments.NextStep(instructions=provider.instructions(donation))


# --- status changes -----------------------------------------------------------------------


def _locked(donation: Donation) -> Donation:
    return Donation.objects.select_for_update().get(pk=donation.pk)


def _refuse_unless_open(donation: Donation) -> None:
    if donation.status == Donation.Status.PAID:
        raise DonationRefused(_("This donation is paid already."), code="paid")
    if donation.status != Donation.Status.AWAITING_PAYMENT:
        raise DonationRefused(
            _("This donation is %(status)s; it can no longer change.")
            % {"status": donation.get_status_display()},
            code="closed",
        )


@transaction.atomic
def mark_paid(*, donation: Donation, confirmed_by: Any = None, reference: str = "") -> Donation:
    """The money arrived: the donation is paid and the donor is thanked (once)."""
    locked = _locked(donation)
    _refuse_unless_open(locked)
    locked.status, locked.paid_at = Donation.Status.PAID, timezone.now()
    locked.confirmed_by = confirmed_by if getattr(confirmed_by, "pk", None) else None
    fields = ["status", "paid_at", "confirmed_by", "updated_at"]
    if reference:
        locked.reference = reference[:200]
        fields.append("reference")
    locked.save(update_fields=fields)
    email, created = DonationEmail.objects.get_or_create(donation=locked)
    if created:
        work.mark_queued(DonationEmail.objects.filter(pk=email.pk))
        background.start("marketplace.send_donation_email", email.pk)
    return locked


@transaction.atomic
def cancel_donation(*, donation: Donation) -> Donation:
    locked = _locked(donation)
    _refuse_unless_open(locked)
    locked.status, locked.cancelled_at = Donation.Status.CANCELLED, timezone.now()
    locked.save(update_fields=["status", "cancelled_at", "updated_at"])
    return locked


@transaction.atomic
def archive_donation(*, donation: Donation) -> Donation:
    """Put a finished donation (paid or cancelled) out of the staff's lists."""
    locked = _locked(donation)
    if locked.status == Donation.Status.ARCHIVED:
        raise DonationRefused(_("This donation is archived already."), code="archived")
    if locked.status == Donation.Status.AWAITING_PAYMENT:
        raise DonationRefused(
            _("This donation is awaiting payment: cancel it before archiving it."), code="open"
        )
    locked.status, locked.archived_at = Donation.Status.ARCHIVED, timezone.now()
    locked.save(update_fields=["status", "archived_at", "updated_at"])
    return locked


# --- the thank-you email ------------------------------------------------------------------


def donation_message(*, donation: Donation) -> EmailMultiAlternatives:
    """The thank-you in the donor's language (their account's, else the page's)."""
    donor = donation.donor
    language = getattr(donor, "language", "") or donation.language
    with translation.override(language):
        subject = _("Thank you for your donation %(number)s") % {"number": donation.number}
        context = {"donation": donation, "donor": donor, "site_url": settings.SITE_URL}
        return compose(
            to=donor.email if donor else "",
            subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}",
            text_body=render_to_string("marketplace/email/donation_paid.txt", context),
            stable_id=message_id("donation-paid", donation.pk),
        )


def send_donation_email(*, donation_email_id: int, take_over: bool = False) -> bool:
    """Send one thank-you row; a duplicate or late message finds it claimed or done."""
    row = work.claim_one(DonationEmail.objects.filter(pk=donation_email_id), take_over=take_over)
    if row is None:
        return False
    donation = Donation.objects.select_related("donor", "creator", "product").get(
        pk=row.donation_id
    )
    if donation.donor is None or not donation.donor.email:
        work.record_failure(row, error="The donor has no email address.", permanent=True)
        return False
    if not mail.send_for(row, lambda: donation_message(donation=donation), what="donation email"):
        return False
    with transaction.atomic():
        if work.complete(row):
            DonationEmail.objects.filter(pk=row.pk).update(sent_at=timezone.now())
    return True
