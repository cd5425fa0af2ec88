"""Coupons, orders and their lines, payment details, stock holds and order emails."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lavka.core import background
from lavka.core.models import TimeStampedModel
from lavka.core.validators import validate_header_text, validate_multiline_text
from lavka.core.work import WorkItem
from lavka.marketplace.models.catalogue import CreatorProfile, Product
from lavka.marketplace.models.payable import PayableItem

# --- coupons, orders, payments, stock holds ------------------------------------------


class Coupon(TimeStampedModel):
    """A discount code. `times_used` is the counter a checkout raises with a conditional
    UPDATE (never above `usage_limit`, which the database checks too), so a single-use
    coupon is used once however many checkouts race for it."""

    class Kind(models.TextChoices):
        PERCENT = "percent", _("percent off")
        AMOUNT = "amount", _("amount off")

    code = models.CharField(
        _("code"),
        max_length=40,
        validators=[validate_header_text],
        help_text=_("What customers type; letters case does not matter."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    value = models.DecimalField(
        _("value"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Percent (1 to 100) or an amount in the shop's currency."),
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    minimum_order = models.DecimalField(
        _("minimum order"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Of the products the coupon applies to."),
    )
    usage_limit = models.PositiveIntegerField(
        _("usage limit"), null=True, blank=True, help_text=_("In total; empty: no limit.")
    )
    per_customer_limit = models.PositiveIntegerField(
        _("uses per customer"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    creator = models.ForeignKey(
        CreatorProfile,
        verbose_name=_("only for the products of"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="coupons",
    )
    times_used = models.PositiveIntegerField(_("times used"), default=0, editable=False)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("code"), name="marketplace_coupon_code_ci_unique"),
            models.CheckConstraint(
                condition=Q(value__gt=0), name="marketplace_coupon_value_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100),
                name="marketplace_coupon_percent_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=F("usage_limit")),
                name="marketplace_coupon_used_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="marketplace_coupon_valid_period",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        super().clean()
        self.code = self.code.strip()
        if not self.code:
            raise ValidationError({"code": _("Give the code.")})
        if self.kind == self.Kind.PERCENT and self.value is not None and self.value > 100:
            raise ValidationError({"value": _("A percentage is at most 100.")})
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": _("The end must come after the start.")})


class Order(TimeStampedModel):
    """One checkout: the customer's details, snapshots of what they bought and at what
    price, the coupon and discount, and the totals as they were at checkout.

    The totals are stored (what the customer was told and is asked to pay) and also
    computed by the database from the lines (`selectors.orders_with_totals`); the two
    agree because both come from the same lines written in one transaction.
    `checkout_token` is unique: a form submitted twice (a second tab, a double click)
    makes one order.
    """

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("awaiting payment")
        PAID = "paid", _("paid")
        CANCELLED = "cancelled", _("cancelled")
        REFUNDED = "refunded", _("refunded")
        ARCHIVED = "archived", _("archived")

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="orders",
    )
    email = models.EmailField(_("email"), max_length=254)
    full_name = models.CharField(_("name"), max_length=150, validators=[validate_header_text])
    phone = models.CharField(
        _("phone"), max_length=40, blank=True, validators=[validate_header_text]
    )
    address = models.TextField(
        _("delivery address"),
        max_length=1000,
        blank=True,
        validators=[validate_multiline_text],
        help_text=_("Only for orders with physical products; blank otherwise."),
    )
    note = models.TextField(_("note to the shop"), max_length=2000, blank=True)
    language = models.CharField(_("language"), max_length=10, default="en")
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.AWAITING_PAYMENT,
        db_index=True,
    )
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = models.DecimalField(_("subtotal"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(
        _("discount"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    coupon = models.ForeignKey(
        Coupon,
        verbose_name=_("coupon"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
    )
    coupon_code = models.CharField(_("coupon code"), max_length=40, blank=True)
    checkout_token = models.UUIDField(_("checkout token"), unique=True, editable=False)
    hold_expires_at = models.DateTimeField(
        _("stock held until"), null=True, blank=True, db_index=True
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    review_reason = models.CharField(
        _("needs review because"),
        max_length=300,
        blank=True,
        help_text=_(
            "Set when a payment did not fit the order (another amount or currency, or "
            "money for an order already cancelled): staff check it and refund or settle it."
        ),
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(subtotal__gte=0) & Q(discount__gte=0) & Q(total__gte=0),
                name="marketplace_order_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(discount__lte=F("subtotal")),
                name="marketplace_order_discount_within_subtotal",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]
        permissions = [("refund_order", _("Can refund a paid order"))]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """The order's number as customers and staff quote it."""
        return f"L-{self.pk:06d}" if self.pk else "L-new"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.AWAITING_PAYMENT

    # --- what a payment provider reads (payments.base.Payable) ---------------------------

    payment_kind = "order"

    def payer_email(self) -> str:
        return self.email

    def payment_items(self) -> list[PayableItem]:
        """The lines at their prices; with a discount the lines would need prices a
        provider cannot take (a share of the discount that does not divide by the
        quantity), so the order is one item for its total then."""
        lines = list(self.lines.all())
        if self.discount == 0 and lines:
            return [
                PayableItem(
                    name=line.title or self.number,
                    unit_price=line.unit_price,
                    quantity=line.quantity,
                )
                for line in lines
            ]
        return [
            PayableItem(
                name=gettext("Order %(number)s") % {"number": self.number},
                unit_price=self.total,
                description=", ".join(f"{line.quantity} x {line.title}" for line in lines)
                or self.number,
            )
        ]

    def payment_pages(self) -> tuple[str, str]:
        page = reverse("marketplace:order_detail", args=[self.pk])
        return page, page

    def payment_deadline(self) -> datetime | None:
        return self.hold_expires_at

    def payment_reference(self) -> str:
        found = OrderPaymentDetails.objects.filter(order_id=self.pk).values_list(
            "reference", flat=True
        )
        return found.first() or ""

    def store_payment_reference(self, reference: str) -> None:
        OrderPaymentDetails.objects.filter(order_id=self.pk).update(
            reference=reference[:200], updated_at=timezone.now()
        )


