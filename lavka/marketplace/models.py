"""Creators and the catalogue: who sells, in which categories, what.

Every price is a Decimal in the one shop currency (`settings.LAVKA_SHOP_CURRENCY`); the
database refuses negative prices and stock, so no code path (admin, API, a bug) can
write one. Titles and descriptions come in English and Russian; either may be empty, not
both, and pages show the visitor's language with the other as fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import NotSupportedError, models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from lavka.core import background
from lavka.core.models import TimeStampedModel
from lavka.core.validators import validate_header_text
from lavka.core.work import WorkItem
from lavka.marketplace.cache import catalog_changed
from lavka.marketplace.uploads import (
    avatar_upload_to,
    digital_file_upload_to,
    get_private_storage,
    product_image_upload_to,
    validate_digital_file,
    validate_image_upload,
)


def in_language(english: str, russian: str, language: str | None = None) -> str:
    """The text in the given (or active) language, the other one when that is empty."""
    language = (language or translation.get_language() or "en").split("-")[0]
    first, second = (russian, english) if language == "ru" else (english, russian)
    return first or second


def fold_for_search(text: str) -> str:
    """Text as word search compares it: case-folded, YO read as YE, spaces collapsed."""
    return " ".join(text.casefold().replace("\u0451", "\u0435").split())


class CatalogChangeMixin(models.Model):
    """Saving or deleting the row gives the catalogue a new cache version (cache.py)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        catalog_changed()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        deleted = super().delete(*args, **kwargs)
        catalog_changed()
        return deleted


# Full-text search on PostgreSQL reads one document per product: English words stemmed
# as English, Russian as Russian, and every word as it is (names, brands, numbers). The
# migration 0003 builds a GIN index over exactly this expression, so a search reads the
# index instead of making 10,000 documents; on SQLite the folded `search_text` is used.
SEARCH_DOCUMENT_PARTS = (
    ("english", ("title_en", "description_en")),
    ("russian", ("title_ru", "description_ru")),
    ("simple", ("title_en", "title_ru", "description_en", "description_ru")),
)


def search_document_sql(column: Any) -> str:
    """The document's SQL, with `column(name)` giving each column's reference. The
    index and the queries are made from this one text, so PostgreSQL matches them."""
    documents = []
    for config, fields in SEARCH_DOCUMENT_PARTS:
        text = " || ' ' || ".join(column(name) for name in fields)
        documents.append(f"to_tsvector('{config}'::regconfig, {text})")
    return "(" + " || ".join(documents) + ")"


class SearchDocument(models.Expression):
    """A product's full-text document (PostgreSQL only), as the GIN index holds it."""

    output_field = SearchVectorField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if connection.vendor != "postgresql":
            raise NotSupportedError("The search document exists on PostgreSQL only.")
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return search_document_sql(lambda name: f"{table}.{connection.ops.quote_name(name)}"), []


