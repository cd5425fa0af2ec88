from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from lavka.demos.models import Demo, DemoKind, DemoSample
from lavka.demos.outbound import check_service_url


class DemoForm(forms.ModelForm):
    """A creator's demo; the product is chosen among their own products without one."""

    service_url = forms.URLField(
        label=_("service URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("The base address of the service, e.g. http://vision.example.com:12120"),
    )

    class Meta:
        model = Demo
        fields = [
            "product",
            "kind",
            "service_url",
            "about",
            "max_bytes",
            "max_pixels",
            "max_video_seconds",
        ]

    def __init__(self, *args: Any, products: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if products is None:
            del self.fields["product"]
        else:
            self.fields["product"].queryset = products  # type: ignore[attr-defined]
        self.fields["max_bytes"].initial = settings.DEMOS_DEFAULT_MAX_BYTES
        self.fields["max_pixels"].initial = settings.DEMOS_DEFAULT_MAX_PIXELS

    def clean_service_url(self) -> str:
        return check_service_url(self.cleaned_data["service_url"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("max_bytes", "max_pixels", "max_video_seconds"):
            value = data.get(name)
            if value is not None and value <= 0:
                self.add_error(name, _("Must be more than zero."))
        kind = data.get("kind")
        limit = (
            settings.DEMOS_MAX_VIDEO_BYTES
            if kind == DemoKind.EXERCISE
            else settings.DEMOS_MAX_IMAGE_BYTES
        )
        if data.get("max_bytes") and data["max_bytes"] > limit:
            self.add_error("max_bytes", _("At most %(limit)s bytes.") % {"limit": limit})
        if data.get("max_pixels") and data["max_pixels"] > settings.DEMOS_MAX_PIXELS:
            self.add_error(
                "max_pixels", _("At most %(limit)s pixels.") % {"limit": settings.DEMOS_MAX_PIXELS}
            )
        if data.get("max_video_seconds") and data["max_video_seconds"] > 600:
            self.add_error("max_video_seconds", _("At most 600 seconds."))
        return data


class SampleForm(forms.ModelForm):
    class Meta:
        model = DemoSample
        fields = ["file", "title", "source_note"]

    def clean_file(self) -> Any:
        file = self.cleaned_data["file"]
        if file.size > settings.DEMOS_MAX_VIDEO_BYTES:
            raise forms.ValidationError(_("The file is too large."))
        return file


class TryForm(forms.Form):
    file = forms.FileField(label=_("Your file"))
