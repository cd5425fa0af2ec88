"""The report's form: the days it covers and the period it groups them by. Input checks
only; a bad value is a field error, never a half-built report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from lavka.marketplace.reports.selectors import Grain

DEFAULT_DAYS = 30
# The longest range per grain: a year of days, five years of weeks or months, so a page
# never holds more than a few hundred periods.
MAX_DAYS: dict[str, int] = {"day": 366, "week": 5 * 366, "month": 5 * 366}
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)
MAX_INPUT_LENGTH = 32


class BoundedDateField(forms.DateField):
    """A date written as YYYY-MM-DD; anything long or with control characters is
    refused before parsing, and dates outside 2000 to 2999 are refused with a clear
    message (the time-zone arithmetic of year 1 overflows)."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    input_formats = ["%Y-%m-%d"]

    def to_python(self, value: Any) -> date | None:
        if isinstance(value, str) and (
            len(value) > MAX_INPUT_LENGTH or any(ord(ch) < 32 for ch in value)
        ):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValidationError(
                _("Give a date between %(earliest)s and %(latest)s."),
                code="out_of_range",
                params={"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
            )


class ReportForm(forms.Form):
    date_from = BoundedDateField(label=pgettext_lazy("date range", "From"))
    date_to = BoundedDateField(label=pgettext_lazy("date range", "To"))
    grain = forms.ChoiceField(
        label=_("Group by"),
        choices=[("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
    )

    @classmethod
    def for_query(cls, query: Any, *, today: date) -> ReportForm:
        """Bound to the query string, a missing value taking its default (the last 30
        days, by day); a value given empty is an error, not a silent default."""
        data = {
            "date_from": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "date_to": today.isoformat(),
            "grain": "day",
        }
        for name in data:
            if name in query:
                data[name] = query.get(name)
        return cls(data)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        grain = cleaned.get("grain")
        if date_from is None or date_to is None:
            return cleaned
        if date_to < date_from:
            self.add_error("date_to", _("The end comes before the start: swap the dates."))
        elif grain in MAX_DAYS and (date_to - date_from).days + 1 > MAX_DAYS[grain]:
            if grain == "day":
                message = _(
                    "Too long a range to group by day: at most %(days)d days. Choose a "
                    "shorter range or group by week or month."
                )
            else:
                message = _("Too long a range: at most %(days)d days (five years).")
            self.add_error(
                "date_to",
                ValidationError(message, code="too_long", params={"days": MAX_DAYS[grain]}),
            )
        return cleaned

    @property
    def grain_value(self) -> Grain:
        grain: Grain = self.cleaned_data["grain"]
        return grain
