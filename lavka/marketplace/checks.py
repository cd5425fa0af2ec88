"""System checks of the shop's settings (run by `migrate`, `check` and so `make run`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.checks import Warning as CheckWarning

from lavka.marketplace.invoices import pdf


@register()
def stripe_payments_can_be_confirmed(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """With a Stripe key the shop offers card payments, but only signed webhooks mark them
    paid: without the signing secret every card order would wait for payment forever
    while the customer's money is taken."""
    if not settings.STRIPE_SECRET_KEY or settings.STRIPE_WEBHOOK_SECRET:
        return []
    return [
        Error(
            "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: card payments would "
            "be taken but never confirmed.",
            hint="Add a webhook endpoint for /shop/stripe/webhook/ in the Stripe dashboard "
            "and set STRIPE_WEBHOOK_SECRET to its signing secret (whsec_...), or unset "
            "STRIPE_SECRET_KEY to stop offering card payments.",
            id="lavka.E002",
        )
    ]


@register()
def invoices_can_be_rendered(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Without WeasyPrint's system libraries no invoice PDF can be made: the "paid"
    emails still go, linking to the order page instead of carrying the PDF, and
    downloads say to try later. Worth knowing at start-up rather than from a customer."""
    problem = pdf.weasyprint_problem()
    if not problem:
        return []
    return [
        CheckWarning(
            f"Invoice PDFs cannot be made: WeasyPrint does not load ({problem}).",
            hint="Install Pango and the DejaVu fonts (Debian: apt-get install "
            "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core).",
            id="lavka.W001",
        )
    ]
