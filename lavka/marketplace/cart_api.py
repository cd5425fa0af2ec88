"""The cart for API clients, under /api/v1/cart/: the signed-in caller's own cart (the
same database cart the site shows them once logged in).

Lines are addressed by their id in the caller's cart; another user's line id is the
same 404 as one that does not exist. Refusals are 400s with the field at fault: a
quantity out of range or above what can be bought, a product not on sale.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from lavka.core.api import StrictJsonTypes
from lavka.marketplace import cart

MONEY = {"max_digits": 12, "decimal_places": 2}
# Where each refusal of the cart module belongs (by its code).
FIELD_OF_CODE = {
    "product": "product",
    "unavailable": "product",
    "quantity": "quantity",
    "sold_out": "quantity",
}


class CartProblemSerializer(serializers.Serializer[Any]):
    product = serializers.IntegerField(source="product_id")
    kind = serializers.ChoiceField(
        choices=[cart.UNAVAILABLE, cart.PRICE_CHANGED, cart.OVER_STOCK],
        help_text=_(
            "unavailable: no longer for sale; price_changed: the price differs from the "
            "one fixed when added; over_stock: fewer can be bought than the line holds."
        ),
    )
    message = serializers.CharField()
    old_price = serializers.DecimalField(**MONEY, allow_null=True)
    new_price = serializers.DecimalField(**MONEY, allow_null=True)
    available = serializers.IntegerField(allow_null=True, min_value=0)


class CartLineSerializer(serializers.Serializer[Any]):
    """A line of the cart: its product, at the price fixed when added."""

    id = serializers.IntegerField(
        source="item_id", help_text=_("The line's id, for PATCH and DELETE.")
    )
    product = serializers.IntegerField(source="line.product_id")
    title = serializers.SerializerMethodField()
    quantity = serializers.IntegerField(source="line.quantity", min_value=1)
    unit_price = serializers.DecimalField(
        source="line.unit_price", **MONEY, help_text=_("The price fixed when added.")
    )
    current_price = serializers.DecimalField(
        **MONEY, allow_null=True, help_text=_("The product's price now.")
    )
    line_total = serializers.DecimalField(max_digits=16, decimal_places=2)
    available = serializers.BooleanField(source="is_available")
    problems = CartProblemSerializer(many=True)

    def get_title(self, entry: cart.CartEntry) -> str:
        return entry.product.title if entry.product is not None else ""


class CartSerializer(serializers.Serializer[Any]):
    lines = CartLineSerializer(many=True, source="entries")
    count = serializers.IntegerField(source="summary.count", min_value=0)
    total = serializers.DecimalField(source="summary.total", max_digits=16, decimal_places=2)
    currency = serializers.SerializerMethodField()
    problems = CartProblemSerializer(many=True)
    problems_fingerprint = serializers.CharField(
        help_text=_(
            "Changes when the problems do. To accept price changes and products gone at "
            "checkout, post the quote's changes_fingerprint (/api/v1/checkout/quote/)."
        )
    )

    def get_currency(self, contents: cart.CartContents) -> str:
        return str(settings.LAVKA_SHOP_CURRENCY)


class CartItemCreateSerializer(StrictJsonTypes):
    product = serializers.IntegerField(min_value=1, max_value=cart.MAX_ID)
    quantity = serializers.IntegerField(min_value=1, max_value=cart.MAX_QUANTITY)


class CartItemUpdateSerializer(StrictJsonTypes):
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=cart.MAX_QUANTITY,
        required=False,
        help_text=_("The new quantity; left out, the line stays as it is."),
    )


def _refusal(error: DjangoValidationError) -> serializers.ValidationError:
    field = FIELD_OF_CODE.get(str(error.code), api_settings.NON_FIELD_ERRORS_KEY)
    data: dict[str, Any] = {field: error.messages}
    if field == api_settings.NON_FIELD_ERRORS_KEY:
        data["detail"] = " ".join(error.messages)
    return serializers.ValidationError(data)


def _entry(request: Request, product_id: int) -> cart.CartEntry:
    for entry in cart.cart_contents(request).entries:
        if entry.line.product_id == product_id:
            return entry
    raise NotFound  # removed meanwhile by another request


def _own_item(request: Request, pk: int) -> Any:
    item = cart.UserCart(request.user).item(pk)
    if item is None:
        raise NotFound
    return item


class CartView(APIView):
    """Your cart: its lines in the order added, at the prices fixed then, with what
    changed since (problems) and the totals."""

    @extend_schema(responses={200: CartSerializer})
    def get(self, request: Request) -> Response:
        return Response(CartSerializer(cart.cart_contents(request)).data)


class CartItemListView(APIView):
    @extend_schema(
        request=CartItemCreateSerializer,
        responses={201: CartLineSerializer},
        description=str(
            _(
                "Add a product on sale; a product already in the cart gets the quantity "
                "added. The price is fixed now."
            )
        ),
    )
    def post(self, request: Request) -> Response:
        params = CartItemCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            line = cart.add_to_cart(
                request, params.validated_data["product"], params.validated_data["quantity"]
            )
        except DjangoValidationError as error:
            raise _refusal(error) from error
        return Response(
            CartLineSerializer(_entry(request, line.product_id)).data,
            status=status.HTTP_201_CREATED,
        )


class CartItemDetailView(APIView):
    @extend_schema(responses={200: CartLineSerializer})
    def get(self, request: Request, pk: int) -> Response:
        item = _own_item(request, pk)
        return Response(CartLineSerializer(_entry(request, item.product_id)).data)

    @extend_schema(
        request=CartItemUpdateSerializer,
        responses={200: CartLineSerializer},
        description=str(_("Change the quantity (the price stays the one fixed when added).")),
    )
    def patch(self, request: Request, pk: int) -> Response:
        item = _own_item(request, pk)
        params = CartItemUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if "quantity" in params.validated_data:
            try:
                cart.set_cart_quantity(request, item.product_id, params.validated_data["quantity"])
            except DjangoValidationError as error:
                raise _refusal(error) from error
        return Response(CartLineSerializer(_entry(request, item.product_id)).data)

    @extend_schema(responses={204: OpenApiResponse(description=str(_("Removed.")))})
    def delete(self, request: Request, pk: int) -> Response:
        item = _own_item(request, pk)
        try:
            cart.remove_from_cart(request, item.product_id)
        except DjangoValidationError as error:  # removed meanwhile by another request
            raise NotFound from error
        return Response(status=status.HTTP_204_NO_CONTENT)
