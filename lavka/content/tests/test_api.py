"""The content REST API: list and detail shapes, search, ordering, errors, access, queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import F
from django.utils import timezone

from lavka.content import services
from lavka.content.models import Block, Page
from lavka.content.tests.api_pages import API, detail_url, make_page

pytestmark = pytest.mark.django_db


def titles(response: Any) -> list[str]:
    return [item["title"] for item in response.json()["results"]]


def test_page_list_shows_published_pages_linking_to_their_detail(client: Any) -> None:
    # given a published page with views and an unpublished one
    page, made = make_page(title="Lessons")
    make_page(title="Draft", published=False)
    Block.objects.filter(pk__in=[b.pk for b in made]).update(views=F("views") + 2)

    # when an anonymous visitor lists pages
    response = client.get(API)

    # then only the published page is listed, with absolute links and the view total
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["next"] is None
    item = body["results"][0]
    assert set(item) == {
        "id",
        "url",
        "title",
        "slug",
        "summary",
        "published_at",
        "cover_url",
        "views",
    }
    assert item["url"] == f"http://testserver{detail_url(page)}"
    assert item["cover_url"].startswith("http://testserver/media/content/")
    assert item["views"] == 2 * len(made)
    assert item["slug"] == page.slug
    assert client.get(item["url"]).status_code == 200


@pytest.mark.parametrize("number", ["2", "0", "abc", "-1"])
def test_page_list_with_an_invalid_page_number_is_a_json_404(client: Any, number: str) -> None:
    make_page()

    response = client.get(API, {"page": number})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_page_list_paginates_twenty_per_page(client: Any) -> None:
    for number in range(21):
        services.create_page(title=f"Page {number:02d}", is_published=True)

    first = client.get(API).json()
    second = client.get(first["next"]).json()

    assert (first["count"], len(first["results"]), len(second["results"])) == (21, 20, 1)
    assert second["previous"].startswith("http://testserver/api/v1/pages/")


def test_page_list_search_matches_the_start_of_the_title_in_any_case(client: Any) -> None:
    for title in ["Python basics", "python advanced", "Advanced Python", "Pythagoras"]:
        services.create_page(title=title, is_published=True)

    response = client.get(API, {"search": "PYTHON", "ordering": "title"})

    assert titles(response) == ["Python basics", "python advanced"]
    assert titles(client.get(API, {"search": "nothing"})) == []


def test_a_search_with_nul_finds_nothing_instead_of_a_server_error(client: Any) -> None:
    """PostgreSQL refuses NUL in a query: Schemathesis found the 500 (ST101)."""
    services.create_page(title="Python basics", is_published=True)

    response = client.get(API, {"search": "Py\x00"})

    assert response.status_code == 200
    assert titles(response) == []


def test_page_list_orders_by_published_date_title_and_views(client: Any) -> None:
    now = timezone.now()
    specs = [("Beta", 3, 5), ("Alpha", 1, 50), ("Gamma", 2, 0)]
    for title, days_ago, views in specs:
        page, made = make_page(title=title, extra_texts=0)
        Page.objects.filter(pk=page.pk).update(published_at=now - timedelta(days=days_ago))
        Block.objects.filter(pk=made[0].pk).update(views=views)

    assert titles(client.get(API)) == ["Alpha", "Gamma", "Beta"]  # newest first by default
    assert titles(client.get(API, {"ordering": "published_at"})) == ["Beta", "Gamma", "Alpha"]
    assert titles(client.get(API, {"ordering": "-published_at"})) == ["Alpha", "Gamma", "Beta"]
    assert titles(client.get(API, {"ordering": "title"})) == ["Alpha", "Beta", "Gamma"]
    assert titles(client.get(API, {"ordering": "-title"})) == ["Gamma", "Beta", "Alpha"]
    assert titles(client.get(API, {"ordering": "-views"})) == ["Alpha", "Beta", "Gamma"]
    assert titles(client.get(API, {"ordering": "views"})) == ["Gamma", "Beta", "Alpha"]


@pytest.mark.parametrize("ordering", ["slug", "-", "views,title", "--title", "password"])
def test_page_list_with_an_unknown_ordering_is_a_400_at_the_field(
    client: Any, ordering: str
) -> None:
    make_page()

    response = client.get(API, {"ordering": ordering})

    assert response.status_code == 400
    body = response.json()
    assert "published_at" in body["ordering"][0]
    assert body["detail"]


def test_page_detail_shows_the_blocks_in_order_with_their_kind_fields(client: Any) -> None:
    # given a page with a video, an audio and two text blocks, the text moved first
    page, (video, audio, text, second_text) = make_page(extra_texts=1)
    services.reorder_blocks(page=page, block_ids=[text.pk, video.pk, audio.pk, second_text.pk])

    # when the detail is fetched
    response = client.get(detail_url(page))

    # then the blocks come in the page's order, each with its kind's fields
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == page.pk
    assert body["title"] == "Lessons"
    assert body["url"] == f"http://testserver{detail_url(page)}"
    assert body["cover_url"].startswith("http://testserver/media/")
    assert [b["id"] for b in body["blocks"]] == [text.pk, video.pk, audio.pk, second_text.pk]
    assert [b["position"] for b in body["blocks"]] == [0, 1, 2, 3]
    assert [b["kind"] for b in body["blocks"]] == ["text", "video", "audio", "text"]
    first, video_json, audio_json, _second = body["blocks"]
    assert first["title"] == "Notes 0"
    assert first["body"] == "**Step** 0"
    assert first["html"] == "<p><strong>Step</strong> 0</p>"
    assert first["views"] == 0
    assert video_json["video_file"]["url"].startswith("http://testserver/media/content/")
    assert video_json["video_file"]["url"].endswith(".mp4")
    assert video_json["video_file"]["mime_type"] == "video/mp4"
    assert video_json["video_file"]["status"] == "pending"
    assert video_json["subtitles_file"]["url"].endswith(".srt")  # WebVTT once processed
    assert video_json["poster"]["url"].startswith("http://testserver/media/")
    assert video_json["video_url"] == ""
    assert video_json["subtitles_url"] == ""
    assert audio_json["audio_file"] is None
    assert audio_json["audio_url"] == "https://media.example.com/interview.mp3"
    assert audio_json["transcript"].startswith("Q: Why?")
    assert body["views"] == 0


def test_page_detail_shows_the_webvtt_conversion_of_srt_subtitles(client: Any) -> None:
    page, (video, *_rest) = make_page()
    services.process_stored_file(stored_file_id=video.subtitles_file_id)

    body = client.get(detail_url(page)).json()

    subtitles = body["blocks"][0]["subtitles_file"]
    assert subtitles["url"].endswith(".vtt")
    assert subtitles["mime_type"] == "text/vtt"


def test_page_detail_of_an_unknown_id_is_a_json_404(client: Any) -> None:
    response = client.get(detail_url(987654))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_unpublished_page_is_a_404_to_everyone_but_staff(
    client: Any, customer: Any, manager: Any, superuser: Any
) -> None:
    page, _blocks = make_page(published=False)

    assert client.get(detail_url(page)).status_code == 404
    for user in (customer, manager):
        client.force_login(user)
        assert client.get(detail_url(page)).status_code == 404
    client.force_login(superuser)
    response = client.get(detail_url(page))
    assert response.status_code == 200
    assert response.json()["is_published"] is False
    assert client.get(API).json()["count"] == 0  # the list shows published pages only


def test_page_endpoints_refuse_writes(client: Any, superuser: Any) -> None:
    page, _blocks = make_page()
    client.force_login(superuser)

    assert client.post(API, {}, content_type="application/json").status_code == 405
    assert client.delete(detail_url(page)).status_code == 405
    assert client.put(detail_url(page), {}, content_type="application/json").status_code == 405


@pytest.mark.parametrize("extra_texts", [0, 25])
def test_page_detail_query_count_does_not_grow_with_the_blocks(
    client: Any, django_assert_max_num_queries: Any, extra_texts: int
) -> None:
    page, _blocks = make_page(extra_texts=extra_texts)

    # a miss: page, links, cover, one query per kind, the recorded view
    with django_assert_max_num_queries(7):
        assert client.get(detail_url(page)).status_code == 200
    # a hit: page, links (with the counters), the recorded view
    with django_assert_max_num_queries(3):
        assert client.get(detail_url(page)).status_code == 200


def test_page_list_query_count_does_not_grow_with_the_pages(
    client: Any, django_assert_max_num_queries: Any
) -> None:
    for number in range(15):
        make_page(title=f"Page {number}")

    with django_assert_max_num_queries(4):
        assert client.get(API).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(API).status_code == 200
    with django_assert_max_num_queries(2):
        assert client.get(API, {"ordering": "-views"}).status_code == 200


def test_schema_describes_blocks_as_one_of_the_registered_kinds(client: Any) -> None:
    response = client.get("/api/schema/", {"format": "json"})

    schema = response.json()
    block = schema["components"]["schemas"]["Block"]
    assert block["discriminator"]["propertyName"] == "kind"
    assert {"video", "audio", "text"} <= set(block["discriminator"]["mapping"])
    assert "/api/v1/pages/{id}/" in schema["paths"]
    assert "/api/v1/pages/" in schema["paths"]


def test_a_kind_registered_in_the_settings_flows_through_the_api(client: Any) -> None:
    # given a page with a text block and a quote, the kind of the test-only app
    from lavka.content.tests.extra_kind.models import QuoteBlock

    page, (_video, _audio, text) = make_page()
    quote = QuoteBlock.objects.create(title="Wisdom", text="Less is more.", author="Mies")
    services.add_block(page=page, block=quote)

    # when the page is fetched, and the schema
    blocks = client.get(detail_url(page)).json()["blocks"]
    schema = client.get("/api/schema/", {"format": "json"}).json()

    # then the quote comes last with the shared fields and its own, and is documented
    assert blocks[-1] == {
        "id": quote.pk,
        "kind": "quote",
        "title": "Wisdom",
        "views": 0,
        "position": 3,
        "text": "Less is more.",
        "author": "Mies",
    }
    assert blocks[2]["id"] == text.pk
    assert "quote" in schema["components"]["schemas"]["Block"]["discriminator"]["mapping"]
    assert set(schema["components"]["schemas"]["QuoteBlock"]["properties"]) == {
        "id",
        "kind",
        "title",
        "views",
        "position",
        "text",
        "author",
    }