class CreatorProfile(CatalogChangeMixin, TimeStampedModel):
    """A user who sells: one profile per user, made once through "Become a creator".

    `status` is approved at once when LAVKA_CREATOR_APPROVAL is off; when it is on, a
    manager approves or rejects a pending profile, and only approval grants the creator
    role. Only approved creators' products are shown in the shop.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="creator_profile",
    )
    display_name = models.CharField(
        _("display name"), max_length=100, validators=[validate_header_text]
    )
    slug = models.SlugField(
        _("slug"),
        max_length=60,
        unique=True,
        help_text=_("Part of your shop's address: letters, digits and hyphens."),
    )
    bio = models.TextField(_("about"), max_length=5000, blank=True)
    avatar = models.ImageField(
        _("avatar"),
        upload_to=avatar_upload_to,
        max_length=255,
        blank=True,
        validators=[validate_image_upload],
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rejection_reason = models.TextField(_("reason for rejection"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("creator")
        verbose_name_plural = _("creators")
        ordering = ["display_name", "id"]
        permissions = [
            ("review_creatorprofile", _("Can approve or reject requests to become a creator")),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED


class Category(CatalogChangeMixin, models.Model):
    """A shelf of the shop; nested one level (a top category and its subcategories)."""

    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=100, blank=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text=_("Only top categories can be parents (one level of nesting)."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name_en="") | ~Q(name_ru=""),
                name="marketplace_category_has_a_name",
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=models.F("id")),
                name="marketplace_category_not_own_parent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_language(self.name_en, self.name_ru)

    def clean(self) -> None:
        super().clean()
        if not self.name_en.strip() and not self.name_ru.strip():
            raise ValidationError({"name_en": _("Give the name in English, Russian or both.")})
        if self.parent_id is None:
            return
        if self.pk is not None and self.parent_id == self.pk:
            raise ValidationError({"parent": _("A category cannot be its own parent.")})
        parent = self.parent
        if parent is not None and parent.parent_id is not None:
            raise ValidationError(
                {"parent": _("Categories nest one level: pick a top category as the parent.")}
            )
        if self.pk is not None and Category.objects.filter(parent_id=self.pk).exists():
            raise ValidationError(
                {"parent": _("This category has subcategories, so it must stay a top one.")}
            )


class ProductQuerySet(models.QuerySet["Product"]):
    def on_sale(self) -> ProductQuerySet:
        """What the public shop shows: active, not archived, of approved creators."""
        return self.filter(
            is_active=True,
            archived_at__isnull=True,
            creator__status=CreatorProfile.Status.APPROVED,
            creator__user__is_active=True,
        )


class Product(CatalogChangeMixin, TimeStampedModel):
    """Something a creator sells (seed 003's "project"): physical with stock, or digital
    with a file delivered after payment and, usually, unlimited stock (`stock` NULL)."""

    class Kind(models.TextChoices):
        PHYSICAL = "physical", _("physical")
        DIGITAL = "digital", _("digital")

    creator = models.ForeignKey(
        CreatorProfile,
        verbose_name=_("creator"),
        on_delete=models.PROTECT,
        related_name="products",
    )
    title_en = models.CharField(
        _("title (English)"), max_length=200, blank=True, validators=[validate_header_text]
    )
    title_ru = models.CharField(
        _("title (Russian)"), max_length=200, blank=True, validators=[validate_header_text]
    )
    slug = models.SlugField(
        _("slug"),
        max_length=80,
        help_text=_("Part of the product's address, unique among your products."),
    )
    description_en = models.TextField(
        _("description (English, Markdown)"), max_length=20000, blank=True
    )
    description_ru = models.TextField(
        _("description (Russian, Markdown)"), max_length=20000, blank=True
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="products",
    )
    price = models.DecimalField(
        _("price"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("In the shop's currency."),
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.PHYSICAL, db_index=True
    )
    stock = models.IntegerField(
        _("stock"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("How many are left; empty means unlimited (digital products)."),
    )
    digital_file = models.FileField(
        _("digital file"),
        storage=get_private_storage,
        upload_to=digital_file_upload_to,
        max_length=255,
        blank=True,
        validators=[validate_digital_file],
        help_text=_("Delivered to buyers after payment; never public."),
    )
    digital_file_name = models.CharField(
        _("digital file's name"), max_length=255, blank=True, editable=False
    )
    is_active = models.BooleanField(_("active"), default=True, db_index=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, db_index=True)
    # Titles and descriptions in both languages, case-folded (YO as YE): what word
    # search reads where the database has no full-text search of its own (SQLite, whose
    # LIKE folds only ASCII letters). Kept by save(), like the title it is made of.
    search_text = models.TextField(_("search text"), blank=True, editable=False)

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creator", "slug"], name="marketplace_product_slug_per_creator"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="marketplace_product_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0),
                name="marketplace_product_stock_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind="physical") | Q(stock__isnull=False),
                name="marketplace_physical_product_has_stock",
            ),
            models.CheckConstraint(
                condition=~Q(title_en="") | ~Q(title_ru=""),
                name="marketplace_product_has_a_title",
            ),
        ]
        indexes = [
            # The shop's default order: products not archived, newest first, read in
            # index order (no sort of the whole catalogue for a page of 24).
            models.Index(
                fields=["archived_at", "-created_at", "-id"], name="marketplace_product_newest"
            ),
            models.Index(fields=["price"]),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = fold_for_search(
            " ".join([self.title_en, self.title_ru, self.description_en, self.description_ru])
        )
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "search_text" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "search_text"]
        super().save(*args, **kwargs)

    @property
    def title(self) -> str:
        return in_language(self.title_en, self.title_ru)

    @property
    def description(self) -> str:
        """Markdown source in the visitor's language (render it with `rendering`)."""
        return in_language(self.description_en, self.description_ru)

    @property
    def currency(self) -> str:
        return str(settings.LAVKA_SHOP_CURRENCY)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_unlimited(self) -> bool:
        return self.stock is None

    @property
    def is_sold_out(self) -> bool:
        return self.stock is not None and self.stock <= 0

    def clean(self) -> None:
        super().clean()
        errors: dict[str, Any] = {}
        if not self.title_en.strip() and not self.title_ru.strip():
            errors["title_en"] = _("Give the title in English, Russian or both.")
        if self.kind == self.Kind.PHYSICAL:
            if self.stock is None:
                errors["stock"] = _("A physical product needs a stock count (0 or more).")
            if self.digital_file:
                errors["digital_file"] = _("Only digital products have a file.")
        if errors:
            raise ValidationError(errors)


class ProductImage(CatalogChangeMixin, models.Model):
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="images"
    )
    image = models.ImageField(
        _("image"),
        upload_to=product_image_upload_to,
        max_length=255,
        validators=[validate_image_upload],
    )
    alt_text = models.CharField(
        _("alternative text"),
        max_length=200,
        blank=True,
        validators=[validate_header_text],
        help_text=_("What the picture shows, for people who cannot see it."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.alt_text or f"{self.product} #{self.position}"


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
    address = models.TextField(_("delivery address"), max_length=1000, blank=True)
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
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

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

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """The order's number as customers and staff quote it."""
        return f"L-{self.pk:06d}" if self.pk else "L-new"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.AWAITING_PAYMENT


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
