"""Invoices for the orders paid before invoices existed: numbered per calendar year in the
order they were paid (paid_at, then id), dated on the day of payment, with the seller's
details as the settings give them now (the only ones known). Orders already holding an
invoice are left alone, so running it over a database numbered in part changes nothing
that was issued."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def number_paid_orders(apps, schema_editor):
    Order = apps.get_model("marketplace", "Order")
    Invoice = apps.get_model("marketplace", "Invoice")
    InvoiceCounter = apps.get_model("marketplace", "InvoiceCounter")
    seller = {
        "name": str(settings.LAVKA_SELLER_NAME),
        "address": str(settings.LAVKA_SELLER_ADDRESS),
        "tax_id": str(settings.LAVKA_SELLER_TAX_ID),
        "email": str(settings.LAVKA_SELLER_EMAIL),
    }
    paid = (
        Order.objects.filter(paid_at__isnull=False, invoice__isnull=True)
        .order_by("paid_at", "id")
        .values_list("pk", "paid_at")
    )
    counters = {}
    for order_id, paid_at in paid.iterator(chunk_size=2000):
        day = timezone.localdate(paid_at)
        counter = counters.get(day.year)
        if counter is None:
            counter, _created = InvoiceCounter.objects.get_or_create(year=day.year)
            counters[day.year] = counter
        counter.last_number += 1
        Invoice.objects.create(
            order_id=order_id,
            year=day.year,
            sequence=counter.last_number,
            issued_at=paid_at,
            issue_date=day,
            seller=seller,
        )
    for counter in counters.values():
        counter.save(update_fields=["last_number"])


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0011_invoices"),
    ]

    operations = [
        migrations.RunPython(number_paid_orders, migrations.RunPython.noop),
    ]
