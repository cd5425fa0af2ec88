from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from lavka.campaigns import services
from lavka.campaigns.models import Message
from lavka.campaigns.personalisation import Personalisation, html_to_text, unknown_placeholders


def test_placeholders_are_substituted_and_escaped_in_html():
    personal = Personalisation(
        name="<Bob & Co>", email="bob@example.net", unsubscribe_url="https://x/u/1/"
    )

    html = personal.render_html("<p>Hi {{ name }}, {{email}}</p>")
    text = personal.render_text("Hi {{ name }}")

    assert html == "<p>Hi &lt;Bob &amp; Co&gt;, bob@example.net</p>"
    assert text == "Hi <Bob & Co>"


def test_django_template_code_is_not_executed():
    personal = Personalisation(name="A", email="a@example.net", unsubscribe_url="u")

    assert personal.render_text("{% load static %}{{ name }}") == "{% load static %}A"


def test_unknown_placeholders_are_listed():
    assert unknown_placeholders("{{ name }} {{ first_name }}", "{{ user.password }}") == [
        "first_name",
        "user.password",
    ]


@pytest.mark.django_db
def test_a_message_with_an_unknown_placeholder_is_refused(owner):
    with pytest.raises(ValidationError, match=r"first_name"):
        services.save_message(owner=owner, subject="Hi {{ first_name }}", html_body="<p>x</p>")

    assert not Message.objects.exists()


def test_html_to_text_keeps_paragraphs_lists_and_links():
    text = html_to_text(
        "<html><head><style>p{}</style></head><body><h1>News</h1><p>Read <a href='https://e.x/a'>this</a>.</p>"
        "<ul><li>One</li><li>Two</li></ul><script>alert(1)</script></body></html>"
    )

    assert text == "News\n\nRead this (https://e.x/a).\n\n- One\n- Two"
