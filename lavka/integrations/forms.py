"""Forms of the bookkeeping pages: they check the shape of what was typed; whether a
token works (a real call) and whose it is are the services' checks."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from lavka.core.secrets import SecretInput
from lavka.integrations import services
from lavka.integrations.models import ReferenceItem, ReferenceKind, min_interval_minutes

TOKEN_MAX_LENGTH = 500
# One line of visible ASCII: what the systems' tokens are made of. A line break, a NUL
# or a space inside is a paste gone wrong, not a token.
TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+")


class ConnectForm(forms.Form):
    system = forms.ChoiceField(label=_("System"))
    token = forms.CharField(
        label=_("API token"),
        max_length=TOKEN_MAX_LENGTH,
        widget=SecretInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("Checked with the system before it is saved; stored encrypted."),
    )

    def __init__(self, *args: Any, role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        registry = services.REGISTRIES[role]
        system = self.fields["system"]
        assert isinstance(system, forms.ChoiceField)
        system.choices = [
            (code, getattr(adapter, "label", code)) for code, adapter in registry.items()
        ]
        if len(registry) == 1:
            system.initial = next(iter(registry))

    def clean_token(self) -> str:
        token: str = self.cleaned_data["token"]
        if not TOKEN_SHAPE.fullmatch(token):
            raise forms.ValidationError(
                _(
                    "A token is one line of letters, digits and punctuation, without "
                    "spaces or line breaks. Copy it again from the system."
                ),
                code="token_shape",
            )
        return token


class _ItemChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: ReferenceItem) -> str:
        return f"{obj.name} ★" if obj.is_main else obj.name


class MappingForm(forms.Form):
    """A trade point's cash desk and warehouse; the choices are the owner's own
    current items, so another owner's id is "not one of the choices"."""

    cash_desk = _ItemChoice(label=_("Cash desk"), queryset=ReferenceItem.objects.none())
    warehouse = _ItemChoice(label=_("Warehouse"), queryset=ReferenceItem.objects.none())

    def __init__(self, *args: Any, owner: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, kind in (
            ("cash_desk", ReferenceKind.CASH_DESK),
            ("warehouse", ReferenceKind.WAREHOUSE),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = services.usable_items(owner=owner, kind=kind).order_by(
                "-is_main", "name", "pk"
            )


class IntervalForm(forms.Form):
    interval_minutes = forms.IntegerField(label=_("Every (minutes)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        low, high = min_interval_minutes(), services.MAX_INTERVAL_MINUTES
        field = self.fields["interval_minutes"]
        field.validators = [MinValueValidator(low), MaxValueValidator(high)]
        field.widget.attrs.update({"min": low, "max": high})
