"""The one rule for text that can end up in an email header.

A subject, a name or an address is one line of visible text. A line break in it could
add a header (`Bcc:` injection) or, worse for a bulk sender, make the mail library raise
halfway through a batch. So every model field whose value can reach a header carries
`validate_header_text`, and forms, the API, the CSV import and the admin all refuse the
same characters with the same message; the composer refuses them again when it builds a
message, for rows written before the rule.

Refused: every control character (Unicode category Cc: NUL, CR, LF, TAB, ESC, DEL, the
C1 range with NEL…), the line and paragraph separators (Zl, Zp) and lone surrogates
(Cs, which no database stores). TAB is refused too: in a header it is folding
whitespace, in a name or a subject it is a paste accident. Format characters (Cf, such
as the zero-width joiner inside an emoji or a right-to-left mark) stay allowed.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# Exactly the code points of categories Cc, Zl, Zp and Cs (the categories are fixed).
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

_LINE_BREAK = gettext_noop("a line break")
_NAMED = {
    "\x00": gettext_noop("NUL"),
    "\t": gettext_noop("a tab"),
    **dict.fromkeys("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", _LINE_BREAK),
}


def first_refused_character(value: str) -> str | None:
    """What makes `value` unfit for a header, in words ("a line break", "U+0007", in
    the active language), or None when it is fit."""
    match = _REFUSED.search(value)
    if match is None:
        return None
    named = _NAMED.get(match.group())
    return _(named) if named else f"U+{ord(match.group()):04X}"


@deconstructible
class HeaderTextValidator:
    """Refuses line breaks and other control characters (see the module docstring)."""

    code = "header_control_character"

    def __call__(self, value: object) -> None:
        found = first_refused_character(str(value))
        if found is not None:
            raise ValidationError(
                _(
                    "Must be one line of text: line breaks, tabs and other control "
                    "characters are not allowed (found %(found)s)."
                ),
                code=self.code,
                params={"found": found},
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HeaderTextValidator)

    def __hash__(self) -> int:
        return hash(self.code)


validate_header_text = HeaderTextValidator()


@deconstructible
class MultilineTextValidator:
    """Text of several lines (a postal address): what `validate_header_text` refuses,
    except the line breaks LF and CR (a browser sends CRLF)."""

    code = "control_character"

    def __call__(self, value: object) -> None:
        found = first_refused_character(str(value).replace("\r", "").replace("\n", ""))
        if found is not None:
            raise ValidationError(
                _("Control characters are not allowed (found %(found)s)."),
                code=self.code,
                params={"found": found},
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultilineTextValidator)

    def __hash__(self) -> int:
        return hash(self.code)


validate_multiline_text = MultilineTextValidator()
