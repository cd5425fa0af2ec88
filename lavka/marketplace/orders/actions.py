"""What people do with orders, with seed 003's rules for Order and OrderPaymentDetails.

| action                  | who                                                        |
|-------------------------|------------------------------------------------------------|
| place an order          | any signed-in, active user, for themselves                 |
| see an order's details  | its customer (their own page); staff (`view_order`) any    |
| mark paid, cancel       | staff (`change_order`): "update only for staff"            |
| archive                 | `delete_order` only (seed 003's archive button)            |
| refund a paid order     | staff with `refund_order` (managers)                       |

OrderPaymentDetails is written with its order (checkout, mark paid, cancel) and never on
its own, so it has no actions of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from lavka.core.actions import Action
from lavka.marketplace import payments
from lavka.marketplace.models import Order, OrderRefund
from lavka.marketplace.orders import services


class PlaceOrder(Action[services.PlacedOrder]):
    """The signed-in customer checks out their own cart."""

    def __init__(
        self,
        actor: Any,
        *,
        lines: Iterable[services.CartLineLike],
        details: services.CustomerDetails,
        provider_code: str,
        checkout_token: uuid.UUID,
        coupon_code: str = "",
        accepted_changes: str = "",
    ) -> None:
        super().__init__(actor)
        self.lines, self.details = list(lines), details
        self.provider_code, self.checkout_token = provider_code, checkout_token
        self.coupon_code, self.accepted_changes = coupon_code, accepted_changes

    def perform(self) -> services.PlacedOrder:
        return services.place_order(
            customer=self.actor,
            lines=self.lines,
            details=self.details,
            provider_code=self.provider_code,
            checkout_token=self.checkout_token,
            coupon_code=self.coupon_code,
            accepted_changes=self.accepted_changes,
        )


class OrderAction(Action[Order]):
    def __init__(self, actor: Any, *, order: Order) -> None:
        super().__init__(actor)
        self.order = order


class MarkOrderPaid(OrderAction):
    """Staff confirm a manual payment (a transfer arrived, cash was handed over)."""

    permission = "marketplace.change_order"

    def refusal(self) -> str:
        provider = payments.any_provider(self.order.payment.provider)
        if provider is None or not provider.confirmed_by_staff:
            return _("This order is paid through its payment provider, not by hand.")
        return ""

    def perform(self) -> Order:
        return services.mark_paid(order=self.order, confirmed_by=self.actor)


class CancelOrder(OrderAction):
    permission = "marketplace.change_order"

    def perform(self) -> Order:
        who = getattr(self.actor, "email", "") or str(self.actor)
        return services.cancel_order(order=self.order, reason=f"Cancelled by {who}")


class ArchiveOrder(OrderAction):
    permission = "marketplace.delete_order"

    def perform(self) -> Order:
        return services.archive_order(order=self.order)


class RefundOrder(Action[OrderRefund]):
    """Staff give a paid order's money back: a manual payment was returned out of band
    (recorded now), a card payment is refunded through its provider (in the background).
    A permission of its own, held by managers: it moves money, unlike mark paid."""

    permission = "marketplace.refund_order"

    def __init__(self, actor: Any, *, order: Order, reason: str, reference: str = "") -> None:
        super().__init__(actor)
        self.order, self.reason, self.reference = order, reason, reference

    def perform(self) -> OrderRefund:
        return services.request_refund(
            order=self.order, requested_by=self.actor, reason=self.reason, reference=self.reference
        )
