"""Export links of the staff lists (keeping the list's filters) and of a creator's
Sales and Donations received pages: a CSV streamed at once, or the page of a file a
worker prepares when the export is large."""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from lavka.core import file_views, prepared_files
from lavka.core.decorators import permission_required
from lavka.marketplace.exports import producers

creators_only = permission_required(
    "marketplace.add_product", denied_template="accounts/for_creators.html"
)


def _export(
    request: HttpRequest, kind: str, stem: str, filters: tuple[str, ...] = ()
) -> HttpResponseBase:
    params = {name: request.GET[name] for name in filters if name in request.GET}
    try:
        return prepared_files.export_response(
            user=request.user, kind=kind, params=params, filename=producers.filename(stem)
        )
    except prepared_files.TooManyFiles:
        return file_views.too_many_files(request)


@require_GET
@permission_required("marketplace.view_order")
def staff_orders_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, producers.STAFF_ORDERS, "orders", ("status", "provider", "q"))


@require_GET
@permission_required("marketplace.view_donation")
def staff_donations_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, producers.STAFF_DONATIONS, "donations", ("status", "creator", "q"))


@require_GET
@creators_only
def sales_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, producers.CREATOR_SALES, "sales")


@require_GET
@creators_only
def donations_received_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, producers.CREATOR_DONATIONS, "donations-received")
