"""Order pages: the checkout, a customer's own orders, a creator's sales (their own lines
only) and the staff's order pages (seed 003: details and changes for staff only,
archiving with `delete_order`).

The checkout reads the cart through `lavka.marketplace.cart` (`cart_lines`,
`clear_cart`), imported when used. Its form carries a checkout token kept in the session
until an order is placed with it, so two tabs of the same cart share one token and a
second submit finds the order the first one placed.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lavka.core.decorators import permission_required
from lavka.marketplace import payments
from lavka.marketplace.invoices import selectors as invoice_selectors
from lavka.marketplace.models import Order
from lavka.marketplace.orders import actions, selectors, services
from lavka.marketplace.orders.forms import CheckoutForm, RefundForm, StaffOrderFilterForm
from lavka.marketplace.payment_pages import allows_hosted_payment_pages
from lavka.marketplace.staff_changes import run_staff_change
from lavka.marketplace.staff_lists import filtered_list

PAGE_SIZE = 25
CHECKOUT_SESSION_KEY = "lavka_checkout_token"

staff_only = permission_required("marketplace.view_order")
creators_only = permission_required(
    "marketplace.add_product", denied_template="accounts/for_creators.html"
)


def _cart() -> Any:
    from lavka.marketplace import cart  # the cart module sits beside, not below, orders

    return cart


# --- checkout -----------------------------------------------------------------------------


def _session_token(request: HttpRequest) -> str:
    token = request.session.get(CHECKOUT_SESSION_KEY)
    if not token:
        token = str(uuid.uuid4())
        request.session[CHECKOUT_SESSION_KEY] = token
    return str(token)


def _quote(request: HttpRequest, coupon_code: str) -> services.Quote | None:
    try:
        return services.quote_cart(
            _cart().cart_lines(request), coupon_code=coupon_code, customer=request.user
        )
    except services.CheckoutRefused as refusal:
        messages.error(request, refusal.message)
        return None


def _checkout_page(
    request: HttpRequest,
    form: CheckoutForm,
    *,
    coupon_code: str = "",
    changes: list[services.Change] | None = None,
    status: int = 200,
) -> HttpResponse:
    quote = _quote(request, coupon_code)
    if changes is None and quote is not None:
        changes = quote.changes
    context = {
        "form": form,
        "quote": quote,
        "changes": changes or [],
        "changes_fingerprint": services.changes_fingerprint(changes or []),
        "empty": quote is not None and not quote.lines and not quote.changes,
    }
    return render(request, "marketplace/orders/checkout.html", context, status=status)


@login_required
@allows_hosted_payment_pages
def checkout(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if request.method != "POST":
        form = CheckoutForm(
            initial={
                "full_name": user.full_name,
                "email": user.email,
                "checkout_token": _session_token(request),
            }
        )
        return _checkout_page(request, form, coupon_code=request.GET.get("coupon", "")[:40])

    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _checkout_page(request, form, status=400)
    data = form.cleaned_data
    coupon_code = data["coupon_code"]
    if "apply_coupon" in request.POST:
        quote = _quote(request, coupon_code)
        if quote is not None and quote.coupon_problem is not None:
            form.add_error("coupon_code", quote.coupon_problem.message)
        return _checkout_page(request, form, coupon_code=coupon_code)
    try:
        placed = actions.PlaceOrder(
            user,
            lines=_cart().cart_lines(request),
            details=services.CustomerDetails(
                email=data["email"],
                full_name=data["full_name"],
                phone=data["phone"],
                address=data["address"],
                note=data["note"],
            ),
            provider_code=data["payment_method"],
            checkout_token=data["checkout_token"],
            coupon_code=coupon_code,
            accepted_changes=form.accepted_fingerprint(),
        ).execute()
    except services.ChangesToAccept as refusal:
        form.add_error(None, refusal.message)
        return _checkout_page(
            request, form, coupon_code=coupon_code, changes=refusal.changes, status=409
        )
    except services.CouponRefused as refusal:
        form.add_error("coupon_code", refusal.message)
        return _checkout_page(request, form, status=400)
    except services.CheckoutRefused as refusal:
        form.add_error("address" if refusal.code == "address" else None, refusal.message)
        return _checkout_page(request, form, coupon_code=coupon_code, status=400)
    request.session.pop(CHECKOUT_SESSION_KEY, None)
    if not placed.created:
        messages.info(
            request, _("This order was placed already (in another tab or by a second click).")
        )
        return redirect("marketplace:order_detail", pk=placed.order.pk)
    _cart().clear_cart(request)
    messages.success(request, _("Thank you! Your order %s is placed.") % placed.order.number)
    try:
        next_step = payments.provider_of(placed.order).start_payment(placed.order)
    except payments.PaymentError as error:
        # the order stands, awaiting payment; its hold runs out if it is never paid
        messages.error(request, str(error))
        return redirect("marketplace:order_detail", pk=placed.order.pk)
    if next_step.redirect_url:
        return redirect(next_step.redirect_url)
    return redirect("marketplace:order_detail", pk=placed.order.pk)


# --- a customer's own orders ---------------------------------------------------------------


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.orders_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "marketplace/orders/order_list.html", {"page": page})


@login_required
@allows_hosted_payment_pages
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.own_order(request.user, pk)
    if order is None:
        raise Http404
    instructions = ""
    provider = payments.any_provider(order.payment.provider)
    if order.is_open and provider is not None:
        instructions = provider.instructions(order)
    pays_online = order.is_open and provider is not None and not provider.confirmed_by_staff
    if pays_online and request.GET.get("paid"):
        messages.info(
            request, _("Thank you! The payment is being confirmed; this page shows it once done.")
        )
    context = {
        "order": order,
        "lines": order.lines.all(),
        "instructions": instructions,
        "pays_online": pays_online,
        "invoice": invoice_selectors.invoice_of(order),
    }
    return render(request, "marketplace/orders/order_detail.html", context)


@login_required
@require_POST
def order_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Back to the provider's payment page of an open order (after an error, a closed
    tab): the same session, never a second one."""
    order = selectors.own_order(request.user, pk)
    if order is None:
        raise Http404
    provider = payments.any_provider(order.payment.provider)
    if not order.is_open or provider is None or provider.confirmed_by_staff:
        messages.error(request, _("This order cannot be paid online now."))
        return redirect("marketplace:order_detail", pk=order.pk)
    try:
        next_step = provider.start_payment(order)
    except payments.PaymentError as error:
        messages.error(request, str(error))
        return redirect("marketplace:order_detail", pk=order.pk)
    if next_step.redirect_url:
        return redirect(next_step.redirect_url)
    return redirect("marketplace:order_detail", pk=order.pk)