class OrderLine(models.Model):
    """One product of an order, with its title and price as they were at checkout.

    `creator` is kept on the line so that each creator sees only their own lines of an
    order of several creators' products; `discount` is the share of the order's discount
    that fell on this line.
    """

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="order_lines",
    )
    creator = models.ForeignKey(
        CreatorProfile,
        verbose_name=_("creator"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="order_lines",
    )
    title = models.CharField(_("title"), max_length=200)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))
    line_total = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(
        _("discount"), max_digits=12, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="marketplace_orderline_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0) & Q(discount__gte=0),
                name="marketplace_orderline_amounts_not_negative",
            ),
            models.UniqueConstraint(
                fields=["order", "product"], name="marketplace_orderline_product_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.title}"


class OrderPaymentDetails(TimeStampedModel):
    """How an order is paid (seed 003): one row per order, written by the checkout in
    the same transaction as the order (not by a signal), changed when it is paid."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PAID = "paid", _("paid")
        CANCELLED = "cancelled", _("cancelled")
        REFUNDED = "refunded", _("refunded")

    order = models.OneToOneField(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="payment"
    )
    provider = models.CharField(_("payment method"), max_length=30)
    reference = models.CharField(
        _("payment reference"),
        max_length=200,
        blank=True,
        help_text=_("What the payment carries: a transfer's reference or a session id."),
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("order payment details")
        verbose_name_plural = _("order payment details")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="marketplace_payment_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} ({self.provider})"


class StockReservation(models.Model):
    """Units of a product held for an open order: taken off `Product.stock` at checkout
    (so `stock` is always what is left to sell), kept for good when the order is paid,
    given back when it is cancelled or its hold runs out."""

    class State(models.TextChoices):
        HELD = "held", _("held")
        TAKEN = "taken", _("taken")
        RELEASED = "released", _("released")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="reservations"
    )
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="reservations",
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.HELD, db_index=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    settled_at = models.DateTimeField(_("taken or released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock reservation")
        verbose_name_plural = _("stock reservations")
        ordering = ["product_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="marketplace_reservation_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["order", "product"], name="marketplace_reservation_product_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id} for {self.order_id} ({self.state})"


class CouponRedemption(models.Model):
    """One use of a coupon by one order; removed (and the counter lowered) when the
    order is cancelled before it was paid, so an abandoned checkout uses nothing up."""

    coupon = models.ForeignKey(
        Coupon, verbose_name=_("coupon"), on_delete=models.CASCADE, related_name="redemptions"
    )
    order = models.OneToOneField(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="redemption"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    amount = models.DecimalField(_("discount given"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon redemption")
        verbose_name_plural = _("coupon redemptions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.coupon} → {self.order}"


class OrderEmail(WorkItem):
    """An email about an order ("received", "paid") as a durable work row: written in
    the transaction that placed or paid the order, so a lost message or a dead worker
    delays it but never loses it, and one (order, kind) is sent once."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("order received")
        PAID = "paid", _("order paid")
        REFUNDED = "refunded", _("order refunded")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="emails"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    max_attempts = 8
    lease_seconds = 120
    requeue_after_seconds = 600

    class Meta:
        verbose_name = _("order email")
        verbose_name_plural = _("order emails")
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="marketplace_order_email_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for order {self.order_id} ({self.state})"

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("marketplace.send_order_email", [(pk,) for pk in pks])


class PaymentEvent(WorkItem):
    """A payment provider's webhook event (Stripe's), stored by its id before anything
    is done with it: a second delivery of the same event finds the row and changes
    nothing, and the processing is a work row, so a worker dying half-way leaves it to
    be taken again (its effect and its "done" commit together)."""

    class Outcome(models.TextChoices):
        NONE = "", _("not processed yet")
        PAID = "paid", _("order marked paid")
        CANCELLED = "cancelled", _("order cancelled")
        REFUNDED = "refunded", _("order refunded")
        FLAGGED = "flagged", _("order flagged for review")
        IGNORED = "ignored", _("nothing to do")

    provider = models.CharField(_("payment method"), max_length=30)
    event_id = models.CharField(_("event id"), max_length=255)
    event_type = models.CharField(_("event type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=255, blank=True)
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payment_events",
    )
    # A donation's event (paid by card like an order) links here instead of `order`.
    donation = models.ForeignKey(
        "marketplace.Donation",
        verbose_name=_("donation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="payment_events",
    )
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, blank=True, default=""
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    max_attempts = 10
    lease_seconds = 60
    requeue_after_seconds = 300
    retry_base_seconds = 10

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="marketplace_payment_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.state})"

    @property
    def work_summary(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("marketplace.process_payment_event", [(pk,) for pk in pks])


class OrderRefund(WorkItem):
    """A paid order's refund: one per order (the whole amount), a durable work row.

    For a manual payment staff have returned the money out of band, and the row is
    written done, with the order refunded, in one transaction. For a card payment the
    row is written pending in the request's transaction and a background task asks the
    provider to refund with our own idempotency key, outside any transaction; only once
    the provider confirms is the order marked refunded (with the row's "done", in one
    transaction). The unique order makes a second request, from a double click or a
    second member of staff, find the first instead of refunding twice.
    """

    order = models.OneToOneField(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="refund"
    )
    provider = models.CharField(_("payment method"), max_length=30)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=500)
    reference = models.CharField(
        _("refund reference"),
        max_length=200,
        blank=True,
        help_text=_("The provider's refund id, or what staff noted for a manual refund."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    max_attempts = 8
    lease_seconds = 120
    requeue_after_seconds = 300
    retry_base_seconds = 30

    class Meta:
        verbose_name = _("order refund")
        verbose_name_plural = _("order refunds")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="marketplace_refund_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"refund of order {self.order_id} ({self.state})"

    @property
    def work_summary(self) -> str:
        return f"{self.provider} refund of order {self.order_id}"

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("marketplace.refund_order", [(pk,) for pk in pks])
