"""Exporting recipients as CSV that spreadsheet programs open safely."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator

from lavka.campaigns.csv_io import COLUMNS, FORMULA_PREFIXES
from lavka.campaigns.models import Recipient


def guard_cell(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; an apostrophe stops it."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def export_rows(recipients: Iterable[Recipient]) -> Iterator[list[str]]:
    yield list(COLUMNS)
    for recipient in recipients:
        yield [
            guard_cell(value)
            for value in (
                recipient.email,
                recipient.full_name,
                str(recipient.phone or ""),
                str(recipient.country.code or "") if recipient.country else "",
                recipient.comment,
            )
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_csv_lines(recipients: Iterable[Recipient]) -> Iterator[str]:
    """UTF-8 CSV lines for a streaming response; the BOM lets Excel read Cyrillic names."""
    writer = csv.writer(_Echo())
    yield codecs.BOM_UTF8.decode("utf-8")
    for row in export_rows(recipients):
        yield writer.writerow(row)
