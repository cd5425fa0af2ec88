"""CSV that spreadsheet programs open safely: the one writer every export uses.

UTF-8 with a byte order mark, so Excel reads Cyrillic as Cyrillic; text cells that a
spreadsheet would run as a formula get an apostrophe in front; money as plain decimals
(`str(Decimal)`, never a float or a locale's format); None as an empty cell. Rows are
written in batches so that a streamed response sends a few kilobytes at a time, not one
tiny chunk per row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.text import get_valid_filename

BOM = "\ufeff"
# A spreadsheet runs a cell starting with these as a formula (tab and carriage return
# too: some programs strip them and then see the "=" behind).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Rows per piece of a streamed response.
BATCH_ROWS = 500

Row = Sequence[Any]


# The same signs in their full-width forms, which some spreadsheets fold to ASCII.
_FORMULA_SIGNS = "=+\\-@\uff1d\uff0b\uff0d\uff20"
# A formula sign at the start, after blanks a spreadsheet may trim first.
_STARTS_FORMULA = re.compile(rf"^(?:[\t\r]|\s*[{_FORMULA_SIGNS}])")
# A spreadsheet set to read ";" as its separator (Russian Excel is) splits a cell there:
# what follows is a cell of its own.
_INNER_FORMULA = re.compile(rf"([;\uff1b]\s*)(?=[{_FORMULA_SIGNS}])")


def guard_cell(value: str) -> str:
    """An apostrophe stops a spreadsheet running the text as a formula: in front of
    the cell, and after a ";" that a semicolon-separated reading would split at."""
    value = _INNER_FORMULA.sub(r"\1'", value)
    return "'" + value if _STARTS_FORMULA.match(value) else value


def cell(value: Any) -> str:
    """One value as its cell's text. Numbers are numbers (a negative amount stays
    "-1.50"); only text is guarded."""
    if value is None:
        return ""
    if isinstance(value, str):
        return guard_cell(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        raise TypeError("CSV exports take money as Decimal, never float")
    return guard_cell(str(value))


def csv_chunks(rows: Iterable[Row], *, batch_rows: int = BATCH_ROWS) -> Iterator[str]:
    """The BOM, then the rows as CSV text, `batch_rows` rows per piece."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield BOM
    pending = 0
    for row in rows:
        writer.writerow([cell(value) for value in row])
        pending += 1
        if pending >= batch_rows:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


def write_csv(rows: Iterable[Row], target: IO[str], *, on_batch: Any = None) -> int:
    """Write the BOM and `rows` to a text file opened with newline=""; returns the rows
    written. `on_batch(rows_so_far)` is called after each batch (progress, leases)."""
    written = 0
    writer = csv.writer(target)
    target.write(BOM)
    for row in rows:
        writer.writerow([cell(value) for value in row])
        written += 1
        if on_batch is not None and written % BATCH_ROWS == 0:
            on_batch(written)
    return written


def safe_filename(name: str, *, default: str = "export.csv") -> str:
    """A download's file name without path parts, quotes or control characters."""
    cleaned = get_valid_filename(name.replace("/", "-").replace("\\", "-")) if name else ""
    return cleaned[:120] or default


def attachment(response: Any, filename: str) -> Any:
    """Set a Content-Disposition that names the file safely (RFC 6266, non-ASCII too)."""
    response["Content-Disposition"] = content_disposition_header(True, safe_filename(filename))
    return response


def streaming_csv_response(rows: Iterable[Row], *, filename: str) -> StreamingHttpResponse:
    """A streamed CSV download of `rows` (the header row first)."""
    response = StreamingHttpResponse(csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return attachment(response, filename)
