"""Forms of the checkout and the staff's order list: input checks only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from lavka.core.validators import validate_header_text, validate_multiline_text
from lavka.marketplace import payments
from lavka.marketplace.models import Order
from lavka.marketplace.payments.stripe_checkout import is_test_mode

MAX_QUERY_LENGTH = 200


class CheckoutForm(forms.Form):
    full_name = forms.CharField(label=_("Name"), max_length=150, validators=[validate_header_text])
    email = forms.EmailField(label=_("Email"), max_length=254)
    phone = forms.CharField(
        label=_("Phone"), max_length=40, required=False, validators=[validate_header_text]
    )
    address = forms.CharField(
        label=_("Delivery address"),
        max_length=1000,
        required=False,
        validators=[validate_multiline_text],
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Recipient, street and number, postal code and city, country."),
    )
    note = forms.CharField(
        label=_("Note to the shop"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    payment_method = forms.ChoiceField(label=_("Payment"), widget=forms.RadioSelect)
    coupon_code = forms.CharField(label=_("Coupon"), max_length=40, required=False)
    checkout_token = forms.UUIDField(widget=forms.HiddenInput)
    accepted_changes = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    accept_changes = forms.BooleanField(
        label=_("I accept the changes listed above"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(p.code, p.label) for p in payments.offered()]
        self.fields["payment_method"].choices = choices  # type: ignore[attr-defined]
        if any(p.code == "stripe" for p in payments.offered()) and is_test_mode():
            self.fields["payment_method"].help_text = _(
                "Card payments are in test mode: no real money moves."
            )
        if choices and not self.is_bound:
            self.initial.setdefault("payment_method", choices[0][0])

    def clean_coupon_code(self) -> str:
        return str(self.cleaned_data.get("coupon_code") or "").strip()

    def accepted_fingerprint(self) -> str:
        """The changes the customer accepted: the page's fingerprint, if ticked."""
        if self.cleaned_data.get("accept_changes"):
            return str(self.cleaned_data.get("accepted_changes") or "")
        return ""


class StaffOrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Not archived")), *Order.Status.choices],
    )
    provider = forms.ChoiceField(label=_("Payment"), required=False)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=MAX_QUERY_LENGTH,
        help_text=_("Email, name or order number."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [  # type: ignore[attr-defined]
            ("", _("Any")),
            *[(p.code, p.label) for p in payments.offered()],
        ]

    def value(self, name: str, default: str = "") -> str:
        if not self.is_bound or name in self.errors:
            return default
        cleaned = getattr(self, "cleaned_data", {})
        return str(cleaned.get(name) or default)


class RefundForm(forms.Form):
    """The staff's refund confirmation: why, what they did (a manual refund), and a tick
    that they mean it, so a stray click refunds nothing."""

    reason = forms.CharField(
        label=_("Reason for the refund"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with the order; the customer is not shown it."),
    )
    reference = forms.CharField(
        label=_("Refund reference"),
        max_length=200,
        required=False,
        validators=[validate_header_text],
        help_text=_("For a manual payment: how the money went back (a transfer's reference)."),
    )
    confirm = forms.BooleanField(
        label=_("I confirm: give the customer their money back."), required=True
    )
