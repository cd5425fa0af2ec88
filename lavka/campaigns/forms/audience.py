"""Forms for recipients, lists and the CSV import. Saving goes through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from lavka.accounts.models import User
from lavka.campaigns import selectors
from lavka.campaigns.models import Recipient, RecipientList

STATE_CHOICES = [
    ("", _("All")),
    ("active", _("Active")),
    ("inactive", _("Inactive")),
    ("unsubscribed", _("Unsubscribed")),
    ("suppressed", _("Suppressed")),
]


class RecipientForm(forms.ModelForm):
    lists = forms.ModelMultipleChoiceField(
        label=_("Lists"),
        queryset=RecipientList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Recipient
        fields = ["email", "full_name", "phone", "country", "comment"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"phone": _("International form, e.g. +49 30 1234567.")}

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lists_field = self.fields["lists"]
        lists_field.queryset = selectors.lists_of(actor=owner)  # type: ignore[attr-defined]
        if self.instance.pk and not self.is_bound:
            self.initial["lists"] = list(self.instance.lists.values_list("pk", flat=True))


class RecipientListForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        label=_("Members"),
        queryset=Recipient.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 12}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several."),
    )

    class Meta:
        model = RecipientList
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members_field = self.fields["members"]
        members_field.queryset = selectors.recipients_of(actor=owner)  # type: ignore[attr-defined]
        if self.instance.pk and not self.is_bound:
            self.initial["members"] = list(self.instance.recipients.values_list("pk", flat=True))


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "First line: column names. “email” is required; full_name, phone, country and "
            "comment are optional. UTF-8 or Windows-1251."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )
    target_list = forms.ModelChoiceField(
        label=_("Add everyone imported to this list"),
        queryset=RecipientList.objects.none(),
        required=False,
        empty_label=_("(no list)"),
    )

    def __init__(self, *args: Any, owner: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        target_field = self.fields["target_list"]
        target_field.queryset = selectors.lists_of(actor=owner)  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.CAMPAIGNS_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s KB; split it into smaller files.")
                % {"limit": limit // 1024}
            )
        return upload


class ImportConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
