"""Donation pages: giving (to a creator, or one of their products with ?product=<id>),
a donor's own donations, a creator's received ones, and the staff's pages (seed 003:
details and changes for staff only, archiving with `delete_donation`)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lavka.core.converters import parse_id
from lavka.core.decorators import permission_required
from lavka.marketplace.donations import actions, selectors, services
from lavka.marketplace.donations.forms import DonationForm, StaffDonationFilterForm
from lavka.marketplace.models import CreatorProfile, Donation
from lavka.marketplace.payment_pages import allows_hosted_payment_pages
from lavka.marketplace.staff_changes import run_staff_change
from lavka.marketplace.staff_lists import filtered_list

PAGE_SIZE = 25

staff_only = permission_required("marketplace.view_donation")
creators_only = permission_required(
    "marketplace.add_product", denied_template="accounts/for_creators.html"
)


def _creator_or_404(slug: str) -> CreatorProfile:
    creator = CreatorProfile.objects.filter(
        slug=slug, status=CreatorProfile.Status.APPROVED
    ).first()
    if creator is None:
        raise Http404
    return creator


@login_required
@allows_hosted_payment_pages
def donate(request: HttpRequest, slug: str) -> HttpResponse:
    creator = _creator_or_404(slug)
    user: Any = request.user
    own = creator.user_id == user.pk
    if request.method != "POST":
        initial: dict[str, Any] = {"checkout_token": uuid.uuid4()}
        wanted = parse_id(request.GET.get("product", ""))
        if wanted is not None:
            initial["product"] = wanted
        form = DonationForm(initial=initial, creator=creator)
        return _page(request, form, creator, own)
    if own:
        messages.error(request, _("You cannot donate to yourself."))
        return _page(request, DonationForm(creator=creator), creator, own, status=400)
    form = DonationForm(request.POST, creator=creator)
    if not form.is_valid():
        return _page(request, form, creator, own, status=400)
    data = form.cleaned_data
    try:
        given = actions.Donate(
            user,
            creator=creator,
            product=data["product"],
            amount=data["amount"],
            message=data["message"],
            provider_code=data["payment_method"],
            checkout_token=data["checkout_token"],
            language=get_language() or "en",
        ).execute()
    except ValidationError as error:
        form.add_error(None, " ".join(error.messages))
        return _page(request, form, creator, own, status=400)
    except services.DonationRefused as refusal:
        form.add_error(None, refusal.message)
        return _page(request, form, creator, own, status=400)
    if given.error:
        messages.error(request, given.error)
    elif not given.created:
        messages.info(request, _("This donation was made already (a second click)."))
    else:
        messages.success(
            request, _("Thank you! Your donation %s is recorded.") % given.donation.number
        )
    if given.next_step.redirect_url:
        return redirect(given.next_step.redirect_url)
    return redirect("marketplace:donation_detail", pk=given.donation.pk)


def _page(
    request: HttpRequest, form: DonationForm, creator: CreatorProfile, own: bool, status: int = 200
) -> HttpResponse:
    context = {"form": form, "creator": creator, "own": own}
    return render(request, "marketplace/donations/donate.html", context, status=status)


@login_required
def donation_list(request: HttpRequest) -> HttpResponse:
    given = selectors.donations_of(request.user)
    page = Paginator(given, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "marketplace/donations/donation_list.html", {"page": page})


@login_required
@allows_hosted_payment_pages
def donation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    donation = selectors.own_donation(request.user, pk)
    if donation is None:
        raise Http404
    pays_online = services.pays_online(donation)
    if pays_online and request.GET.get("paid"):
        messages.info(
            request,
            _("Thank you! We will confirm your donation once the payment is through."),
        )
    elif pays_online and request.GET.get("cancelled"):
        messages.warning(
            request, _("You left the payment page: this donation is not paid. Pay now or later.")
        )
    context = {
        "donation": donation,
        "instructions": services.next_step(donation).instructions,
        "pays_online": pays_online,
    }
    return render(request, "marketplace/donations/donation_detail.html", context)


@login_required
@require_POST
def donation_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Back to the provider's payment page of the donor's open donation (after an
    error, a closed tab): the same payment, never a second one."""
    donation = selectors.own_donation(request.user, pk)
    if donation is None:
        raise Http404
    try:
        next_step = services.continue_payment(donation=donation)
    except services.DonationRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("marketplace:donation_detail", pk=donation.pk)
    if next_step.redirect_url:
        return redirect(next_step.redirect_url)
    return redirect("marketplace:donation_detail", pk=donation.pk)


@creators_only
def donations_received(request: HttpRequest) -> HttpResponse:
    creator = selectors.creator_of(request.user)
    received = (
        selectors.donations_received(creator) if creator is not None else Donation.objects.none()
    )
    page = Paginator(received, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "marketplace/donations/received.html", {"page": page})


# --- staff ----------------------------------------------------------------------------------


@staff_only
def staff_donations(request: HttpRequest) -> HttpResponse:
    form = StaffDonationFilterForm(request.GET or None)
    wanted = selectors.StaffFilter(
        status=form.value("status"), creator=form.value("creator"), query=form.value("q")
    )
    context = filtered_list(request, form, selectors.staff_donations(wanted))
    return render(request, "marketplace/donations/staff_list.html", context)


def _staff_donation_or_404(pk: int) -> Donation:
    donation = selectors.staff_donation(pk)
    if donation is None:
        raise Http404
    return donation


@staff_only
def staff_donation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    donation = _staff_donation_or_404(pk)
    context = {
        "donation": donation,
        "can_change": request.user.has_perm("marketplace.change_donation"),
        "can_archive": request.user.has_perm("marketplace.delete_donation"),
    }
    return render(request, "marketplace/donations/staff_detail.html", context)


def _staff_change(
    request: HttpRequest, pk: int, action: type[actions.DonationAction]
) -> HttpResponse:
    donation = _staff_donation_or_404(pk)
    run_staff_change(
        request,
        action(request.user, donation=donation),
        refused=services.DonationRefused,
        done=_("Donation %(number)s is now %(status)s."),
    )
    return redirect("marketplace:staff_donation_detail", pk=donation.pk)


@staff_only
@require_POST
def staff_donation_mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    return _staff_change(request, pk, actions.MarkDonationPaid)


@staff_only
@require_POST
def staff_donation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _staff_change(request, pk, actions.CancelDonation)


@staff_only
@require_POST
def staff_donation_archive(request: HttpRequest, pk: int) -> HttpResponse:
    return _staff_change(request, pk, actions.ArchiveDonation)
