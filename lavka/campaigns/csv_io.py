"""Reading a CSV file of recipients and planning its import.

`plan_import` reads an uploaded file and says, line by line, what importing it would do;
it writes nothing. The steps as the owner takes them (preview, confirm) are in
`importing.py`; the background job that writes the plan in batches is in
`import_batches.py`; the export is in `csv_export.py`.

Decisions: an email already among the owner's recipients updates that recipient (cells
left empty keep the stored value); an email repeated in the file is taken from its last
line and the earlier lines are reported as replaced; columns other than the five known
ones are ignored and named in the preview.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django_countries import countries
from phonenumber_field.phonenumber import to_python as to_phone_number

from lavka.accounts.models import User
from lavka.campaigns.models import Recipient
from lavka.campaigns.services import normalize_email
from lavka.core.csv_export import FORMULA_PREFIXES
from lavka.core.validators import first_refused_character

COLUMNS = ("email", "full_name", "phone", "country", "comment")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BATCH = 500


class ImportRefused(Exception):
    """The whole file is refused: not CSV, too large, unknown encoding, no email column."""


class Action:
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REPLACED = "replaced"
    REJECT = "reject"


@dataclass
class PlannedRow:
    line: int
    email: str
    action: str = Action.CREATE
    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    replaced_by: int | None = None


@dataclass
class ImportPlan:
    rows: list[PlannedRow]
    columns: list[str]
    ignored_columns: list[str]
    existing: dict[str, Recipient] = field(default_factory=dict, repr=False)

    def of(self, action: str) -> list[PlannedRow]:
        return [row for row in self.rows if row.action == action]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(
            (Action.CREATE, Action.UPDATE, Action.UNCHANGED, Action.REPLACED, Action.REJECT), 0
        )
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def importable(self) -> bool:
        return any(
            row.action in {Action.CREATE, Action.UPDATE, Action.UNCHANGED} for row in self.rows
        )

    def fingerprint(self) -> str:
        shape = [[row.line, row.action, row.email, sorted(row.values.items())] for row in self.rows]
        return hashlib.sha256(json.dumps(shape, ensure_ascii=False).encode()).hexdigest()


# --- reading a file -------------------------------------------------------------------


def decode_upload(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), Windows-1251, or UTF-16 with its BOM
    (Excel's "Unicode text", tab-separated); binary is refused."""
    limit = settings.CAMPAIGNS_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise ImportRefused(
            _("The file is larger than %(limit)s KB; split it into smaller files.")
            % {"limit": limit // 1024}
        )
    if not data.strip():
        raise ImportRefused(_("The file is empty."))
    not_csv = _("This is not a CSV file. Save the table as CSV (comma-separated values).")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")  # the BOM tells the byte order and is dropped
        except UnicodeDecodeError:
            raise ImportRefused(not_csv) from None
        if _CONTROL_CHARACTERS.search(text):
            raise ImportRefused(not_csv)
        return text
    if b"\x00" in data:
        raise ImportRefused(not_csv)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError:
            raise ImportRefused(
                _("The file is neither UTF-8 nor Windows-1251 text. Save it as UTF-8 CSV.")
            ) from None
    if _CONTROL_CHARACTERS.search(text):
        raise ImportRefused(not_csv)
    return text


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unguard(cell: str) -> str:
    """Undo the export's formula guard, so an exported list imports back unchanged."""
    cell = cell.strip()
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_PREFIXES:
        return cell[1:]
    return cell


def _column_name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lstrip("\ufeff").strip().lower())


@functools.cache
def _country_codes() -> frozenset[str]:
    """Built once: iterating the countries costs more than all else a line needs."""
    return frozenset(str(code) for code, _name in countries)


def _clean_country(value: str) -> str:
    if value.upper() in _country_codes():
        return value.upper()
    code = countries.by_name(value)
    if not code:
        raise ValidationError(_("Unknown country “%(value)s”.") % {"value": value})
    return str(code)


def _clean_row(cells: dict[str, str]) -> tuple[str, dict[str, str], list[str]]:
    errors: list[str] = []
    email = normalize_email(cells.get("email", ""))
    if not email:
        errors.append(_("The email is missing."))
    else:
        try:
            validate_email(email)
            if len(email) > 254:
                raise ValidationError("too long")
        except ValidationError:
            errors.append(_("“%(email)s” is not a valid email address.") % {"email": email})
    values: dict[str, str] = {}
    full_name = cells.get("full_name", "")
    if len(full_name) > 200:
        errors.append(_("The full name is longer than 200 characters."))
    elif found := first_refused_character(full_name):
        # a quoted cell may hold a line break; a name goes into subjects, so one line
        errors.append(
            _("The full name must be one line, without control characters (found %(found)s).")
            % {"found": found}
        )
    elif full_name:
        values["full_name"] = full_name
    country = cells.get("country", "")
    if country:
        try:
            values["country"] = _clean_country(country)
        except ValidationError as exc:
            errors.extend(exc.messages)
    phone = cells.get("phone", "")
    if phone:
        number = to_phone_number(phone, region=values.get("country") or None)
        if number is None or not number.is_valid():
            errors.append(
                _("“%(phone)s” is not a valid phone number; use the international form, +49…")
                % {"phone": phone}
            )
        else:
            values["phone"] = str(number.as_e164)
    if cells.get("comment"):
        values["comment"] = cells["comment"]
    return email, values, errors


