"""Reads of the catalogue, already scoped to what the caller may see.

The shop (pages and API) shows products on sale: active, not archived, of approved
creators whose account is not blocked. A creator's own pages read only their products.
Every list loads its related rows in a fixed number of queries, whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Lower, NullIf
from django.utils import translation

from lavka.marketplace import cache as catalog_cache
from lavka.marketplace.models import (
    Category,
    CreatorProfile,
    Product,
    ProductImage,
    SearchDocument,
    fold_for_search,
)

# The largest primary key a BigAutoField holds: a larger id is simply not found (the
# database would refuse the number itself).
MAX_ID = 2**63 - 1
# A search reads at most this many words, each at most this long: a 10 MB query string
# costs no more than a short one.
MAX_SEARCH_WORDS = 8
MAX_WORD_LENGTH = 60

SORTS = ("newest", "price", "-price", "title")


@dataclass(frozen=True)
class ShopFilter:
    """What a visitor narrows the shop to (already validated by a form or serializer)."""

    query: str = ""
    category: Category | None = None
    creator: CreatorProfile | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    sort: str = "newest"


def search_words(query: str) -> list[str]:
    words = fold_for_search(query).split()
    return [word[:MAX_WORD_LENGTH] for word in words[:MAX_SEARCH_WORDS]]


def _shown_title() -> Any:
    """The title in the active language, the other one where that is empty."""
    english, russian = NullIf(F("title_en"), Value("")), NullIf(F("title_ru"), Value(""))
    if (translation.get_language() or "en").startswith("ru"):
        return Coalesce(russian, english, Value(""))
    return Coalesce(english, russian, Value(""))


def _search(products: QuerySet[Product], query: str) -> QuerySet[Product]:
    """Products matching every word of the query in a title or description, in either
    language. PostgreSQL: full-text search with English and Russian stemming (and plain
    words for names) over the stored, GIN-indexed document (`SearchDocument`); elsewhere:
    each word contained in the folded search text."""
    words = search_words(query)
    if not words:
        return products
    if connection.vendor == "postgresql":
        text = " ".join(words)
        matches = (
            SearchQuery(text, config="english", search_type="plain")
            | SearchQuery(text, config="russian", search_type="plain")
            | SearchQuery(text, config="simple", search_type="plain")
        )
        return products.alias(search=SearchDocument()).filter(search=matches)
    for word in words:
        products = products.filter(search_text__contains=word)
    return products


def _ordered(products: QuerySet[Product], sort: str) -> QuerySet[Product]:
    if sort == "price":
        return products.order_by("price", "-id")
    if sort == "-price":
        return products.order_by("-price", "-id")
    if sort == "title":
        return products.annotate(shown_title=Lower(_shown_title())).order_by("shown_title", "id")
    return products.order_by("-created_at", "-id")


def _for_lists(products: QuerySet[Product]) -> QuerySet[Product]:
    """What a list shows of each product, loaded in two queries for any length."""
    return products.select_related("creator", "category").prefetch_related(
        Prefetch("images", queryset=ProductImage.objects.order_by("position", "id"))
    )


# What a product list (the shop's grid, the API's list) reads of a product and its
# creator: not the descriptions (up to 20,000 characters each, twice) nor the search text.
LIST_FIELDS = (
    "id",
    "created_at",
    "creator_id",
    "title_en",
    "title_ru",
    "slug",
    "category_id",
    "price",
    "kind",
    "stock",
    "creator__id",
    "creator__slug",
    "creator__display_name",
)


def _for_shop_lists(products: QuerySet[Product]) -> QuerySet[Product]:
    return (
        products.select_related("creator")
        .only(*LIST_FIELDS)
        .prefetch_related(
            Prefetch(
                "images",
                queryset=ProductImage.objects.only(
                    "id", "product_id", "image", "alt_text", "position"
                ).order_by("position", "id"),
            )
        )
    )


def shop_products(shop_filter: ShopFilter | None = None) -> QuerySet[Product]:
    """Products on sale, narrowed and sorted as asked."""
    wanted = shop_filter or ShopFilter()
    products: QuerySet[Product] = Product.objects.on_sale()
    if wanted.category is not None:
        products = products.filter(
            Q(category=wanted.category) | Q(category__parent=wanted.category)
        )
    if wanted.creator is not None:
        products = products.filter(creator=wanted.creator)
    if wanted.price_min is not None:
        products = products.filter(price__gte=wanted.price_min)
    if wanted.price_max is not None:
        products = products.filter(price__lte=wanted.price_max)
    products = _search(products, wanted.query)
    return _for_shop_lists(_ordered(products, wanted.sort))


def product_on_sale(*, creator_slug: str, slug: str) -> Product | None:
    return (
        _for_lists(Product.objects.on_sale()).filter(creator__slug=creator_slug, slug=slug).first()
    )


def product_on_sale_by_id(pk: int) -> Product | None:
    if not 0 < pk <= MAX_ID:
        return None
    return _for_lists(Product.objects.on_sale()).filter(pk=pk).first()


def approved_creators() -> QuerySet[CreatorProfile]:
    """Creators whose shop is open: approved, account not blocked; with their count of
    products on sale."""
    on_sale = Q(
        products__is_active=True,
        products__archived_at__isnull=True,
    )
    return (
        CreatorProfile.objects.filter(status=CreatorProfile.Status.APPROVED, user__is_active=True)
        .annotate(products_on_sale=Count("products", filter=on_sale))
        .order_by("display_name", "id")
    )


def approved_creator(*, slug: str) -> CreatorProfile | None:
    return approved_creators().filter(slug=slug).first()


def approved_creator_by_id(pk: int) -> CreatorProfile | None:
    if not 0 < pk <= MAX_ID:
        return None
    return approved_creators().filter(pk=pk).first()


def categories() -> QuerySet[Category]:
    """Every category, top ones with their subcategories loaded (two queries)."""
    return Category.objects.select_related("parent").prefetch_related(
        Prefetch("children", queryset=Category.objects.order_by("position", "slug"))
    )


def top_categories() -> QuerySet[Category]:
    return categories().filter(parent__isnull=True)


def category_tree() -> list[dict[str, Any]]:
    """Top categories, each `{"slug", "name", "children": [...]}` in the active language,
    from the catalogue's cache: the menu and the filter of every shop page."""

    def tree() -> list[dict[str, Any]]:
        return [
            {
                "slug": top.slug,
                "name": top.name,
                "children": [
                    {"slug": child.slug, "name": child.name} for child in top.children.all()
                ],
            }
            for top in top_categories()
        ]

    return catalog_cache.cached_list(catalog_cache.list_key("category-tree", []), tree)


