"""Every email is built by the composer (lavka/core/composer.py)."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest

from lavka.core.composer import UnsafeHeader, compose, message_id


@pytest.mark.parametrize(
    ("field", "value", "header", "found"),
    [
        ("subject", "Hello\r\nBcc: evil@example.com", "Subject", "a line break"),
        ("subject", "Hello\x00", "Subject", "NUL"),
        ("subject", "Hello\u2028more", "Subject", "a line break"),
        ("subject", "Tab\there", "Subject", "a tab"),
        ("subject", "Bell\x07", "Subject", "U+0007"),
        ("to", "Eve\r\nBcc: victim@example.com <eve@example.com>", "To", "a line break"),
        ("from_email", "Shop\n <shop@example.com>", "From", "a line break"),
    ],
)
def test_a_header_with_a_line_break_or_control_character_is_refused(field, value, header, found):
    arguments = {"to": "a@example.com", "subject": "Hi", "text_body": "x", field: value}

    with pytest.raises(UnsafeHeader) as refused:
        compose(**arguments)

    assert (refused.value.header, refused.value.found) == (header, found)
    assert str(refused.value) == f"{header} contains {found}"


def test_an_extra_header_with_a_line_break_is_refused():
    with pytest.raises(UnsafeHeader, match="X-Note contains a line break"):
        compose(to="a@example.com", subject="Hi", text_body="x", headers={"X-Note": "one\ntwo"})


def test_ordinary_text_in_headers_and_line_breaks_in_the_body_are_kept():
    message = compose(
        to="a@example.com",
        subject="Привет, мир 👩‍👩‍👧 ‏",
        text_body="Body\r\nkeeps its lines",
        headers={"List-Unsubscribe": "<https://example.com/u/1>"},
    )

    raw = message.message()
    assert str(make_header(decode_header(raw["Subject"]))) == "Привет, мир 👩‍👩‍👧 ‏"
    assert raw["List-Unsubscribe"] == "<https://example.com/u/1>"
    assert message.body == "Body\r\nkeeps its lines"


def test_message_id_is_stable_and_on_lavkas_domain(settings):
    settings.SITE_URL = "https://shop.example.org:8443/lavka"

    first = message_id("delivery", 42)

    assert first == message_id("delivery", 42) == "<lavka-delivery-42@shop.example.org>"
    assert first != message_id("delivery", 43)
    assert first != message_id("test-send", 42)


def test_a_resent_message_keeps_its_message_id(settings):
    settings.DEFAULT_FROM_EMAIL = "Lavka <noreply@example.org>"
    stable = message_id("delivery", 7)

    sent_first = compose(to="a@example.com", subject="Hi", text_body="x", stable_id=stable)
    sent_again = compose(to="a@example.com", subject="Hi", text_body="x", stable_id=stable)

    assert sent_first.message()["Message-ID"] == sent_again.message()["Message-ID"] == stable
    assert sent_first.from_email == "Lavka <noreply@example.org>"


def test_an_html_body_is_attached_as_an_alternative():
    message = compose(to="a@example.com", subject="Hi", text_body="text", html_body="<p>x</p>")

    assert message.alternatives[0][1] == "text/html"
    assert "Message-ID" in message.message()
