"""The cart's pages: /shop/cart/ and the forms that change it (any visitor, their own
cart only: the session's or, signed in, the user's).

A refused change (a bad quantity, a product no longer on sale) shows the cart with the
reason and status 400, and changes nothing; a done change redirects to the cart.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lavka.marketplace import cart
from lavka.marketplace.forms import CartAcceptForm, CartProductForm, CartQuantityForm
from lavka.marketplace.recommendations import selectors as recommendations


def cart_detail(request: HttpRequest, *, status: int = 200) -> HttpResponse:
    contents = cart.cart_contents(request)
    return render(
        request,
        "marketplace/cart.html",
        {
            "contents": contents,
            "suggestions": recommendations.suggestions_for_cart(
                entry.line.product_id for entry in contents.entries
            ),
            "summary": contents.summary,
            "currency": settings.LAVKA_SHOP_CURRENCY,
            "max_quantity": cart.MAX_QUANTITY,
        },
        status=status,
    )


def _refused(request: HttpRequest, reasons: list[str]) -> HttpResponse:
    for reason in reasons:
        messages.error(request, reason)
    return cart_detail(request, status=400)


def _form_errors(form: Form) -> list[str]:
    return [str(message) for errors in form.errors.values() for message in errors]


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    form = CartQuantityForm(request.POST)
    if not form.is_valid():
        return _refused(request, _form_errors(form))
    try:
        cart.add_to_cart(request, form.cleaned_data["product"], form.cleaned_data["quantity"])
    except ValidationError as error:
        return _refused(request, error.messages)
    messages.success(request, _("Added to your cart."))
    return redirect("marketplace:cart")


@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    form = CartQuantityForm(request.POST)
    if not form.is_valid():
        return _refused(request, _form_errors(form))
    try:
        cart.set_cart_quantity(request, form.cleaned_data["product"], form.cleaned_data["quantity"])
    except ValidationError as error:
        return _refused(request, error.messages)
    messages.success(request, _("The quantity was changed."))
    return redirect("marketplace:cart")


@require_POST
def cart_remove(request: HttpRequest) -> HttpResponse:
    form = CartProductForm(request.POST)
    if not form.is_valid():
        return _refused(request, _form_errors(form))
    try:
        cart.remove_from_cart(request, form.cleaned_data["product"])
    except ValidationError as error:
        return _refused(request, error.messages)
    messages.success(request, _("Removed from your cart."))
    return redirect("marketplace:cart")


@require_POST
def cart_accept(request: HttpRequest) -> HttpResponse:
    """The buyer accepts the changes listed on the cart page (prices, availability)."""
    form = CartAcceptForm(request.POST)
    if not form.is_valid():
        return _refused(request, _form_errors(form))
    if cart.accept_cart_changes(request, form.cleaned_data["fingerprint"]):
        return _refused(
            request, [_("Your cart changed again meanwhile: please check it once more.")]
        )
    messages.success(request, _("Your cart is up to date."))
    return redirect("marketplace:cart")
