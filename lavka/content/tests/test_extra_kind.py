from __future__ import annotations

from django.test import Client
from django.urls import reverse

from lavka.content import blocks
from lavka.content.tests.extra_kind.models import QuoteBlock
from lavka.content.tests.factories import PageBlockFactory, PageFactory, TextBlockFactory


def test_extra_kind_from_the_settings_is_registered() -> None:
    kind = blocks.get_kind("quote")
    assert kind.model is QuoteBlock
    assert kind.template == "content_extra_kind/quote.html"


def test_quote_block_on_a_page_renders_on_the_site(client: Client, db: None) -> None:
    # given a page with a text block and a quote block from the test-only app
    page = PageFactory(slug="quotes")
    PageBlockFactory(page=page, block=TextBlockFactory(title="Intro"), position=0)
    quote = QuoteBlock.objects.create(title="Wisdom", text="Less is more.", author="Mies")
    PageBlockFactory(page=page, block=quote, position=1)
    # when the page is opened
    response = client.get(reverse("content:page_detail", args=["quotes"]))
    # then the quote is rendered with its own template, after the intro
    html = response.content.decode()
    assert response.status_code == 200
    assert quote.kind == "quote"
    assert '<blockquote class="content-quote">' in html
    assert "Less is more." in html
    assert "— Mies" in html
    assert html.index("Intro") < html.index("Wisdom")


def test_blocks_for_page_loads_each_kind_once(db: None, django_assert_num_queries) -> None:
    page = PageFactory()
    for position in range(3):
        PageBlockFactory(page=page, block=TextBlockFactory(), position=position * 2)
        quote = QuoteBlock.objects.create(title=f"Q{position}", text="q")
        PageBlockFactory(page=page, block=quote, position=position * 2 + 1)
    with django_assert_num_queries(3):
        loaded = blocks.blocks_for_page(page)
    assert [type(block).__name__ for block in loaded] == ["TextBlock", "QuoteBlock"] * 3
