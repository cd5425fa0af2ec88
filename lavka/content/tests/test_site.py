from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from lavka.content import counting, services
from lavka.content.models import Block, VideoBlock
from lavka.content.storage import store_upload
from lavka.content.tests import media
from lavka.content.tests.factories import (
    AudioBlockFactory,
    PageBlockFactory,
    PageFactory,
    TextBlockFactory,
    VideoBlockFactory,
)

pytestmark = pytest.mark.django_db


def page_url(page: Any) -> str:
    return reverse("content:page_detail", args=[page.slug])


def test_page_renders_players_subtitles_transcript_and_text(
    client: Client, media_root: Path
) -> None:
    # given a page with a stored video and SRT subtitles, an audio URL and a text block
    video_file = store_upload(SimpleUploadedFile("clip.mp4", media.mp4_bytes()), kind="video")
    subtitles = store_upload(SimpleUploadedFile("c.srt", media.SRT_TEXT.encode()), kind="subtitles")
    services.process_stored_file(stored_file_id=subtitles.pk)
    subtitles.refresh_from_db()
    video = services.save_block(
        block=VideoBlock(title="The clip", video_file=video_file, subtitles_file=subtitles)
    )
    audio = AudioBlockFactory(title="The talk", transcript="Every word\n\nof it.")
    text = services.save_block(block=TextBlockFactory.build(title="Notes", body="Some **bold**"))
    page = PageFactory(title="Demo", slug="demo")
    for position, block in enumerate([video, audio, text]):
        services.add_block(page=page, block=block, position=position)
    # when the page is opened
    response = client.get(page_url(page))
    # then each block is shown with its player, in order
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<source src="{video_file.file.url}" type="video/mp4">' in html
    assert f'<track kind="subtitles" src="{subtitles.webvtt.file.url}"' in html
    assert subtitles.webvtt.file.url.endswith(".vtt")
    assert f'<source src="{audio.audio_url}">' in html
    assert "<p>Every word</p>" in html
    assert "<strong>bold</strong>" in html
    assert html.index("The clip") < html.index("The talk") < html.index("Notes")


def test_subtitles_url_becomes_the_track(client: Client) -> None:
    block = VideoBlockFactory(subtitles_url="https://subs.example.com/a.vtt")
    link = PageBlockFactory(block=block)
    html = client.get(page_url(link.page)).content.decode()
    assert '<track kind="subtitles" src="https://subs.example.com/a.vtt"' in html


def test_page_view_counts_a_view_for_each_block(client: Client) -> None:
    # given a page of two blocks
    page = PageFactory()
    blocks = [PageBlockFactory(page=page).block, PageBlockFactory(page=page).block]
    # when the page is opened twice and the recorded views are applied
    client.get(page_url(page))
    client.get(page_url(page))
    counting.flush_pending_views()
    # then each block counts two views
    assert [Block.objects.get(pk=b.pk).views for b in blocks] == [2, 2]


def test_page_detail_query_count_does_not_grow_with_blocks(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    def queries_for(page: Any) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page_url(page)).status_code == 200
        return len(captured)

    small, large = PageFactory(), PageFactory()
    for factory in (VideoBlockFactory, AudioBlockFactory, TextBlockFactory):
        PageBlockFactory(page=small, block=factory())
        for _ in range(8):
            PageBlockFactory(page=large, block=factory())
    small_count = queries_for(small)
    assert queries_for(large) == small_count
    assert small_count <= 8


def test_unpublished_page_is_404_for_anonymous_and_customers(
    client: Client, customer: Any, manager: Any
) -> None:
    page = PageFactory(is_published=False, published_at=None)
    assert client.get(page_url(page)).status_code == 404
    client.force_login(customer)
    assert client.get(page_url(page)).status_code == 404


def test_unpublished_page_is_shown_to_staff(client: Client, superuser: Any) -> None:
    page = PageFactory(is_published=False, published_at=None, title="Draft")
    client.force_login(superuser)
    response = client.get(page_url(page))
    assert response.status_code == 200
    assert "Not published" in response.content.decode()


def test_unknown_slug_is_404(client: Client) -> None:
    assert client.get(reverse("content:page_detail", args=["nope"])).status_code == 404


def test_blog_lists_published_pages_newest_first_with_view_totals(client: Client) -> None:
    # given two published pages and a draft, with block views
    now = timezone.now()
    older = PageFactory(title="Older post", published_at=now - timedelta(days=2))
    newer = PageFactory(title="Newer post", published_at=now - timedelta(days=1))
    PageFactory(title="Secret draft", is_published=False, published_at=None)
    shared = TextBlockFactory(views=5)
    PageBlockFactory(page=older, block=shared)
    PageBlockFactory(page=older, block=TextBlockFactory(views=7))
    PageBlockFactory(page=newer, block=shared)
    # when the blog is opened
    response = client.get(reverse("content:blog"))
    # then the published pages are listed newest first with the sum of their block views
    html = response.content.decode()
    assert response.status_code == 200
    assert "Secret draft" not in html
    assert html.index("Newer post") < html.index("Older post")
    totals = [post.total_views for post in response.context["page"].object_list]
    assert totals == [5, 12]


def test_blog_is_paginated(client: Client) -> None:
    for _ in range(12):
        PageFactory()
    first = client.get(reverse("content:blog"))
    second = client.get(reverse("content:blog"), {"page": 2})
    assert len(first.context["page"].object_list) == 10
    assert len(second.context["page"].object_list) == 2
    assert "page=2" in first.content.decode()
    assert client.get(reverse("content:blog"), {"page": "zzz"}).status_code == 200


def test_blog_link_is_in_the_navigation(client: Client) -> None:
    html = client.get(reverse("content:blog")).content.decode()
    assert f'href="{reverse("content:blog")}" data-testid="nav-blog"' in html


def test_blog_query_count_does_not_grow_with_pages(client: Client) -> None:
    for _ in range(3):
        PageBlockFactory()
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("content:blog"))
    for _ in range(7):
        PageBlockFactory()
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("content:blog"))
    assert len(more) == len(few)
