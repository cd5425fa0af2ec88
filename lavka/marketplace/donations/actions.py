"""What people do with donations, with seed 003's rules for Donat.

| action                     | who                                                     |
|----------------------------|---------------------------------------------------------|
| donate                     | any signed-in, active user, not to themselves           |
| see a donation's details   | staff (`view_donation`); the donor sees their own page  |
| mark paid, cancel          | staff (`change_donation`): "update only for staff"      |
| archive                    | `delete_donation` only (seed 003's archive button)      |
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext as _

from lavka.core.actions import Action
from lavka.marketplace import payments
from lavka.marketplace.donations import services
from lavka.marketplace.models import CreatorProfile, Donation, Product


class Donate(Action[services.Given]):
    """A signed-in user gives to a creator, or to one of the creator's products."""

    def __init__(
        self,
        actor: Any,
        *,
        creator: CreatorProfile,
        product: Product | None,
        amount: Any,
        message: str,
        provider_code: str,
        checkout_token: uuid.UUID,
        language: str = "en",
    ) -> None:
        super().__init__(actor)
        self.creator, self.product = creator, product
        self.amount, self.message = amount, message
        self.provider_code, self.checkout_token = provider_code, checkout_token
        self.language = language

    def refusal(self) -> str:
        return services.recipient_refusal(self.actor, self.creator, self.product)

    def perform(self) -> services.Given:
        return services.donate(
            donor=self.actor,
            creator=self.creator,
            product=self.product,
            amount=self.amount,
            message=self.message,
            provider_code=self.provider_code,
            checkout_token=self.checkout_token,
            language=self.language,
        )


class DonationAction(Action[Donation]):
    def __init__(self, actor: Any, *, donation: Donation) -> None:
        super().__init__(actor)
        self.donation = donation


class MarkDonationPaid(DonationAction):
    """Staff confirm a manual payment (the transfer arrived)."""

    permission = "marketplace.change_donation"

    def refusal(self) -> str:
        provider = payments.any_provider(self.donation.provider)
        if provider is None or not provider.confirmed_by_staff:
            return _("This donation is paid through its payment provider, not by hand.")
        return ""

    def perform(self) -> Donation:
        return services.mark_paid(donation=self.donation, confirmed_by=self.actor)


class CancelDonation(DonationAction):
    permission = "marketplace.change_donation"

    def perform(self) -> Donation:
        return services.cancel_donation(donation=self.donation)


class ArchiveDonation(DonationAction):
    permission = "marketplace.delete_donation"

    def perform(self) -> Donation:
        return services.archive_donation(donation=self.donation)
