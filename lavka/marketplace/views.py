"""The shop's pages: browsing (public), becoming a creator, a creator's products, and the
staff queue of creator requests.

Creators' pages look products up through `selectors.own_products`, so another creator's
product is a 404 for everyone, managers and superusers included (superusers use the
admin).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lavka.core.decorators import permission_required
from lavka.marketplace import actions, selectors
from lavka.marketplace import cache as catalog_cache
from lavka.marketplace.forms import (
    MAX_QUERY_LENGTH,
    CreatorDecisionForm,
    CreatorProfileForm,
    ProductForm,
    ShopFilterForm,
    apply_errors,
)
from lavka.marketplace.models import CreatorProfile, Product
from lavka.marketplace.page_cache import kept_for_visitors
from lavka.marketplace.recommendations import selectors as recommendations

PAGE_SIZE = 24
OWN_PAGE_SIZE = 50

creators_only = permission_required(
    "marketplace.add_product", denied_template="accounts/for_creators.html"
)
reviewers_only = permission_required("marketplace.review_creatorprofile")


# --- browsing ---------------------------------------------------------------------------


def _browse(
    request: HttpRequest,
    template: str,
    *,
    category: Any = None,
    creator: Any = None,
) -> HttpResponse:
    """A product list narrowed by the page (category, creator) and the visitor's filters.

    A refused filter value (a price that is not a number) is shown at its field and
    ignored; the rest of the filters still apply. The listing (menu, filters, products,
    pagination) is the same for every visitor given the same query, so it is rendered
    once per catalogue version, language and query, and kept in the cache (`cache.py`):
    a second visitor's request reads no table and validates nothing.
    """
    raw = {name: request.GET.get(name, "") for name in LISTING_PARAMETERS}
    if max(len(value) for value in raw.values()) > MAX_QUERY_LENGTH:
        html, status = _render_listing(request, template, category, creator)
    else:
        key = catalog_cache.list_key(
            "shop",
            [
                ("template", template),
                ("shown-category", category.pk if category else ""),
                ("shown-creator", creator.pk if creator else ""),
                *raw.items(),
            ],
        )
        html, status = catalog_cache.cached_list(
            key, lambda: _render_listing(request, template, category, creator)
        )
    context = {
        "listing": mark_safe(html),  # noqa: S308 (our template, rendered above)
        "current_category": category,
        "current_creator": creator,
    }
    return render(request, template, context, status=status)


# The query parameters a listing depends on; nothing else of the request is read.
LISTING_PARAMETERS = ("q", "category", "price_min", "price_max", "sort", "page")


def _render_listing(
    request: HttpRequest, template: str, category: Any, creator: Any
) -> tuple[str, int]:
    """(HTML, status) of a page's listing: 400 when a filter value was refused."""
    form = ShopFilterForm(request.GET)
    form.is_valid()
    if category is None and form.value("category"):
        category = selectors.category_by_slug(form.value("category"))
    shop_filter = selectors.ShopFilter(
        query=form.value("q", ""),
        category=category,
        creator=creator,
        price_min=form.value("price_min"),
        price_max=form.value("price_max"),
        sort=form.value("sort", "newest"),
    )
    products = selectors.shop_products(shop_filter)
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    kept = {
        key: request.GET[key]
        for key in ("q", "category", "price_min", "price_max", "sort")
        if request.GET.get(key) and key not in form.errors
    }
    context = {
        "form": form,
        "page": page,
        "products": page.object_list,
        "categories": selectors.category_tree(),
        "show_menu": template == "marketplace/shop.html",
        "hide_category": template == "marketplace/category.html",
        "extra_query": f"{urlencode(kept)}&" if kept else "",
        "currency": settings.LAVKA_SHOP_CURRENCY,
    }
    html = render_to_string("marketplace/listing.html", context)
    return html, 400 if form.errors else 200


@kept_for_visitors
def shop(request: HttpRequest) -> HttpResponse:
    return _browse(request, "marketplace/shop.html")


@kept_for_visitors
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    category = selectors.category_by_slug(slug)
    if category is None:
        raise Http404
    return _browse(request, "marketplace/category.html", category=category)


