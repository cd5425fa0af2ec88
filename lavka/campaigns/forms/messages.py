"""The message form. Saving goes through services.save_message."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from lavka.campaigns.models import Message
from lavka.campaigns.personalisation import unknown_placeholders


class MessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = ["subject", "html_body", "text_body", "is_active"]
        widgets = {
            "html_body": forms.Textarea(attrs={"rows": 14, "class": "code-input"}),
            "text_body": forms.Textarea(attrs={"rows": 8}),
        }

    def clean(self) -> dict[str, Any]:
        """Each unknown placeholder is reported at the field that holds it."""
        cleaned = super().clean() or {}
        for name in ("subject", "html_body", "text_body"):
            unknown = unknown_placeholders(cleaned.get(name) or "")
            if unknown:
                self.add_error(
                    name,
                    _(
                        "Unknown placeholder: %(names)s. Use {{ name }}, {{ email }} or {{ unsubscribe_url }}."
                    )
                    % {"names": ", ".join("{{ " + u + " }}" for u in unknown)},
                )
        return cleaned
