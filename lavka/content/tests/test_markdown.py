from __future__ import annotations

import pytest

from lavka.content import services
from lavka.content.models import TextBlock


def test_markdown_is_rendered_to_html() -> None:
    html = services.render_markdown("# Title\n\nSome **bold** and a [link](https://example.com).")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src="x.png" onerror="alert(1)">', "onerror"),
        ("[click](javascript:alert(1))", "javascript:"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<iframe src="https://evil.example"></iframe>', "<iframe"),
        ('<p style="position:fixed">x</p>', "style="),
        ("<svg onload=alert(1)>", "onload"),
    ],
)
def test_markdown_html_is_sanitised(markdown: str, forbidden: str) -> None:
    assert forbidden not in services.render_markdown(markdown).lower()


@pytest.mark.django_db
def test_saving_a_text_block_stores_its_sanitised_html() -> None:
    block = services.save_block(
        block=TextBlock(title="Notes", body="Hello <script>x()</script> *world*")
    )
    block.refresh_from_db()
    assert block.kind == "text"
    assert "<em>world</em>" in block.rendered_html
    assert "<script" not in block.rendered_html