def existing_recipients(owner: User, emails: Iterable[str]) -> dict[str, Recipient]:
    wanted = sorted(set(emails))
    found: dict[str, Recipient] = {}
    for start in range(0, len(wanted), _BATCH):
        batch = wanted[start : start + _BATCH]
        matches = (
            Recipient.objects.filter(owner=owner)
            .annotate(email_lower=Lower("email"))
            .filter(email_lower__in=batch)
        )
        for recipient in matches:
            found[recipient.email.lower()] = recipient
    return found


def _current_value(recipient: Recipient, name: str) -> str:
    value = getattr(recipient, name)
    return str(value or "")


@dataclass(frozen=True)
class Line:
    """One non-blank line of the file after the header: its cells by column, or why it
    cannot be read."""

    line: int
    cells: dict[str, str] | None
    error: str = ""


@dataclass(frozen=True)
class FileShape:
    columns: list[str]
    ignored_columns: list[str]


def read_lines(text: str) -> tuple[FileShape, Iterator[Line]]:
    """The file's columns and its lines, read lazily, so a job can skip the lines it
    already imported without checking them again. Raises ImportRefused for the header."""
    stream = io.StringIO(text, newline="")
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(stream, delimiter=_delimiter(first_line), strict=True)
    try:
        header = [_column_name(cell) for cell in next(reader)]
    except (csv.Error, StopIteration):
        header = []
    if "email" not in header:
        raise ImportRefused(
            _(
                "The first line must name the columns, and one of them must be “email” "
                "(optional: full_name, phone, country, comment)."
            )
        )
    # Counted once: header.count() per column is quadratic, and a 5 MB first line holds
    # hundreds of thousands of names.
    duplicated = sorted(name for name, n in Counter(header).items() if name and n > 1)
    if duplicated:
        raise ImportRefused(
            _("The column %(names)s appears more than once.") % {"names": ", ".join(duplicated)}
        )
    shape = FileShape(
        columns=[name for name in header if name in COLUMNS],
        ignored_columns=[name for name in header if name not in COLUMNS and name],
    )
    return shape, _lines(reader, header)


def _lines(reader: Any, header: list[str]) -> Iterator[Line]:
    previous_line = reader.line_num
    while True:
        start = previous_line + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            previous_line = reader.line_num
            yield Line(start, None, _("Malformed line: %(reason)s.") % {"reason": exc})
            continue
        previous_line = reader.line_num
        if not record or not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            yield Line(
                start,
                None,
                _("Expected %(expected)d columns, found %(found)d.")
                % {"expected": len(header), "found": len(record)},
            )
            continue
        yield Line(
            start,
            {
                name: _unguard(cell)
                for name, cell in zip(header, record, strict=True)
                if name in COLUMNS
            },
        )


def check_line(line: Line) -> PlannedRow:
    """A line's cleaned values, or its errors; CREATE until compared with what is stored."""
    if line.cells is None:
        return PlannedRow(line=line.line, email="", action=Action.REJECT, errors=[line.error])
    email, values, errors = _clean_row(line.cells)
    return PlannedRow(
        line=line.line,
        email=email,
        action=Action.REJECT if errors else Action.CREATE,
        values=values,
        errors=errors,
    )


def compare_with_stored(row: PlannedRow, current: Recipient | None) -> str:
    """What writing a usable line does to what is stored now (CREATE, UPDATE or
    UNCHANGED); sets `row.changed`."""
    if current is None:
        row.changed = []
        return Action.CREATE
    row.changed = [
        name for name, value in row.values.items() if _current_value(current, name) != value
    ]
    return Action.UPDATE if row.changed else Action.UNCHANGED


def plan_import(*, owner: User, text: str) -> ImportPlan:
    """What importing `text` for `owner` would do, line by line. Writes nothing."""
    shape, lines = read_lines(text)
    rows = [check_line(line) for line in lines]
    last_line_of: dict[str, int] = {}
    for row in rows:
        if row.action != Action.REJECT:
            last_line_of[row.email] = row.line
    existing = existing_recipients(owner, last_line_of)
    for row in rows:
        if row.action == Action.REJECT:
            continue
        if last_line_of[row.email] != row.line:
            row.action, row.replaced_by = Action.REPLACED, last_line_of[row.email]
        else:
            row.action = compare_with_stored(row, existing.get(row.email))
    return ImportPlan(
        rows=rows,
        columns=shape.columns,
        ignored_columns=shape.ignored_columns,
        existing=existing,
    )
