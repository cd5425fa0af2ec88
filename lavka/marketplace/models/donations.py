"""Donations (seed 003's Donat): a signed-in user gives an amount, with a message, to a
creator or to one of the creator's products, paid through a payment provider."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from lavka.core import background
from lavka.core.models import TimeStampedModel
from lavka.core.work import WorkItem
from lavka.marketplace.models.catalogue import CreatorProfile, Product
from lavka.marketplace.models.payable import PayableItem

MAX_MESSAGE_LENGTH = 2000
# Control characters, line/paragraph separators and lone surrogates; "\n" is allowed
# (a message has lines) and "\r\n" is folded to it before this check.
_MESSAGE_REFUSED = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def normalise_message(value: str) -> str:
    """Line breaks as "\\n" only, no blank ends: what is stored and shown."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


@deconstructible
class MessageTextValidator:
    """A donation's message may have several lines, but no other control characters
    (tabs, NUL, escape sequences) that would garble an email or a page."""

    code = "message_control_character"

    def __call__(self, value: object) -> None:
        match = _MESSAGE_REFUSED.search(normalise_message(str(value)))
        if match is not None:
            raise ValidationError(
                gettext("The message may not contain control characters (found U+%(code)s).")
                % {"code": f"{ord(match.group()):04X}"},
                code=self.code,
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MessageTextValidator)

    def __hash__(self) -> int:
        return hash(self.code)


validate_message_text = MessageTextValidator()


class Donation(TimeStampedModel):
    """One donation. `creator` is always set (a donation to a product goes to its
    creator); `product` names the project it was given for, if any. `checkout_token` is
    unique, so a form submitted twice gives once."""

    class Status(models.TextChoices):
        # In Russian a donation's status agrees with "пожертвование" (neuter), not
        # with "заказ": hence a context of its own.
        AWAITING_PAYMENT = "awaiting_payment", pgettext_lazy("donation", "awaiting payment")
        PAID = "paid", pgettext_lazy("donation", "paid")
        CANCELLED = "cancelled", pgettext_lazy("donation", "cancelled")
        ARCHIVED = "archived", pgettext_lazy("donation", "archived")

    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("donor"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="donations",
    )
    creator = models.ForeignKey(
        CreatorProfile,
        verbose_name=_("creator"),
        on_delete=models.PROTECT,
        related_name="donations",
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="donations",
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    message = models.TextField(
        pgettext_lazy("donation", "message"),
        max_length=MAX_MESSAGE_LENGTH,
        blank=True,
        validators=[validate_message_text],
    )
    language = models.CharField(_("language"), max_length=10, default="en")
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.AWAITING_PAYMENT,
        db_index=True,
    )
    provider = models.CharField(_("payment method"), max_length=30)
    reference = models.CharField(_("payment reference"), max_length=200, blank=True)
    checkout_token = models.UUIDField(_("checkout token"), unique=True, editable=False)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    review_reason = models.CharField(
        _("needs review because"),
        max_length=300,
        blank=True,
        help_text=_(
            "Set when a card payment did not fit the donation (another amount or currency, "
            "or money for a donation already cancelled): staff check it and refund or settle it."
        ),
    )

    class Meta:
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="marketplace_donation_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """The donation's reference, as donors quote it on a transfer."""
        return f"D-{self.pk:06d}" if self.pk else "D-new"

    # What a payment provider reads of what it is paid for (an order has the same).
    @property
    def total(self) -> Decimal:
        return self.amount

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.AWAITING_PAYMENT

    # --- what a payment provider reads (payments.base.Payable) ---------------------------

    payment_kind = "donation"

    def payer_email(self) -> str:
        return self.donor.email if self.donor is not None else ""

    def payment_items(self) -> list[PayableItem]:
        name = gettext("Donation %(number)s to %(creator)s") % {
            "number": self.number,
            "creator": self.creator.display_name,
        }
        description = self.product.title if self.product is not None else ""
        return [PayableItem(name=name, unit_price=self.amount, description=description)]

    def payment_pages(self) -> tuple[str, str]:
        page = reverse("marketplace:donation_detail", args=[self.pk])
        return page, page + "?cancelled=1"

    def payment_deadline(self) -> datetime | None:
        return None

    def payment_reference(self) -> str:
        found = Donation.objects.filter(pk=self.pk).values_list("reference", flat=True)
        return found.first() or ""

    def store_payment_reference(self, reference: str) -> None:
        self.reference = reference[:200]
        Donation.objects.filter(pk=self.pk).update(
            reference=self.reference, updated_at=timezone.now()
        )


class DonationEmail(WorkItem):
    """The thank-you email of a paid donation, as a durable work row written in the
    transaction that marked it paid: sent once, retried if the worker dies."""

    donation = models.OneToOneField(
        Donation,
        verbose_name=_("donation"),
        on_delete=models.CASCADE,
        related_name="thank_you_email",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    max_attempts = 8
    lease_seconds = 120
    requeue_after_seconds = 600

    class Meta:
        verbose_name = _("donation email")
        verbose_name_plural = _("donation emails")

    def __str__(self) -> str:
        return f"thank-you for donation {self.donation_id} ({self.state})"

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("marketplace.send_donation_email", [(pk,) for pk in pks])