def creator_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.approved_creators(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "marketplace/creator_list.html", {"page": page})


@kept_for_visitors
def creator_detail(request: HttpRequest, slug: str) -> HttpResponse:
    creator = selectors.approved_creator(slug=slug)
    if creator is None:
        raise Http404
    return _browse(request, "marketplace/creator.html", creator=creator)


def product_detail(request: HttpRequest, creator_slug: str, slug: str) -> HttpResponse:
    product = selectors.product_on_sale(creator_slug=creator_slug, slug=slug)
    if product is None:
        raise Http404
    is_owner = request.user.is_authenticated and product.creator.user_id == request.user.pk
    context = {
        "product": product,
        "is_owner": is_owner,
        "bought_together": recommendations.bought_together(product.pk),
    }
    return render(request, "marketplace/product.html", context)


# --- becoming a creator -----------------------------------------------------------------


@login_required
def become_creator(request: HttpRequest) -> HttpResponse:
    """Once per user: a form, or what became of the earlier request."""
    profile = selectors.creator_profile_of(request.user)
    refusal = actions.creator_status_refusal(profile)
    if refusal:
        if request.method == "POST":
            messages.info(request, refusal)
            return redirect("marketplace:become_creator")
        return render(
            request,
            "marketplace/become_creator.html",
            {"profile": profile, "refusal": refusal, "form": None},
        )
    form = CreatorProfileForm(request.POST or None, request.FILES or None)
    if profile is not None:  # a rejected request: sent again, with its reason shown
        form = CreatorProfileForm(request.POST or None, request.FILES or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        try:
            made = actions.BecomeCreator(
                request.user,
                display_name=form.cleaned_data["display_name"],
                slug=form.cleaned_data["slug"],
                bio=form.cleaned_data["bio"],
                avatar=request.FILES.get("avatar"),
            ).execute()
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if made.is_approved:
                messages.success(request, _("Welcome, creator! Add your first product."))
                return redirect("marketplace:my_products")
            messages.success(request, _("Thank you! A manager will look at your request soon."))
            return redirect("marketplace:become_creator")
    status = 400 if form.is_bound else 200
    return render(
        request,
        "marketplace/become_creator.html",
        {
            "profile": profile,
            "refusal": "",
            "form": form,
            "approval_required": settings.LAVKA_CREATOR_APPROVAL,
        },
        status=status,
    )


def _approved_profile_or_redirect(request: HttpRequest) -> CreatorProfile | HttpResponse:
    """A creator (by role) without an approved profile is sent to make one first."""
    profile = selectors.creator_profile_of(request.user)
    if profile is None or not profile.is_approved:
        messages.info(request, _("Set up your creator profile first."))
        return redirect("marketplace:become_creator")
    return profile


@creators_only
def creator_profile_edit(request: HttpRequest) -> HttpResponse:
    profile = _approved_profile_or_redirect(request)
    if isinstance(profile, HttpResponse):
        return profile
    form = CreatorProfileForm(request.POST or None, request.FILES or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        try:
            actions.UpdateCreatorProfile(
                request.user,
                profile=profile,
                display_name=form.cleaned_data["display_name"],
                slug=form.cleaned_data["slug"],
                bio=form.cleaned_data["bio"],
                avatar=request.FILES.get("avatar"),
                remove_avatar=form.cleaned_data.get("avatar") is False,
            ).execute()
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Your creator profile was saved."))
            return redirect("marketplace:my_products")
    status = 400 if form.is_bound else 200
    return render(request, "marketplace/creator_profile_form.html", {"form": form}, status=status)


# --- a creator's products ---------------------------------------------------------------


@creators_only
def my_products(request: HttpRequest) -> HttpResponse:
    profile = _approved_profile_or_redirect(request)
    if isinstance(profile, HttpResponse):
        return profile
    products = selectors.own_products(request.user)
    page = Paginator(products, OWN_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "marketplace/my_products.html", {"page": page, "profile": profile})


def _own_product(request: HttpRequest, pk: int) -> Product:
    product = selectors.own_product(request.user, pk)
    if product is None:
        raise Http404
    return product


def _product_form_page(
    request: HttpRequest, form: ProductForm, product: Product | None, status: int
) -> HttpResponse:
    return render(
        request,
        "marketplace/product_form.html",
        {"form": form, "product": product, "currency": settings.LAVKA_SHOP_CURRENCY},
        status=status,
    )


@creators_only
def product_create(request: HttpRequest) -> HttpResponse:
    profile = _approved_profile_or_redirect(request)
    if isinstance(profile, HttpResponse):
        return profile
    form = ProductForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = actions.CreateProduct(
                request.user,
                product=form.instance,
                new_images=form.cleaned_data["new_images"],
                alt_text=form.cleaned_data["alt_text"],
                digital_file=form.digital_upload(),
            ).execute()
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("%(title)s was added.") % {"title": product.title})
            return redirect("marketplace:product_edit", pk=product.pk)
    return _product_form_page(request, form, None, 400 if form.is_bound else 200)


@creators_only
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = _own_product(request, pk)
    form = ProductForm(request.POST or None, request.FILES or None, instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            actions.UpdateProduct(
                request.user,
                product=form.instance,
                new_images=form.cleaned_data["new_images"],
                alt_text=form.cleaned_data["alt_text"],
                digital_file=form.digital_upload(),
                remove_digital_file=form.cleaned_data["remove_digital_file"],
                stock_seen=form.cleaned_data["stock_seen"],
            ).execute()
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("%(title)s was saved.") % {"title": product.title})
            return redirect("marketplace:product_edit", pk=product.pk)
    if form.is_bound:  # show the stored product beside the refused input, not half of it
        product = _own_product(request, pk)
    return _product_form_page(request, form, product, 400 if form.is_bound else 200)


@creators_only
@require_POST
def product_archive(request: HttpRequest, pk: int) -> HttpResponse:
    product = actions.ArchiveProduct(request.user, product=_own_product(request, pk)).execute()
    messages.success(
        request, _("%(title)s was archived: it is no longer in the shop.") % {"title": product}
    )
    return redirect("marketplace:my_products")


@creators_only
@require_POST
def product_unarchive(request: HttpRequest, pk: int) -> HttpResponse:
    product = actions.UnarchiveProduct(request.user, product=_own_product(request, pk)).execute()
    messages.success(request, _("%(title)s is back in the shop.") % {"title": product})
    return redirect("marketplace:my_products")


@creators_only
@require_POST
def product_image_remove(request: HttpRequest, pk: int) -> HttpResponse:
    image = selectors.own_product_image(request.user, pk)
    if image is None:
        raise Http404
    product = actions.RemoveProductImage(request.user, image=image).execute()
    messages.success(request, _("The image was removed."))
    return redirect("marketplace:product_edit", pk=product.pk)


# --- staff: requests to become a creator ---------------------------------------------


@reviewers_only
def creator_requests(request: HttpRequest) -> HttpResponse:
    pending = selectors.creator_requests()
    decided = selectors.creator_requests(status=CreatorProfile.Status.REJECTED)[:20]
    return render(
        request,
        "marketplace/creator_requests.html",
        {
            "pending": pending,
            "rejected": decided,
            "form": CreatorDecisionForm(),
            "approval_required": settings.LAVKA_CREATOR_APPROVAL,
        },
    )


def _decide(request: HttpRequest, pk: int, *, approve: bool) -> HttpResponse:
    profile = selectors.creator_request(pk)
    if profile is None:
        raise Http404
    form = CreatorDecisionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("reason", [])))
        return redirect("marketplace:creator_requests")
    try:
        actions.DecideCreatorRequest(
            request.user, profile=profile, approve=approve, reason=reason
        ).execute()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = _("%(name)s is now a creator.") if approve else _("%(name)s's request was rejected.")
        messages.success(request, done % {"name": profile.display_name})
    return redirect("marketplace:creator_requests")


@reviewers_only
@require_POST
def creator_request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=True)


@reviewers_only
@require_POST
def creator_request_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, approve=False)
