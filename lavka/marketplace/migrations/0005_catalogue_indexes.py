"""Indexes of the shop's lists: the default order, and (PostgreSQL) full-text search.

The GIN index is over the expression `models.search_document_sql` builds, the same text
the searches use; SQLite has no such index and searches its folded `search_text`.
"""

from typing import Any

from django.db import migrations, models

SEARCH_INDEX = "marketplace_product_search_gin"


def create_search_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    from lavka.marketplace.models import search_document_sql

    quote = schema_editor.quote_name
    document = search_document_sql(quote)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {quote(SEARCH_INDEX)} "
        f"ON {quote('marketplace_product')} USING gin ({document})"
    )


def drop_search_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(SEARCH_INDEX)}")


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0004_orders_coupons_payments"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="product",
            name="marketplace_is_acti_d1ac8d_idx",
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["archived_at", "-created_at", "-id"], name="marketplace_product_newest"
            ),
        ),
        migrations.RunPython(create_search_index, drop_search_index, elidable=False),
    ]
