"""Demo data of bookkeeping for `make run`: the demo creator's MoeDelo and MTS Kassa
(the local stand-ins' demo accounts) connected, and the main trade point mapped to the
main cash desk and warehouse, so the schedules start. The demo creator also books
online-shop sales: the shop's trade point is mapped too, and three orders of their
products were paid over the last two days (one refunded the day after), so the first
sales run books those days within a minute of `make run`.

`make run` loads demo data before the stand-ins start (nothing happens then: the
connect call is refused at once) and again once the site is up (`announce_when_up`),
when it connects for real. Only stand-ins on loopback are ever called.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils import timezone

from lavka.integrations import services
from lavka.integrations.models import Connection, ConnectionRole, ReferenceKind, TradePointMapping

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _demo_tokens() -> dict[str, tuple[str, str]]:
    from services.simulators.moedelo.server import DEMO_TOKEN as MOEDELO_TOKEN
    from services.simulators.mtskassa.demo import DEMO_TOKEN as MTSKASSA_TOKEN

    return {
        ConnectionRole.ACCOUNTING: ("moedelo", MOEDELO_TOKEN),
        ConnectionRole.POINT_OF_SALE: ("mtskassa", MTSKASSA_TOKEN),
    }


def load_demo_bookkeeping(context: dict[str, Any]) -> list[str]:
    owner = context["users"]["creator@lavka.localhost"]
    for role, (system, token) in _demo_tokens().items():
        if urlsplit(services.base_url_for(system)).hostname not in LOOPBACK:
            return []
        if Connection.objects.filter(owner=owner, role=role).exists():
            continue
        try:
            services.connect(owner=owner, role=role, system=system, token=token)
        except ValidationError:
            return []  # the stand-ins are not up yet (or were started without demo data)
    desk = (
        services.usable_items(owner=owner, kind=ReferenceKind.CASH_DESK)
        .order_by("-is_main", "pk")
        .first()
    )
    store = (
        services.usable_items(owner=owner, kind=ReferenceKind.WAREHOUSE)
        .order_by("-is_main", "pk")
        .first()
    )
    if desk is None or store is None:
        return []
    points = services.usable_items(owner=owner, kind=ReferenceKind.TRADE_POINT)
    register_point = (
        points.filter(connection__role=ConnectionRole.POINT_OF_SALE)
        .order_by("-is_main", "pk")
        .first()
    )
    if register_point is not None and not _mapped(register_point):
        services.save_mapping(
            owner=owner, trade_point=register_point, cash_desk=desk, warehouse=store
        )
    _demo_shop_orders(context)
    services.turn_on_shop_sales(owner=owner)
    shop_point = points.filter(connection__role=ConnectionRole.SHOP).first()
    if shop_point is not None and not _mapped(shop_point):
        services.save_mapping(owner=owner, trade_point=shop_point, cash_desk=desk, warehouse=store)
    return []


def _mapped(point: Any) -> bool:
    return TradePointMapping.objects.filter(trade_point=point).exists()


# (days ago, hour, product slugs with quantities) of the demo's paid orders; the first is
# refunded a day after it was paid.
DEMO_SHOP_ORDERS = (
    (2, 11, (("blue-mug", 2),)),
    (2, 16, (("blue-mug", 1),)),
    (1, 10, (("blue-mug", 3),)),
)
DEMO_ORDER_NAMESPACE = uuid.UUID("6f1c1b0e-58a4-4f43-9c55-3d1b6c0b7a11")


def _demo_shop_orders(context: dict[str, Any]) -> None:
    """Paid orders of the demo creator's products on past days (placed and paid through
    the marketplace's services, then dated back), once: their checkout tokens are fixed."""
    from lavka.marketplace.models import Order, OrderRefund, Product
    from lavka.marketplace.orders import services as orders
    from lavka.marketplace.orders.services import CheckoutRefused, OrderStateRefused

    buyer = context["users"].get("customer@lavka.localhost")
    owner = context["users"]["creator@lavka.localhost"]
    if buyer is None:
        return
    zone = timezone.get_default_timezone()
    today = timezone.localdate(timezone=zone)
    for index, (days_ago, hour, wanted) in enumerate(DEMO_SHOP_ORDERS):
        token = uuid.uuid5(DEMO_ORDER_NAMESPACE, str(index))
        if Order.objects.filter(checkout_token=token).exists():
            continue
        lines = []
        for slug, quantity in wanted:
            product = Product.objects.filter(creator__user=owner, slug=slug).first()
            if product is None:
                return
            lines.append(_DemoLine(product.pk, quantity, product.price))
        try:
            order = orders.place_order(
                customer=buyer,
                lines=lines,
                details=orders.CustomerDetails(
                    email=buyer.email, full_name=buyer.full_name, address="1 Demo Street"
                ),
                provider_code="bank_transfer",
                checkout_token=token,
            ).order
            orders.mark_paid(order=order)
        except (CheckoutRefused, OrderStateRefused):
            return  # the shop is not set up for it (no stock, no such payment method)
        day = today - timedelta(days=days_ago)
        paid_at = datetime.combine(day, time(hour), tzinfo=zone)
        Order.objects.filter(pk=order.pk).update(paid_at=paid_at)
        if index == 0:
            try:
                orders.request_refund(
                    order=order, requested_by=None, reason="Demo: broken in the post"
                )
            except OrderStateRefused:
                continue
            OrderRefund.objects.filter(order=order).update(
                refunded_at=paid_at + timedelta(days=1, hours=1)
            )


@dataclass(frozen=True)
class _DemoLine:
    """A cart line as the checkout takes it."""

    product_id: int
    quantity: int
    unit_price: Decimal
