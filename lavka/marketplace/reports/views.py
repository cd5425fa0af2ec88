"""Sales report pages: staff see the whole shop, a creator their own sales. Thin: the
form checks the input, the actions decide between counting now and preparing the report
in the background (a large range), the selectors count, charts draws."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from lavka.core import file_views, prepared_files
from lavka.core.csv_export import streaming_csv_response
from lavka.core.decorators import permission_required
from lavka.core.models import PreparedFile
from lavka.marketplace.reports import actions, charts, selectors
from lavka.marketplace.reports.forms import ReportForm

staff_only = permission_required("marketplace.view_order")
creators_only = permission_required(
    "marketplace.add_product", denied_template="accounts/for_creators.html"
)


def _owner_zone(request: HttpRequest, audience: actions.Audience) -> str:
    """Days are the owner's: the shop's time zone for the whole shop (every manager
    sees the same days, as the invoices' years), the creator's own for their sales."""
    if audience == "staff":
        return str(settings.TIME_ZONE)
    return str(getattr(request.user, "time_zone", "") or settings.TIME_ZONE)


def _form(request: HttpRequest, audience: actions.Audience) -> ReportForm:
    today = timezone.localdate(timezone=ZoneInfo(_owner_zone(request, audience)))
    return ReportForm.for_query(request.GET, today=today)


def _period_label(grain: str, numbers: selectors.PeriodNumbers) -> str:
    """ISO dates: unambiguous in both languages, and cheap for a year of days."""
    return numbers.start.isoformat()[:7] if grain == "month" else numbers.start.isoformat()


def money_formatter() -> Callable[[Decimal | None, str], str]:
    """`rendering.format_price`, with the active language's separators looked up once
    rather than per amount (a year by day shows some three thousand amounts)."""
    decimal_separator = str(formats.get_format("DECIMAL_SEPARATOR"))
    thousand_separator = str(formats.get_format("THOUSAND_SEPARATOR"))
    grouped = settings.USE_THOUSAND_SEPARATOR

    def money(amount: Decimal | None, currency: str) -> str:
        if amount is None:
            return ""
        text = f"{amount:,.2f}" if grouped else f"{amount:.2f}"
        text = text.replace(",", chr(0)).replace(".", decimal_separator)
        return f"{text.replace(chr(0), thousand_separator)}\u00a0{currency}"

    return money


def _table_rows(
    section: selectors.CurrencyReport,
    labels: list[str],
    money: Callable[[Decimal | None, str], str],
) -> SafeString:
    """The period table's rows, built here rather than by the template engine, which
    takes most of a second for a year by day; every cell is escaped."""
    currency = section.currency
    rows = []
    for label, numbers in zip(labels, section.periods, strict=True):
        cells = (
            money(numbers.revenue, currency),
            str(numbers.orders),
            money(numbers.average_order, currency) or "\u2014",
            str(numbers.refunds),
            money(numbers.refunded, currency),
            str(numbers.donations),
            money(numbers.donated, currency),
        )
        rows.append(
            f'<tr data-testid="report-period" data-start="{numbers.start.isoformat()}">'
            f'<th scope="row">{escape(label)}</th>'
            + "".join(f"<td>{escape(cell)}</td>" for cell in cells)
            + "</tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308


def _charts(report: selectors.Report) -> list[dict[str, Any]]:
    money = money_formatter()
    sections = []
    for index, section in enumerate(report.currencies):
        labels = [_period_label(report.grain, numbers) for numbers in section.periods]
        texts = {
            "start": report.date_from.isoformat(),
            "end": report.date_to.isoformat(),
            "currency": section.currency,
        }
        revenue = charts.bar_chart(
            chart_id=f"revenue-{index}",
            title=_("Revenue per period, %(currency)s") % texts,
            description=_("Revenue of paid orders from %(start)s to %(end)s, in %(currency)s.")
            % texts,
            bars=[
                charts.Bar(label, numbers.revenue, money(numbers.revenue, section.currency))
                for label, numbers in zip(labels, section.periods, strict=True)
            ],
            axis_label=section.currency,
        )
        orders = charts.bar_chart(
            chart_id=f"orders-{index}",
            title=_("Orders per period, %(currency)s") % texts,
            description=_("Number of paid orders in %(currency)s from %(start)s to %(end)s.")
            % texts,
            bars=[
                charts.Bar(label, numbers.orders, str(numbers.orders))
                for label, numbers in zip(labels, section.periods, strict=True)
            ],
            axis_label=_("orders"),
        )
        sections.append(
            {
                "report": section,
                "revenue_chart": revenue,
                "orders_chart": orders,
                "table_rows": _table_rows(section, labels, money),
            }
        )
    return sections


def _wanted(form: ReportForm, audience: actions.Audience, zone: str) -> actions.Wanted:
    data = form.cleaned_data
    return actions.Wanted(
        audience=audience,
        date_from=data["date_from"],
        date_to=data["date_to"],
        grain=form.grain_value,
        time_zone=zone,
    )


def _csv_url(csv_route: str, wanted: actions.Wanted) -> str:
    query = {
        "date_from": wanted.date_from.isoformat(),
        "date_to": wanted.date_to.isoformat(),
        "grain": wanted.grain,
    }
    return reverse(csv_route) + "?" + urlencode(query)


def _prepared_id(value: str) -> int | None:
    """The `prepared` query value as a job id; anything else is no id (404)."""
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        return None
    return int(value)


def _prepared_page(
    request: HttpRequest, audience: actions.Audience, *, title: str, csv_route: str
) -> HttpResponse:
    """A report page prepared in the background: its progress, then the report."""
    pk = _prepared_id(request.GET.get("prepared", ""))
    found = actions.prepared_report(request.user, pk, audience) if pk else None
    if found is None:
        raise Http404
    form = ReportForm(
        {
            "date_from": found.wanted.date_from.isoformat(),
            "date_to": found.wanted.date_to.isoformat(),
            "grain": found.wanted.grain,
        }
    )
    context: dict[str, Any] = {
        "form": form,
        "title": title,
        "sections": None,
        "prepared": found.prepared,
        "prepared_failed": found.failed,
        "report_zone": found.wanted.time_zone,
        "csv_url": _csv_url(csv_route, found.wanted),
    }
    if found.report is not None:
        context.update(report=found.report, sections=_charts(found.report))
    return render(request, "marketplace/reports/report.html", context)


def _page(
    request: HttpRequest, audience: actions.Audience, *, title: str, csv_route: str
) -> HttpResponseBase:
    if "prepared" in request.GET:
        return _prepared_page(request, audience, title=title, csv_route=csv_route)
    form = _form(request, audience)
    context: dict[str, Any] = {
        "form": form,
        "title": title,
        "sections": None,
        "report_zone": _owner_zone(request, audience),
    }
    if form.is_valid():
        wanted = _wanted(form, audience, _owner_zone(request, audience))
        try:
            outcome = actions.report_or_job(request.user, wanted)
        except prepared_files.TooManyFiles:
            return file_views.too_many_files(request)
        if isinstance(outcome, PreparedFile):
            return redirect(request.path + "?" + urlencode({"prepared": outcome.pk}))
        context.update(
            report=outcome, sections=_charts(outcome), csv_url=_csv_url(csv_route, wanted)
        )
    return render(request, "marketplace/reports/report.html", context)


def _csv(request: HttpRequest, audience: actions.Audience) -> HttpResponseBase:
    form = _form(request, audience)
    if not form.is_valid():
        errors = "; ".join(
            f"{field}: {' '.join(str(m) for m in messages)}"
            for field, messages in form.errors.items()
        )
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    wanted = _wanted(form, audience, _owner_zone(request, audience))
    try:
        outcome = actions.csv_or_job(request.user, wanted)
    except prepared_files.TooManyFiles:
        return file_views.too_many_files(request)
    if isinstance(outcome, PreparedFile):
        return redirect("prepared_file", pk=outcome.pk)
    return streaming_csv_response(outcome, filename=wanted.filename("csv"))


@staff_only
def staff_report(request: HttpRequest) -> HttpResponseBase:
    return _page(
        request,
        "staff",
        title=_("Sales report"),
        csv_route="marketplace:staff_report_csv",
    )


@staff_only
def staff_report_csv(request: HttpRequest) -> HttpResponseBase:
    return _csv(request, "staff")


@creators_only
def creator_report(request: HttpRequest) -> HttpResponseBase:
    return _page(
        request,
        "creator",
        title=_("My sales report"),
        csv_route="marketplace:creator_report_csv",
    )


@creators_only
def creator_report_csv(request: HttpRequest) -> HttpResponseBase:
    return _csv(request, "creator")
