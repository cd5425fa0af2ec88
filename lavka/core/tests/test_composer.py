"""Every email is built by the composer (lavka/core/composer.py)."""

from __future__ import annotations

from lavka.core.composer import compose, header_safe, message_id


def test_a_subject_or_name_with_line_breaks_or_nul_becomes_one_line():
    message = compose(
        to="Eve\r\nBcc: victim@example.com <eve@example.com>",
        subject="Hello\r\nBcc: evil@example.com\x00 and\u2028more",
        text_body="Body\r\nkeeps its lines",
        headers={"X-Note": "one\ntwo", "List-Unsubscribe": "<https://example.com/u/1>"},
    )

    raw = message.message()
    assert raw["Subject"] == "Hello Bcc: evil@example.com and more"
    assert "\n" not in str(raw["To"]) and "\r" not in str(raw["To"])
    assert raw["Bcc"] is None
    assert raw["X-Note"] == "one two"
    assert raw["List-Unsubscribe"] == "<https://example.com/u/1>"
    assert message.body == "Body\r\nkeeps its lines"


def test_header_safe_keeps_ordinary_text_and_trims():
    assert header_safe("  Привет, мир  ") == "Привет, мир"
    assert header_safe("a\r\n\r\nb\x00c") == "a b c"


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
