"""The one rule for text that can reach an email header (lavka/core/validators.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from lavka.core.validators import first_refused_character, validate_header_text


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("a\nb", "a line break"),
        ("a\rb", "a line break"),
        ("a\u2028b", "a line break"),
        ("a\u2029b", "a line break"),
        ("a\x85b", "a line break"),
        ("a\x0bb", "a line break"),
        ("a\x00b", "NUL"),
        ("a\tb", "a tab"),
        ("a\x7fb", "U+007F"),
        ("a\x9bb", "U+009B"),
        ("a\udc80b", "U+DC80"),
    ],
)
def test_control_characters_line_separators_and_surrogates_are_refused(value, found):
    with pytest.raises(ValidationError) as refused:
        validate_header_text(value)

    assert refused.value.code == "header_control_character"
    assert refused.value.messages == [
        "Must be one line of text: line breaks, tabs and other control characters are "
        f"not allowed (found {found})."
    ]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Anna Smith",
        "Анна Смирнова",
        "O'Brien & Söhne",
        "👩‍👩‍👧 family",
        "\u200fmark",
        "a\u00a0b",
    ],
)
def test_ordinary_text_passes(value):
    validate_header_text(value)
    assert first_refused_character(value) is None


def test_the_message_is_translated():
    with translation.override("ru"), pytest.raises(ValidationError) as refused:
        validate_header_text("a\nb")

    assert "Must be one line" not in refused.value.messages[0]
