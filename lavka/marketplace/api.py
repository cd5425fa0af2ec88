"""The public, read-only catalogue API under /api/v1/catalog/.

It shows what the shop pages show (products on sale of approved creators, categories,
approved creators) with the same filters, through the same selectors. Titles, names and
descriptions come in both languages and, as `title` / `name` / `description`, in the
language the client asks for (Accept-Language), with the other as fallback.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from lavka.core.api import query_values
from lavka.marketplace import cache as catalog_cache
from lavka.marketplace import rendering, selectors
from lavka.marketplace.forms import MAX_PRICE, MAX_QUERY_LENGTH
from lavka.marketplace.models import Category, CreatorProfile, Product, ProductImage

STOCK_STATES = ["unlimited", "sold_out", "few_left", "in_stock"]


def _absolute(request: Any, url: str) -> str:
    return str(request.build_absolute_uri(url))


# --- serializers ------------------------------------------------------------------------


class CreatorSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = CreatorProfile
        fields = ["id", "slug", "display_name"]
        read_only_fields = fields


class CreatorSerializer(serializers.ModelSerializer):
    """An approved creator with the number of their products on sale."""

    avatar_url = serializers.SerializerMethodField()
    web_url = serializers.SerializerMethodField()
    products_on_sale = serializers.IntegerField(read_only=True, min_value=0)

    class Meta:
        model = CreatorProfile
        fields = ["id", "slug", "display_name", "bio", "avatar_url", "web_url", "products_on_sale"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_avatar_url(self, creator: CreatorProfile) -> str | None:
        if not creator.avatar:
            return None
        return _absolute(self.context["request"], creator.avatar.url)

    @extend_schema_field(serializers.URLField())
    def get_web_url(self, creator: CreatorProfile) -> str:
        return _absolute(
            self.context["request"], reverse("marketplace:creator", args=[creator.slug])
        )


class CategorySerializer(serializers.ModelSerializer):
    """A category; `parent` is null for a top one (categories nest one level)."""

    name = serializers.CharField(read_only=True, help_text="In the requested language.")
    parent = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    web_url = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["id", "slug", "name", "name_en", "name_ru", "parent", "position", "web_url"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_web_url(self, category: Category) -> str:
        return _absolute(
            self.context["request"], reverse("marketplace:category", args=[category.slug])
        )


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["url", "alt_text", "position"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_url(self, image: ProductImage) -> str:
        return _absolute(self.context["request"], image.image.url)


class ProductSerializer(serializers.ModelSerializer):
    """A product on sale, as the shop's list shows it."""

    url = serializers.HyperlinkedIdentityField(view_name="api:catalog-product-detail")
    web_url = serializers.SerializerMethodField()
    title = serializers.CharField(read_only=True, help_text="In the requested language.")
    price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, min_value=0)
    currency = serializers.SerializerMethodField()
    stock = serializers.IntegerField(
        read_only=True, allow_null=True, min_value=0, help_text="null: unlimited."
    )
    stock_state = serializers.SerializerMethodField()
    category = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    creator = CreatorSummarySerializer(read_only=True)
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id",
            "url",
            "web_url",
            "slug",
            "title",
            "title_en",
            "title_ru",
            "price",
            "currency",
            "kind",
            "stock",
            "stock_state",
            "category",
            "creator",
            "image_url",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_web_url(self, product: Product) -> str:
        url = reverse("marketplace:product", args=[product.creator.slug, product.slug])
        return _absolute(self.context["request"], url)

    @extend_schema_field(
        serializers.CharField(help_text="ISO 4217 code of the shop's one currency.")
    )
    def get_currency(self, product: Product) -> str:
        return str(settings.LAVKA_SHOP_CURRENCY)

    @extend_schema_field(serializers.ChoiceField(choices=STOCK_STATES))
    def get_stock_state(self, product: Product) -> str:
        return rendering.stock_state(product)[0]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_image_url(self, product: Product) -> str | None:
        images = list(product.images.all())  # prefetched by the selector
        if not images:
            return None
        return _absolute(self.context["request"], images[0].image.url)


class ProductDetailSerializer(ProductSerializer):
    """A product with its descriptions (Markdown, and sanitised HTML) and all images."""

    description = serializers.CharField(
        read_only=True, help_text="Markdown, in the requested language."
    )
    description_html = serializers.SerializerMethodField()
    images = ProductImageSerializer(many=True, read_only=True)

    class Meta(ProductSerializer.Meta):
        fields = [
            *ProductSerializer.Meta.fields,
            "description",
            "description_en",
            "description_ru",
            "description_html",
            "images",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.CharField(help_text="The description as HTML, script removed.")
    )
    def get_description_html(self, product: Product) -> str:
        return str(rendering.render_markdown(product.description))


PRICE_TEXT = r"^\d{1,10}(?:\.\d{1,2})?$"


