"""The small, safe set of placeholders a message may use, and the plain-text fallback.

Placeholders are `{{ name }}`, `{{ email }}` and `{{ unsubscribe_url }}` — plain string
substitution, never user-supplied template code. Anything else in double braces is an
error the owner sees at preview, not a blank in a sent email.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
ALLOWED = ("name", "email", "unsubscribe_url")


class UnknownPlaceholder(ValueError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def unknown_placeholders(*texts: str) -> list[str]:
    found: list[str] = []
    for text in texts:
        for match in PLACEHOLDER.finditer(text or ""):
            name = match.group(1)
            if name not in ALLOWED and name not in found:
                found.append(name)
    return found


def check_placeholders(*texts: str) -> None:
    unknown = unknown_placeholders(*texts)
    if unknown:
        raise UnknownPlaceholder(unknown)


@dataclass(frozen=True)
class Personalisation:
    name: str
    email: str
    unsubscribe_url: str

    def _value(self, key: str) -> str:
        return {"name": self.name, "email": self.email, "unsubscribe_url": self.unsubscribe_url}[
            key
        ]

    def render_text(self, template: str) -> str:
        return PLACEHOLDER.sub(lambda m: self._value(m.group(1)), template)

    def render_html(self, template: str) -> str:
        return PLACEHOLDER.sub(lambda m: html.escape(self._value(m.group(1))), template)


_BLOCK_TAGS = {
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "table",
    "tr",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "hr",
}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str | None] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head", "title"}:
            self.skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head", "title"}:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not href.startswith(("#", "mailto:")):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    """A readable plain-text version of an HTML body, links kept as `text (url)`."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    text = "".join(extractor.parts)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def placeholder_error(*texts: str) -> str:
    """The one message for unknown placeholders in `texts` ("" when there are none);
    forms give it at the field that holds them, the services for the whole message."""
    from django.utils.translation import gettext as _

    unknown = unknown_placeholders(*texts)
    if not unknown:
        return ""
    return _(
        "Unknown placeholder: %(names)s. Use {{ name }}, {{ email }} or {{ unsubscribe_url }}."
    ) % {"names": ", ".join("{{ " + name + " }}" for name in unknown)}