def category_by_slug(slug: str) -> Category | None:
    return categories().filter(slug=slug).first()


def category_by_id(pk: int) -> Category | None:
    if not 0 < pk <= MAX_ID:
        return None
    return categories().filter(pk=pk).first()


# --- creators' own --------------------------------------------------------------------


def creator_profile_of(user: Any) -> CreatorProfile | None:
    """The user's creator profile (any status), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return CreatorProfile.objects.filter(user_id=user.pk).first()


def own_products(user: Any) -> QuerySet[Product]:
    """The user's products, archived too: what "My products" lists and edits."""
    if not getattr(user, "is_authenticated", False):
        return Product.objects.none()
    return _for_lists(Product.objects.filter(creator__user_id=user.pk)).order_by(
        F("archived_at").asc(nulls_first=True), "-created_at", "-id"
    )


def own_product(user: Any, pk: int) -> Product | None:
    if not 0 < pk <= MAX_ID:
        return None
    return own_products(user).filter(pk=pk).first()


def own_product_image(user: Any, pk: int) -> ProductImage | None:
    if not 0 < pk <= MAX_ID or not getattr(user, "is_authenticated", False):
        return None
    return (
        ProductImage.objects.select_related("product__creator")
        .filter(pk=pk, product__creator__user_id=user.pk)
        .first()
    )


# --- staff ----------------------------------------------------------------------------


def creator_requests(*, status: str = CreatorProfile.Status.PENDING) -> QuerySet[CreatorProfile]:
    """Requests to become a creator in one status, oldest first (the queue)."""
    return (
        CreatorProfile.objects.filter(status=status)
        .select_related("user", "decided_by")
        .order_by("created_at", "id")
    )


def creator_request(pk: int) -> CreatorProfile | None:
    if not 0 < pk <= MAX_ID:
        return None
    return CreatorProfile.objects.select_related("user").filter(pk=pk).first()
