"""The prepared files of large sales reports (lavka/core/prepared_files.py): the CSV
download (`marketplace.report_csv`) and the page's numbers as JSON
(`marketplace.report_page`). The check runs when the report is asked for and again in
the worker, with the requester as they are then: a creator's file holds only their own
sales, and a manager who lost the role gets a failed job, not the shop's numbers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError

from lavka.core import prepared_files
from lavka.core.csv_export import Row
from lavka.marketplace.reports import actions, export, selectors
from lavka.marketplace.reports.forms import ReportForm

MAX_ZONE_LENGTH = 64


def _check(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters, checked as the report's form checks them (a reversed or too long
    range, a bad date or grain are refused), a known time zone, and the user's right
    to read the report of that audience."""
    if not isinstance(params, Mapping) or params.get("audience") not in actions.AUDIENCES:
        raise ValidationError("audience must be staff or creator")
    names = ("date_from", "date_to", "grain")
    if not all(isinstance(params.get(name), str) for name in names):
        raise ValidationError("date_from, date_to and grain are required")
    form = ReportForm({name: params[name] for name in names})
    if not form.is_valid():
        raise ValidationError(form.errors.as_text())
    zone = params.get("time_zone")
    try:
        if not isinstance(zone, str) or len(zone) > MAX_ZONE_LENGTH:
            raise ValueError
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValidationError("time_zone must be a known time zone") from None
    wanted = actions.Wanted(
        audience=params["audience"],
        date_from=form.cleaned_data["date_from"],
        date_to=form.cleaned_data["date_to"],
        grain=form.grain_value,
        time_zone=zone,
    )
    actions.scope_for(user, wanted.audience)
    return wanted.as_params()


def _csv_rows(user: Any, params: Mapping[str, Any]) -> Iterator[Row]:
    return export.csv_rows(actions.build_report(user, actions.Wanted.from_params(params)))


def _page_rows(user: Any, params: Mapping[str, Any]) -> Iterator[Row]:
    report = actions.build_report(user, actions.Wanted.from_params(params))
    yield (export.report_json(report),)


def _periods(user: Any, params: Mapping[str, Any]) -> int:
    """The CSV's rows for one currency: a progress bar's measure, no query."""
    wanted = actions.Wanted.from_params(params)
    return sum(
        1 for _start in selectors.period_starts(wanted.date_from, wanted.date_to, wanted.grain)
    )


# The numbers are counted before the first row is written: the job holds its row for
# as long as the task may run (core.prepare_file's soft limit).
REPORT_LEASE_SECONDS = 3600

PRODUCERS = (
    prepared_files.Producer(
        name=actions.REPORT_CSV,
        check=_check,
        count=_periods,
        rows=_csv_rows,
        lease_seconds=REPORT_LEASE_SECONDS,
    ),
    prepared_files.Producer(
        name=actions.REPORT_PAGE,
        check=_check,
        count=lambda user, params: 1,
        rows=_page_rows,
        write=export.write_json,
        suffix="json",
        content_type="application/json",
        lease_seconds=REPORT_LEASE_SECONDS,
    ),
)


def register_all() -> None:
    for producer in PRODUCERS:
        prepared_files.register(producer)