# --- a creator's sales -----------------------------------------------------------------------


def _profile_or_404(request: HttpRequest) -> Any:
    profile = selectors.creator_profile(request.user)
    if profile is None:
        raise Http404
    return profile


@creators_only
def sales(request: HttpRequest) -> HttpResponse:
    profile = selectors.creator_profile(request.user)
    sold = selectors.sales_of(profile) if profile is not None else Order.objects.none()
    page = Paginator(sold, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "marketplace/orders/sales.html", {"page": page})


@creators_only
def sale_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.sale_of(_profile_or_404(request), pk)
    if order is None:
        raise Http404
    return render(request, "marketplace/orders/sale_detail.html", {"order": order})


# --- staff ------------------------------------------------------------------------------------


@staff_only
def staff_orders(request: HttpRequest) -> HttpResponse:
    form = StaffOrderFilterForm(request.GET or None)
    wanted = selectors.StaffFilter(
        status=form.value("status"), provider=form.value("provider"), query=form.value("q")
    )
    context = filtered_list(request, form, selectors.staff_orders(wanted))
    return render(request, "marketplace/orders/staff_list.html", context)


def _staff_order_or_404(pk: int) -> Any:
    order = selectors.staff_order(pk)
    if order is None:
        raise Http404
    return order


def _staff_order_page(
    request: HttpRequest, order: Any, *, refund_form: RefundForm | None = None, status: int = 200
) -> HttpResponse:
    provider = payments.any_provider(order.payment.provider)
    refund = selectors.refund_of(order)
    context = {
        "order": order,
        "provider": provider,
        "refund": refund,
        "refund_form": refund_form or RefundForm(),
        "can_change": request.user.has_perm("marketplace.change_order"),
        "can_refund": request.user.has_perm("marketplace.refund_order")
        and order.status == Order.Status.PAID
        and refund is None,
        "can_archive": request.user.has_perm("marketplace.delete_order"),
        "invoice": invoice_selectors.invoice_of(order),
    }
    return render(request, "marketplace/orders/staff_detail.html", context, status=status)


@staff_only
def staff_order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _staff_order_page(request, _staff_order_or_404(pk))


def _staff_change(request: HttpRequest, pk: int, action: type[actions.OrderAction]) -> HttpResponse:
    order = _staff_order_or_404(pk)
    run_staff_change(
        request,
        action(request.user, order=order),
        refused=services.OrderStateRefused,
        done=_("Order %(number)s is now %(status)s."),
    )
    return redirect("marketplace:staff_order_detail", pk=order.pk)


@staff_only
@require_POST
def staff_order_mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    return _staff_change(request, pk, actions.MarkOrderPaid)


@staff_only
@require_POST
def staff_order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _staff_change(request, pk, actions.CancelOrder)


@staff_only
@require_POST
def staff_order_archive(request: HttpRequest, pk: int) -> HttpResponse:
    return _staff_change(request, pk, actions.ArchiveOrder)


@staff_only
@require_POST
def staff_order_refund(request: HttpRequest, pk: int) -> HttpResponse:
    order = _staff_order_or_404(pk)
    form = RefundForm(request.POST)
    if not form.is_valid():
        return _staff_order_page(request, order, refund_form=form, status=400)
    try:
        refund = actions.RefundOrder(
            request.user,
            order=order,
            reason=form.cleaned_data["reason"],
            reference=form.cleaned_data["reference"],
        ).execute()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except services.OrderStateRefused as refusal:
        messages.error(request, refusal.message)
    else:
        if refund.refunded_at is not None:
            messages.success(request, _("Order %s is refunded.") % order.number)
        else:
            messages.success(
                request,
                _("The refund of order %s is requested; the order shows it once done.")
                % order.number,
            )
    return redirect("marketplace:staff_order_detail", pk=order.pk)
