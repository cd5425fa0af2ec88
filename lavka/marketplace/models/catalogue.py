"""Creators and the catalogue: who sells, in which categories, what.

Every price is a Decimal in the one shop currency (`settings.LAVKA_SHOP_CURRENCY`); the
database refuses negative prices and stock, so no code path (admin, API, a bug) can
write one. Titles and descriptions come in English and Russian; either may be empty, not
both, and pages show the visitor's language with the other as fallback.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import NotSupportedError, models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from lavka.core.models import TimeStampedModel
from lavka.core.validators import validate_header_text
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
