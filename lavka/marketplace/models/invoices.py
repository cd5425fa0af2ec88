"""Invoices of paid orders and the per-year counter that numbers them without gaps."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lavka.marketplace.models.orders import Order


class InvoiceCounter(models.Model):
    """The last invoice number given in a calendar year. Its row is locked by the
    transaction that marks an order paid and issues the invoice, so numbers are taken
    one at a time and a payment rolled back gives its number back with it."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice counter")
        verbose_name_plural = _("invoice counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    """The invoice of one paid order: its number in its year, the day it was issued and
    the seller's details as they were then (`seller`), so changing the settings later
    never rewrites an invoice already sent. The buyer, the lines and the totals are the
    order's own snapshots, written at checkout and never changed."""

    order = models.OneToOneField(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="invoice"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("number in the year"))
    issued_at = models.DateTimeField(_("issued at"))
    issue_date = models.DateField(_("issue date"))
    seller = models.JSONField(_("seller's details"), default=dict)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "sequence"], name="marketplace_invoice_number_once"
            ),
            models.CheckConstraint(
                condition=Q(sequence__gt=0), name="marketplace_invoice_sequence_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """`2026-000017`: the year, then the invoice's place in it."""
        return f"{self.year}-{self.sequence:06d}"

    @property
    def filename(self) -> str:
        return f"invoice-{self.number}.pdf"
