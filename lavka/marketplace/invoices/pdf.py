"""An invoice as a PDF: the HTML template `marketplace/invoices/invoice.html` in the
order's language, printed by WeasyPrint with the DejaVu fonts (Cyrillic included).

WeasyPrint needs Pango from the system. Where it cannot load (a laptop without the
libraries) `render` raises `InvoiceUnavailable` with the reason, callers carry on
without the PDF (the "paid" email links to the order page instead), and the system
check `lavka.W001` says so at start-up.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from lavka.marketplace import payments
from lavka.marketplace.models import Invoice

logger = logging.getLogger(__name__)

TEMPLATE = "marketplace/invoices/invoice.html"


class InvoiceUnavailable(Exception):
    """The PDF cannot be made here; the message says why (for the log)."""


@functools.cache
def _weasyprint() -> tuple[Any, str]:
    """The weasyprint module, or None and why it cannot load (tried once a process)."""
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: Pango's libraries are missing
        return None, f"{type(error).__name__}: {error}"
    return weasyprint, ""


def weasyprint_problem() -> str:
    """Why WeasyPrint cannot load here, or "" when it can."""
    return _weasyprint()[1]


def _no_fetching(weasyprint: Any) -> Any:
    """A fetcher that refuses every URL: the template is self-contained, so nothing in
    an invoice reaches out for a file or an address, whatever a product's title says."""

    class NoFetching(weasyprint.urls.URLFetcher):  # type: ignore[misc,name-defined]
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"invoices load no resources ({url[:80]!r})")

    return NoFetching()


def invoice_html(invoice: Invoice) -> str:
    """The invoice's HTML, in the order's language."""
    order = invoice.order
    provider = payments.any_provider(order.payment.provider)
    with translation.override(order.language or "en"):
        context = {
            "invoice": invoice,
            "order": order,
            "lines": list(order.lines.all()),
            "seller": invoice.seller,
            "payment_method": str(provider.label) if provider else order.payment.provider,
            "language": translation.get_language(),
        }
        return render_to_string(TEMPLATE, context)


def render(invoice: Invoice) -> bytes:
    """The invoice as PDF bytes; InvoiceUnavailable when WeasyPrint cannot make it."""
    weasyprint, problem = _weasyprint()
    if weasyprint is None:
        raise InvoiceUnavailable(f"WeasyPrint cannot load: {problem}")
    html = invoice_html(invoice)
    try:
        document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_no_fetching(weasyprint))
        return bytes(document.write_pdf())
    except Exception as error:  # a PDF that cannot be made must not stop an email
        logger.exception("invoice %s: the PDF could not be rendered", invoice.number)
        raise InvoiceUnavailable(f"{type(error).__name__}: {error}") from error
