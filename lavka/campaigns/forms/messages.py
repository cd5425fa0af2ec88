"""The message form. Saving goes through actions.SaveMessage."""

from __future__ import annotations

from typing import Any

from django import forms

from lavka.campaigns.models import Message
from lavka.campaigns.personalisation import placeholder_error


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
            error = placeholder_error(cleaned.get(name) or "")
            if error:
                self.add_error(name, error)
        return cleaned
