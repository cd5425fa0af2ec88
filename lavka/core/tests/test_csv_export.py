"""The one CSV writer: what a spreadsheet would run as a formula never reaches it as one."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from lavka.core.csv_export import csv_chunks, guard_cell


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+7 900", "'+7 900"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1+1", "'  =1+1"),  # blanks a spreadsheet trims before reading the sign
        ("\uff1d1+1", "'\uff1d1+1"),  # a full-width equals sign
        # a reading with ";" as the separator (Russian Excel) makes these cells of their own
        ("1 x Mug;=HYPERLINK(A1)", "1 x Mug;'=HYPERLINK(A1)"),
        ("thanks; -2", "thanks; '-2"),
        ("a\uff1b\uff0b1", "a\uff1b'\uff0b1"),
    ],
)
def test_a_formula_anywhere_a_spreadsheet_would_start_a_cell_is_defused(
    text: str, written: str
) -> None:
    assert guard_cell(text) == written


@pytest.mark.parametrize("text", ["2 x Mug; 1 x Book", "a-b", "plain@example.com", "Анна", ""])
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert guard_cell(text) == text


def test_numbers_are_written_as_numbers_and_text_is_guarded_in_the_same_row() -> None:
    text = "".join(csv_chunks([["total", "note"], [Decimal("-1.50"), "=cmd"]]))

    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["total", "note"], ["-1.50", "'=cmd"]]


def test_a_float_is_refused_so_money_never_loses_a_cent() -> None:
    with pytest.raises(TypeError):
        "".join(csv_chunks([[0.1]]))