@extend_schema_field({"type": "string", "pattern": PRICE_TEXT, "example": "19.90"})
class PriceFilterField(serializers.DecimalField):
    """A price in a query: plain digits with up to two decimals, exactly what the schema
    says (no exponent, no sign), so a schema-valid value is never refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_digits=12, decimal_places=2, min_value=0, max_value=MAX_PRICE, **kwargs
        )

    def to_internal_value(self, data: Any) -> Any:
        if not re.fullmatch(PRICE_TEXT, str(data)):
            raise serializers.ValidationError(
                _("Give a price as digits with up to two decimals, like 19.90.")
            )
        return super().to_internal_value(data)


class ProductFilterSerializer(serializers.Serializer):
    """The query parameters of the product list (all optional)."""

    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY_LENGTH,
        help_text="Words to find in titles and descriptions, English or Russian; every "
        "word must match.",
    )
    # Plain text, not SlugField: the schema's not-blank rule would replace a slug pattern,
    # and a value that is no slug simply matches no category or creator (an empty list).
    category = serializers.CharField(
        required=False,
        max_length=60,
        help_text="A category's slug; a top category includes its subcategories. One "
        "that does not exist gives an empty list.",
    )
    creator = serializers.CharField(
        required=False,
        max_length=60,
        help_text="A creator's slug. One that does not exist gives an empty list.",
    )
    # A lower bound above the upper one matches nothing: an empty list, not an error the
    # schema could not state.
    price_min = PriceFilterField(required=False)
    price_max = PriceFilterField(required=False)
    ordering = serializers.ChoiceField(
        required=False, choices=list(selectors.SORTS), help_text="Default: newest."
    )

    def validate_search(self, value: str) -> str:
        if "\x00" in value:
            raise serializers.ValidationError(_("The search contains a NUL character."))
        return value


# --- views ------------------------------------------------------------------------------

NOT_FOUND = OpenApiResponse(description="No such object in the shop.")


class CatalogView:
    permission_classes = [AllowAny]


@extend_schema(parameters=[ProductFilterSerializer])
class ProductListView(CatalogView, ListAPIView):
    """Products on sale (active, not archived, of approved creators), newest first unless
    asked otherwise; paginated."""

    serializer_class = ProductSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The page from the catalogue's cache (cache.py) when this catalogue version,
        language, address and query were served before; a refused query is never kept.
        Every query parameter is part of the key: the page's links repeat them."""
        key = catalog_cache.list_key(
            "api-products",
            [("origin", request.build_absolute_uri("/")), *query_values(request).items()],
        )

        def page_data() -> Any:
            data = super(ProductListView, self).list(request, *args, **kwargs).data
            # Plain JSON values: DRF's hyperlinks carry their model instance along.
            return json.loads(json.dumps(data, cls=JSONEncoder))

        return Response(catalog_cache.cached_list(key, page_data))

    def get_queryset(self) -> QuerySet[Product]:
        params = ProductFilterSerializer(data=query_values(self.request))
        params.is_valid(raise_exception=True)
        wanted = params.validated_data
        category = creator = None
        if wanted.get("category"):
            category = selectors.category_by_slug(wanted["category"])
            if category is None:
                return Product.objects.none()
        if wanted.get("creator"):
            creator = selectors.approved_creator(slug=wanted["creator"])
            if creator is None:
                return Product.objects.none()
        return selectors.shop_products(
            selectors.ShopFilter(
                query=wanted.get("search", ""),
                category=category,
                creator=creator,
                price_min=wanted.get("price_min"),
                price_max=wanted.get("price_max"),
                sort=wanted.get("ordering", "newest"),
            )
        )


@extend_schema(responses={200: ProductDetailSerializer, 404: NOT_FOUND})
class ProductDetailView(CatalogView, RetrieveAPIView):
    serializer_class = ProductDetailSerializer

    def get_object(self) -> Product:
        product = selectors.product_on_sale_by_id(self.kwargs["pk"])
        if product is None:
            raise NotFound
        return product


class CategoryListView(CatalogView, ListAPIView):
    """Every category in the shop's order; `parent` builds the (one-level) tree;
    paginated."""

    serializer_class = CategorySerializer

    def get_queryset(self) -> QuerySet[Category]:
        return selectors.categories().order_by("position", "slug", "id")


@extend_schema(responses={200: CategorySerializer, 404: NOT_FOUND})
class CategoryDetailView(CatalogView, RetrieveAPIView):
    serializer_class = CategorySerializer

    def get_object(self) -> Category:
        category = selectors.category_by_id(self.kwargs["pk"])
        if category is None:
            raise NotFound
        return category


class CreatorListView(CatalogView, ListAPIView):
    """Approved creators, by name; paginated."""

    serializer_class = CreatorSerializer

    def get_queryset(self) -> QuerySet[CreatorProfile]:
        return selectors.approved_creators()


@extend_schema(responses={200: CreatorSerializer, 404: NOT_FOUND})
class CreatorDetailView(CatalogView, RetrieveAPIView):
    serializer_class = CreatorSerializer

    def get_object(self) -> CreatorProfile:
        creator = selectors.approved_creator_by_id(self.kwargs["pk"])
        if creator is None:
            raise NotFound
        return creator
