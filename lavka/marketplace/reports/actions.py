"""What a reader of a sales report may do: see it now, or have it prepared in the
background when its range holds more orders than a request should count
(REPORT_SYNC_MAX_ORDERS, about a second), and come back to the prepared result.

Who may see what is decided here, from the acting user, both when a report is asked for
and when a worker makes it (the producers call `scope_for` again): staff read the whole
shop; a creator reads their own sales only; a manager who lost the role gets nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from lavka.core import prepared_files
from lavka.core.csv_export import Row
from lavka.core.models import PreparedFile
from lavka.core.work import PROBLEM_STATES
from lavka.marketplace.reports import export, selectors
from lavka.marketplace.reports.selectors import GRAINS, Grain

# The kinds of prepared files (lavka/marketplace/reports/producers.py registers them).
REPORT_CSV = "marketplace.report_csv"
REPORT_PAGE = "marketplace.report_page"

Audience = Literal["staff", "creator"]
AUDIENCES: tuple[Audience, ...] = ("staff", "creator")


@dataclass(frozen=True)
class Wanted:
    """The report someone asked for: whose sales, which days, grouped how, in which
    time zone. Stored as a prepared file's parameters."""

    audience: Audience
    date_from: date
    date_to: date
    grain: Grain
    time_zone: str

    def as_params(self) -> dict[str, str]:
        return {
            "audience": self.audience,
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "grain": self.grain,
            "time_zone": self.time_zone,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Wanted:
        """The parameters a producer's check cleaned; anything else is refused."""
        try:
            audience, grain = params["audience"], params["grain"]
            if audience not in AUDIENCES or grain not in GRAINS:
                raise ValueError
            return cls(
                audience=audience,
                date_from=date.fromisoformat(params["date_from"]),
                date_to=date.fromisoformat(params["date_to"]),
                grain=grain,
                time_zone=str(params["time_zone"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ValidationError("not the parameters of a sales report") from None

    def filename(self, suffix: str) -> str:
        stem = "sales-report" if self.audience == "staff" else "my-sales-report"
        return f"{stem}-{self.date_from}-{self.date_to}-{self.grain}.{suffix}"


def scope_for(user: Any, audience: Audience) -> selectors.Scope:
    """Whose sales `user` reads as `audience`; PermissionDenied when they may not. A
    creator without an approved profile (a superuser, say) reads an empty report."""
    if audience == "staff":
        scope = selectors.staff_scope(user)
        if not scope.whole_shop:
            raise PermissionDenied
        return scope
    if not (getattr(user, "is_authenticated", False) and user.has_perm("marketplace.add_product")):
        raise PermissionDenied
    return selectors.creator_scope(user)


def build_report(user: Any, wanted: Wanted) -> selectors.Report:
    """The report, counted now."""
    return selectors.sales_report(
        scope_for(user, wanted.audience),
        date_from=wanted.date_from,
        date_to=wanted.date_to,
        grain=wanted.grain,
        time_zone=wanted.time_zone,
    )


def is_large(user: Any, wanted: Wanted) -> bool:
    """More orders in range than a request counts in about a second."""
    estimate = selectors.orders_in_range(
        scope_for(user, wanted.audience),
        date_from=wanted.date_from,
        date_to=wanted.date_to,
        time_zone=wanted.time_zone,
    )
    return estimate > settings.REPORT_SYNC_MAX_ORDERS


def _prepare(user: Any, kind: str, wanted: Wanted, suffix: str) -> PreparedFile:
    """A job for the report, or the same one still waiting or under way (reloading the
    form does not queue it again); raises prepared_files.TooManyFiles."""
    return prepared_files.request_file(
        user=user, kind=kind, params=wanted.as_params(), filename=wanted.filename(suffix)
    )


def report_or_job(user: Any, wanted: Wanted) -> selectors.Report | PreparedFile:
    """The page's numbers now, or the job that prepares them when the range is large."""
    if is_large(user, wanted):
        return _prepare(user, REPORT_PAGE, wanted, "json")
    return build_report(user, wanted)


def csv_or_job(user: Any, wanted: Wanted) -> Iterator[Row] | PreparedFile:
    """The CSV's rows now, or the job that writes the file when the range is large."""
    if is_large(user, wanted):
        return _prepare(user, REPORT_CSV, wanted, "csv")
    return export.csv_rows(build_report(user, wanted))


@dataclass(frozen=True)
class PreparedReport:
    """A report page prepared in the background: its job, what was asked, and the
    numbers once they are ready."""

    prepared: PreparedFile
    wanted: Wanted
    report: selectors.Report | None

    @property
    def failed(self) -> bool:
        """Failed, or done with its file gone (a worker whose files this web server
        cannot see: PREPARED_FILES_ROOT must be shared)."""
        gone = self.prepared.is_ready and self.report is None
        return self.prepared.state in PROBLEM_STATES or gone


def prepared_report(user: Any, pk: int, audience: Audience) -> PreparedReport | None:
    """The user's own prepared report page of `audience`, or None (someone else's, of
    another kind or audience, expired, or no such id)."""
    scope_for(user, audience)
    prepared = prepared_files.own_file(user, pk)
    if prepared is None or prepared.kind != REPORT_PAGE:
        return None
    try:
        wanted = Wanted.from_params(prepared.params)
    except ValidationError:
        return None
    if wanted.audience != audience:
        return None
    report = None
    path = prepared_files.stored_path(prepared)
    if path is not None:
        with open(path, encoding="utf-8") as source:
            report = export.report_from_json(json.load(source))
    return PreparedReport(prepared=prepared, wanted=wanted, report=report)
