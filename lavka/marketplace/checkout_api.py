"""The checkout for API clients, under /api/v1/checkout/: the signed-in caller's own cart
becomes an order, through the same action as the checkout page (`PlaceOrder`).

- `GET quote/` prices the cart as the shop stands now: what a checkout would write, the
  changes it would ask to accept, lines above the stock left, the coupon's refusal.
- `POST /` places the order. The client's `idempotency_key` makes retries safe: the same
  key (of the same caller) returns the order it placed, 200 instead of 201, and never a
  second order. Keys are the caller's own: another user's key is just a new key.
- Changes since the cart was filled (a new price, a product gone) are a 409 listing them
  with their fingerprint; the client shows them and posts again with
  `accept_changes=<fingerprint>`, as the page does with its "I accept" box.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from lavka.core.api import StrictJsonTypes, query_values
from lavka.core.api_schema import ValidationErrorSerializer
from lavka.core.validators import validate_header_text, validate_multiline_text
from lavka.marketplace import cart, payments
from lavka.marketplace.orders import actions, selectors, services
from lavka.marketplace.orders.api import OrderSerializer

MONEY = {"max_digits": 14, "decimal_places": 2}
# Refusals of the checkout that a new cart or stock, not other input, would resolve.
CONFLICTS = {"sold_out"}


def checkout_token(user: Any, key: str) -> uuid.UUID:
    """The order's checkout token for the caller's idempotency key: keyed by the site's
    secret, so two users' equal keys never meet and nobody can work out (and take
    first, through the web checkout's token field) the token of another user's key."""
    digest = salted_hmac("lavka.checkout-api.token", f"{user.pk}:{key}").digest()
    return uuid.UUID(bytes=digest[:16], version=4)


class CheckoutThrottle(UserRateThrottle):
    """Each placed order holds stock for a while: a client looping over checkout would
    hold it all. A person checks out a few times an hour, a retrying script a few more."""

    scope = "checkout"

    def get_rate(self) -> str:
        return str(settings.LAVKA_CHECKOUT_API_RATE)

    def allow_request(self, request: Request, view: Any) -> bool:
        return request.method != "POST" or super().allow_request(request, view)


# --- input ------------------------------------------------------------------------------


class CheckoutRequestSerializer(StrictJsonTypes):
    idempotency_key = serializers.CharField(
        max_length=100,
        validators=[validate_header_text],
        help_text=gettext_lazy(
            "Your name for this checkout (a UUID, say). Posting again with the same key "
            "returns the order it placed (200), never a second one."
        ),
    )
    provider = serializers.ChoiceField(
        choices=[],
        help_text=gettext_lazy("The payment method: one of the codes the shop offers."),
    )
    coupon_code = serializers.CharField(
        max_length=40, required=False, allow_blank=True, validators=[validate_header_text]
    )
    full_name = serializers.CharField(
        max_length=150,
        required=False,
        validators=[validate_header_text],
        help_text=gettext_lazy("Left out: the name on your account."),
    )
    email = serializers.EmailField(
        max_length=254,
        required=False,
        help_text=gettext_lazy("Left out: your account's address."),
    )
    phone = serializers.CharField(
        max_length=40, required=False, allow_blank=True, validators=[validate_header_text]
    )
    delivery_address = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        validators=[validate_multiline_text],
        help_text=gettext_lazy(
            "Needed when the cart holds a physical product (the quote's "
            "needs_delivery_address), ignored otherwise: recipient, street and number, "
            "postal code and city, country, one per line."
        ),
    )
    note = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, validators=[validate_multiline_text]
    )
    accept_changes = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy(
            "The `changes_fingerprint` of a 409 (or of the quote): you accept those changes."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [p.code for p in payments.offered()]  # type: ignore[attr-defined]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.context["user"]
        attrs.setdefault("full_name", str(getattr(user, "full_name", "") or "").strip())
        attrs.setdefault("email", user.email)
        if not attrs["full_name"]:
            raise serializers.ValidationError(
                {"full_name": [_("Give your name (your account has none).")]}
            )
        return attrs


class QuoteParamsSerializer(StrictJsonTypes):
    coupon = serializers.CharField(
        max_length=40, required=False, allow_blank=True, validators=[validate_header_text]
    )


# --- output -----------------------------------------------------------------------------


class NextStepSerializer(serializers.Serializer[Any]):
    redirect_url = serializers.CharField(
        allow_blank=True,
        help_text=gettext_lazy("Send the customer here to pay (card payments); else blank."),
    )
    instructions = serializers.CharField(
        allow_blank=True,
        help_text=gettext_lazy("What the customer does to pay (a bank transfer); else blank."),
    )
    payment_error = serializers.CharField(
        allow_blank=True,
        help_text=gettext_lazy(
            "The provider could not start the payment: the order stands, awaiting payment; "
            "posting the same idempotency key again retries."
        ),
    )


class CheckoutResultSerializer(serializers.Serializer[Any]):
    order = OrderSerializer()
    next_step = NextStepSerializer()


class ChangeSerializer(serializers.Serializer[Any]):
    product = serializers.IntegerField(source="product_id")
    title = serializers.CharField()
    old_price = serializers.DecimalField(**MONEY, help_text=gettext_lazy("The price in your cart."))
    new_price = serializers.DecimalField(
        **MONEY, allow_null=True, help_text=gettext_lazy("The price now; null: no longer for sale.")
    )


class ChangesRefusalSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    code = serializers.ChoiceField(choices=["changes", *sorted(CONFLICTS)])
    changes = ChangeSerializer(many=True, required=False)
    changes_fingerprint = serializers.CharField(required=False)


class CheckoutRefusalSerializer(ValidationErrorSerializer):
    """A 400: the fields at fault, or a refusal of the whole checkout with its `code`."""

    code = serializers.CharField(
        required=False,
        help_text=gettext_lazy(
            "empty, address, quantity, product, too_many, or the coupon's reason."
        ),
    )


class QuoteLineSerializer(serializers.Serializer[Any]):
    product = serializers.IntegerField(source="product.pk")
    title = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    unit_price = serializers.DecimalField(
        **MONEY, help_text=gettext_lazy("Today's price: the order's.")
    )
    line_total = serializers.DecimalField(**MONEY)
    discount = serializers.DecimalField(**MONEY)


class StockProblemSerializer(serializers.Serializer[Any]):
    product = serializers.IntegerField()
    title = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    available = serializers.IntegerField(min_value=0)


class CouponProblemSerializer(serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=list(services.COUPON_REASONS))
    message = serializers.CharField()


class ProviderSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    label = serializers.CharField()


class QuoteSerializer(serializers.Serializer[Any]):
    lines = QuoteLineSerializer(many=True)
    changes = ChangeSerializer(many=True)
    changes_fingerprint = serializers.CharField(
        allow_blank=True, help_text=gettext_lazy("Checkout's `accept_changes` for these changes.")
    )
    stock_problems = StockProblemSerializer(
        many=True, help_text=gettext_lazy("Lines above what is left: lower them in the cart.")
    )
    coupon_code = serializers.CharField(allow_blank=True)
    coupon_problem = CouponProblemSerializer(allow_null=True)
    subtotal = serializers.DecimalField(**MONEY)
    discount = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    needs_delivery_address = serializers.BooleanField(
        help_text=gettext_lazy("A physical product is in the cart: checkout needs an address.")
    )
    providers = ProviderSerializer(many=True)


def _quote_data(quote: services.Quote, coupon_code: str) -> dict[str, Any]:
    problem = quote.coupon_problem
    return {
        "lines": quote.lines,
        "changes": quote.changes,
        "changes_fingerprint": quote.changes_fingerprint,
        "stock_problems": [
            {
                "product": line.product.pk,
                "title": line.title,
                "quantity": line.quantity,
                "available": max(line.product.stock, 0),
            }
            for line in quote.lines
            if line.product.stock is not None and line.quantity > line.product.stock
        ],
        "coupon_code": quote.coupon.code if quote.coupon else coupon_code,
        "coupon_problem": {"code": problem.code, "message": problem.message} if problem else None,
        "subtotal": quote.subtotal,
        "discount": quote.discount,
        "total": quote.total,
        "currency": settings.LAVKA_SHOP_CURRENCY,
        "needs_delivery_address": quote.needs_delivery,
        "providers": [{"code": p.code, "label": str(p.label)} for p in payments.offered()],
    }


def _refused(refusal: services.CheckoutRefused) -> Response:
    body: dict[str, Any] = {"detail": refusal.message, "code": refusal.code}
    if isinstance(refusal, services.ChangesToAccept):
        body["changes"] = ChangeSerializer(refusal.changes, many=True).data
        body["changes_fingerprint"] = refusal.fingerprint
        return Response(body, status=status.HTTP_409_CONFLICT)
    if refusal.code in CONFLICTS:
        return Response(body, status=status.HTTP_409_CONFLICT)
    field = "non_field_errors"
    if isinstance(refusal, services.CouponRefused):
        field = "coupon_code"
    elif refusal.code == "address":
        field = "delivery_address"
    body[field] = [refusal.message]
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _next_step(order: Any) -> dict[str, str]:
    try:
        step = payments.provider_of(order).start_payment(order)
    except payments.PaymentError as error:
        # the order stands, awaiting payment; its hold runs out if it is never paid
        return {"redirect_url": "", "instructions": "", "payment_error": str(error)}
    return {
        "redirect_url": step.redirect_url,
        "instructions": step.instructions,
        "payment_error": "",
    }


# --- views ------------------------------------------------------------------------------


class CheckoutView(APIView):
    throttle_classes = [CheckoutThrottle]

    @extend_schema(
        request=CheckoutRequestSerializer,
        responses={
            201: OpenApiResponse(CheckoutResultSerializer, description="The order placed."),
            200: OpenApiResponse(
                CheckoutResultSerializer,
                description="This idempotency key placed this order before: the same order.",
            ),
            400: OpenApiResponse(
                CheckoutRefusalSerializer,
                description="Invalid input (the fields at fault), an empty cart, no "
                "delivery address for physical products (at delivery_address), a coupon "
                "refused (at coupon_code, with its reason as code). Nothing is written.",
            ),
            409: OpenApiResponse(
                ChangesRefusalSerializer,
                description="code changes: the cart changed since it was filled; accept "
                "the changes listed by posting again with accept_changes. code sold_out: "
                "fewer are left than the cart holds. Nothing is written.",
            ),
        },
        description=str(
            gettext_lazy(
                "Place an order for your cart: it is emptied, the stock is held until paid, "
                "the coupon is used. The answer is the order, as /api/v1/orders/ shows it, "
                "and the customer's next step: a payment page to open (redirect_url) or "
                "instructions (a bank transfer)."
            )
        ),
    )
    def post(self, request: Request) -> Response:
        params = CheckoutRequestSerializer(data=request.data, context={"user": request.user})
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            placed = actions.PlaceOrder(
                request.user,
                lines=cart.cart_lines(request),
                details=services.CustomerDetails(
                    email=data["email"],
                    full_name=data["full_name"],
                    phone=data.get("phone", ""),
                    address=data.get("delivery_address", ""),
                    note=data.get("note", ""),
                ),
                provider_code=data["provider"],
                checkout_token=checkout_token(request.user, data["idempotency_key"]),
                coupon_code=data.get("coupon_code", "").strip(),
                accepted_changes=data.get("accept_changes", ""),
            ).execute()
        except services.CheckoutRefused as refusal:
            return _refused(refusal)
        if placed.created:
            cart.clear_cart(request)
        order = selectors.orders_visible_to(request.user).get(pk=placed.order.pk)
        result = {"order": order, "next_step": _next_step(order)}
        return Response(
            CheckoutResultSerializer(result).data,
            status=status.HTTP_201_CREATED if placed.created else status.HTTP_200_OK,
        )


class QuoteView(APIView):
    @extend_schema(
        parameters=[QuoteParamsSerializer],
        responses={200: QuoteSerializer, 400: CheckoutRefusalSerializer},
        description=str(
            gettext_lazy(
                "Your cart priced as the shop stands now, with a coupon if given: what a "
                "checkout would write, and what it would refuse or ask you to accept."
            )
        ),
    )
    def get(self, request: Request) -> Response:
        params = QuoteParamsSerializer(data=query_values(request))
        params.is_valid(raise_exception=True)
        coupon_code = params.validated_data.get("coupon", "").strip()
        try:
            quote = services.quote_cart(
                cart.cart_lines(request), coupon_code=coupon_code, customer=request.user
            )
        except services.CheckoutRefused as refusal:
            return _refused(refusal)
        return Response(QuoteSerializer(_quote_data(quote, coupon_code)).data)
