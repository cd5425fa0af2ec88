"""Orders in the REST API: `/api/v1/orders/`, read-only. A caller sees their own orders;
staff (`view_order`) see every order. Another customer's order is the JSON 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView, RetrieveAPIView

from lavka.core.api import query_values
from lavka.marketplace.models import Order, OrderLine, OrderPaymentDetails
from lavka.marketplace.orders import selectors

MONEY = {"max_digits": 12, "decimal_places": 2, "read_only": True}


class OrderLineSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="null: the product was deleted since."
    )
    title = serializers.CharField(read_only=True, help_text="As it was at checkout.")
    unit_price = serializers.DecimalField(**MONEY, min_value=0)
    quantity = serializers.IntegerField(read_only=True, min_value=1)
    line_total = serializers.DecimalField(**MONEY, min_value=0)
    discount = serializers.DecimalField(**MONEY, min_value=0)

    class Meta:
        model = OrderLine
        fields = ["product", "title", "unit_price", "quantity", "line_total", "discount"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(read_only=True)
    reference = serializers.CharField(read_only=True, allow_blank=True)
    amount = serializers.DecimalField(**MONEY, min_value=0)
    currency = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=OrderPaymentDetails.Status.choices, read_only=True)
    paid_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = OrderPaymentDetails
        fields = ["provider", "reference", "amount", "currency", "status", "paid_at"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Order.Status.choices, read_only=True)
    currency = serializers.CharField(read_only=True)
    subtotal = serializers.DecimalField(**MONEY, min_value=0)
    discount = serializers.DecimalField(**MONEY, min_value=0)
    total = serializers.DecimalField(**MONEY, min_value=0)
    coupon_code = serializers.CharField(read_only=True, allow_blank=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    delivery_address = serializers.CharField(
        source="address",
        read_only=True,
        allow_blank=True,
        help_text="Orders with physical products; blank otherwise.",
    )
    paid_at = serializers.DateTimeField(read_only=True, allow_null=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    payment = PaymentSerializer(read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "created_at",
            "paid_at",
            "email",
            "full_name",
            "delivery_address",
            "currency",
            "subtotal",
            "discount",
            "total",
            "coupon_code",
            "lines",
            "payment",
        ]
        read_only_fields = fields


class OrderFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(required=False, choices=Order.Status.choices)


@extend_schema(parameters=[OrderFilterSerializer])
class OrderListView(ListAPIView):
    """The caller's orders (staff: every order), newest first; paginated."""

    serializer_class = OrderSerializer

    def get_queryset(self) -> QuerySet[Order]:
        params = OrderFilterSerializer(data=query_values(self.request))
        params.is_valid(raise_exception=True)
        orders = selectors.orders_visible_to(self.request.user)
        if params.validated_data.get("status"):
            orders = orders.filter(status=params.validated_data["status"])
        return orders.order_by("-created_at", "-id")


@extend_schema(
    responses={
        200: OrderSerializer,
        404: OpenApiResponse(description="No such order, or not yours."),
    }
)
class OrderDetailView(RetrieveAPIView):
    serializer_class = OrderSerializer

    def get_object(self) -> Order:
        pk = self.kwargs["pk"]
        order = selectors.orders_visible_to(self.request.user).filter(pk=pk).first()
        if order is None:
            raise NotFound
        return order
