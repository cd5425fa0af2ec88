"""Exporting recipients as CSV that spreadsheet programs open safely (the writer is
core's: BOM, formula guard, batching)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lavka.campaigns.csv_io import COLUMNS
from lavka.campaigns.models import Recipient
from lavka.core.csv_export import csv_chunks, guard_cell

__all__ = ["export_csv_lines", "export_rows", "guard_cell"]


def export_rows(recipients: Iterable[Recipient]) -> Iterator[list[str]]:
    yield list(COLUMNS)
    for recipient in recipients:
        yield [
            recipient.email,
            recipient.full_name,
            str(recipient.phone or ""),
            str(recipient.country.code or "") if recipient.country else "",
            recipient.comment,
        ]


def export_csv_lines(recipients: Iterable[Recipient]) -> Iterator[str]:
    """UTF-8 CSV for a streaming response; the BOM lets Excel read Cyrillic names."""
    return csv_chunks(export_rows(recipients))
