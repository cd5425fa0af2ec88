"""Invoice downloads: the customer's from their order page, staff's from the staff order
page. Unpaid orders have no invoice and someone else's order is not there: both 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from lavka.core.decorators import permission_required
from lavka.marketplace.invoices import pdf, selectors
from lavka.marketplace.models import Invoice

staff_only = permission_required("marketplace.view_order")


def _pdf_response(request: HttpRequest, invoice: Invoice, back_to: str) -> HttpResponse:
    try:
        content = pdf.render(invoice)
    except pdf.InvoiceUnavailable:
        messages.error(request, _("The invoice cannot be made right now; try again later."))
        return redirect(back_to, pk=invoice.order_id)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.filename}"'
    return response


@never_cache
@login_required
def order_invoice(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.own_invoice(request.user, pk)
    if invoice is None:
        raise Http404
    return _pdf_response(request, invoice, "marketplace:order_detail")


@never_cache
@staff_only
def staff_order_invoice(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.staff_invoice(request.user, pk)
    if invoice is None:
        raise Http404
    return _pdf_response(request, invoice, "marketplace:staff_order_detail")
