"""Forms of donating and of the staff's donation list: input checks only (the amount's
and message's rules live in services, shared with any other client)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from lavka.marketplace.donations import services
from lavka.marketplace.models import Donation, Product

MAX_QUERY_LENGTH = 200


class DonationForm(forms.Form):
    # Text, not DecimalField: the service gives the one clear message for any input.
    amount = forms.CharField(label=_("Amount"), max_length=20)
    message = forms.CharField(
        label=_("Message to the creator"),
        required=False,
        # No max_length here: browsers send line breaks as "\r\n", which count once
        # after clean_message folds them; it refuses a longer message with a reason.
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional; the creator sees it once the donation is paid."),
    )
    product = forms.ModelChoiceField(
        label=_("For"),
        queryset=Product.objects.none(),
        required=False,
        empty_label=_("The creator's work in general"),
    )
    payment_method = forms.ChoiceField(label=_("Payment"), widget=forms.RadioSelect)
    checkout_token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, creator: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        products = Product.objects.on_sale().filter(creator=creator).order_by("-created_at")
        self.fields["product"].queryset = products  # type: ignore[attr-defined]
        choices = [(p.code, p.label) for p in services.offered_providers()]
        self.fields["payment_method"].choices = choices  # type: ignore[attr-defined]
        if choices and not self.is_bound:
            self.initial.setdefault("payment_method", choices[0][0])
        self.fields["amount"].help_text = _("In %(currency)s, more than %(minimum)s.") % {
            "currency": settings.LAVKA_SHOP_CURRENCY,
            "minimum": services.minimum_donation(),
        }

    def clean_amount(self) -> Any:
        try:
            return services.clean_amount(self.cleaned_data["amount"])
        except services.DonationRefused as refusal:
            raise forms.ValidationError(refusal.message, code=refusal.code) from None

    def clean_message(self) -> str:
        try:
            return services.clean_message(self.cleaned_data.get("message") or "")
        except services.DonationRefused as refusal:
            raise forms.ValidationError(refusal.message, code=refusal.code) from None


class StaffDonationFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Not archived")), *Donation.Status.choices],
    )
    creator = forms.SlugField(label=_("Creator (slug)"), required=False, max_length=100)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=MAX_QUERY_LENGTH,
        help_text=_("Donor's email, creator's name or donation number."),
    )

    def value(self, name: str) -> str:
        if not self.is_bound or name in self.errors:
            return ""
        return str(getattr(self, "cleaned_data", {}).get(name) or "")
