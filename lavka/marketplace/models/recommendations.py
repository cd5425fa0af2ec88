"""What the database store of "bought together" keeps (lavka.marketplace.recommendations).

`BoughtTogether` counts, for a product, how many paid orders also held another one: one
row per ordered pair, both directions, so "top N for a product" is one index range.
`RecordedOrder` says which orders are counted, so recording an order twice (a task
delivered again, the catch-up, a rebuild running beside the task) counts it once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from lavka.marketplace.models.catalogue import Product


class BoughtTogether(models.Model):
    """Paid orders that held both `product` and `other`."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    other = models.ForeignKey(
        Product, verbose_name=_("bought with"), on_delete=models.CASCADE, related_name="+"
    )
    orders = models.PositiveIntegerField(_("orders"), default=0)

    class Meta:
        verbose_name = _("bought together")
        verbose_name_plural = _("bought together")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "other"], name="marketplace_boughttogether_pair_once"
            ),
            models.CheckConstraint(
                condition=~Q(product=F("other")), name="marketplace_boughttogether_two_products"
            ),
        ]
        indexes = [
            # "Top N for a product": the product's rows read in rank order.
            models.Index(fields=["product", "-orders", "-other"], name="marketplace_bt_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} + {self.other_id}: {self.orders}"


class RecordedOrder(models.Model):
    """An order counted in `BoughtTogether`. The order id is kept without a foreign key:
    the counts stay what they were if an order row is ever deleted."""

    order_id = models.BigIntegerField(_("order"), primary_key=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order counted in recommendations")
        verbose_name_plural = _("orders counted in recommendations")

    def __str__(self) -> str:
        return str(self.order_id)
