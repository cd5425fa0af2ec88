"""Manual payments: a bank transfer quoting the order's reference, or cash on delivery.
Nothing is called out; staff mark the order paid when the money is there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lavka.marketplace.payments.base import NextStep, Payable, PaymentError, PaymentProvider

if TYPE_CHECKING:
    from lavka.marketplace.models import Order


class ManualProvider(PaymentProvider):
    confirmed_by_staff = True

    def start_payment(self, order: Payable) -> NextStep:
        return NextStep(instructions=self.instructions(order))

    def refund(self, order: Order, *, known_reference: str = "") -> str:
        """Staff give the money back out of band (a transfer, cash) and record it; there
        is nothing to call (see orders.services.request_refund)."""
        raise PaymentError(_("Manual payments are refunded by staff, not through a provider."))


class BankTransfer(ManualProvider):
    code = "bank_transfer"
    label = gettext_lazy("Bank transfer")

    def reference_for(self, order: Payable) -> str:
        return order.number

    def instructions(self, order: Payable) -> str:
        details = str(settings.LAVKA_BANK_TRANSFER_DETAILS).strip()
        text = _("Transfer %(amount)s %(currency)s quoting the reference %(reference)s.") % {
            "amount": order.total,
            "currency": order.currency,
            "reference": order.number,
        }
        if details:
            text = f"{text}\n{details}"
        else:
            text = f"{text}\n" + _("The shop will send you its bank details.")
        return text


class CashOnDelivery(ManualProvider):
    code = "cash_on_delivery"
    label = gettext_lazy("Cash on delivery")

    def instructions(self, order: Payable) -> str:
        return _("Pay %(amount)s %(currency)s when the order is delivered.") % {
            "amount": order.total,
            "currency": order.currency,
        }
