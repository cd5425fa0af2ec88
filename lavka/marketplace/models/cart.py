"""Saved carts of signed-in users (anonymous visitors keep theirs in the session)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lavka.core.models import TimeStampedModel
from lavka.marketplace.models.catalogue import Product


class Cart(TimeStampedModel):
    """A signed-in user's cart, one per user. Anonymous visitors keep theirs in the
    session (lavka/marketplace/cart.py); it is merged into this one at login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="cart",
    )

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return str(_("Cart of %(user)s") % {"user": self.user})


class CartItem(models.Model):
    """A product in a cart, with the price fixed when it was added: a later change of
    the product's price is shown to the buyer and must be accepted, never applied
    silently."""

    cart = models.ForeignKey(
        Cart, verbose_name=_("cart"), on_delete=models.CASCADE, related_name="items"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(
        _("price when added"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("cart item")
        verbose_name_plural = _("cart items")
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "product"], name="marketplace_cartitem_one_line_per_product"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="marketplace_cartitem_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="marketplace_cartitem_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"
