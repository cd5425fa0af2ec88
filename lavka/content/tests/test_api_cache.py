"""Caching of the content API and conditional GET: changes show at once, counters stay live."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.utils.http import http_date

from lavka.content import cache, counting, services
from lavka.content.models import Block, PendingBlockViews, StoredFile, TextBlock, VideoBlock
from lavka.content.tests.api_pages import API, detail_url, make_page, views_of
from lavka.core.tests.support import clear_cache

pytestmark = pytest.mark.django_db


def block_titles(client: Any, page: Any) -> list[str]:
    return [block["title"] for block in client.get(detail_url(page)).json()["blocks"]]


def test_a_repeated_detail_request_is_served_from_the_cache(
    client: Any, django_assert_max_num_queries: Any
) -> None:
    page, _blocks = make_page(extra_texts=3)
    first = client.get(detail_url(page)).json()

    with django_assert_max_num_queries(3):  # page, links with counters, the recorded view
        second = client.get(detail_url(page)).json()

    assert second == first


def test_editing_a_block_shows_in_the_next_detail_response(client: Any) -> None:
    page, (_video, _audio, text) = make_page()
    assert block_titles(client, page)[2] == "Notes 0"

    text = TextBlock.objects.get(pk=text.pk)
    text.title, text.body = "Renamed", "*new*"
    services.save_block(block=text)

    body = client.get(detail_url(page)).json()
    assert body["blocks"][2]["title"] == "Renamed"
    assert body["blocks"][2]["html"] == "<p><em>new</em></p>"


def test_reordering_adding_and_removing_blocks_show_in_the_next_response(client: Any) -> None:
    page, (video, audio, text) = make_page()
    assert block_titles(client, page) == ["Intro video", "Interview", "Notes 0"]

    services.reorder_blocks(page=page, block_ids=[audio.pk, text.pk, video.pk])
    assert block_titles(client, page) == ["Interview", "Notes 0", "Intro video"]

    extra = services.save_block(block=TextBlock(title="Extra", body="more"))
    services.add_block(page=page, block=extra)
    assert block_titles(client, page) == ["Interview", "Notes 0", "Intro video", "Extra"]

    page.page_blocks.filter(block=audio).delete()
    assert block_titles(client, page) == ["Notes 0", "Intro video", "Extra"]


def test_editing_the_page_shows_in_the_detail_and_the_list(client: Any) -> None:
    page, _blocks = make_page(title="Old title")
    assert client.get(detail_url(page)).json()["title"] == "Old title"
    assert client.get(API).json()["results"][0]["title"] == "Old title"

    page.title = "New title"
    services.save_page(page=page)

    assert client.get(detail_url(page)).json()["title"] == "New title"
    assert client.get(API).json()["results"][0]["title"] == "New title"


def test_publishing_and_unpublishing_show_in_the_list_at_once(client: Any) -> None:
    page, _blocks = make_page(title="Soon", published=False)
    assert client.get(API).json()["count"] == 0

    page.is_published = True
    services.save_page(page=page)
    assert client.get(API).json()["count"] == 1

    page.is_published = False
    services.save_page(page=page)
    assert client.get(API).json()["count"] == 0
    assert client.get(detail_url(page)).status_code == 404


def test_a_change_only_the_revision_knows_of_shows_after_content_changed(client: Any) -> None:
    # given a cached detail, and a file whose status changes without touching a block
    page, (video, *_rest) = make_page()
    assert client.get(detail_url(page)).json()["blocks"][0]["video_file"]["status"] == "pending"
    StoredFile.objects.filter(pk=video.video_file_id).update(status=StoredFile.Status.COMPLETED)

    # when the change is announced as services do
    cache.content_changed()

    # then the next response shows it
    body = client.get(detail_url(page)).json()
    assert body["blocks"][0]["video_file"]["status"] == "completed"


def test_a_file_that_finishes_processing_shows_its_status_at_once(client: Any) -> None:
    page, (video, *_rest) = make_page()
    assert client.get(detail_url(page)).json()["blocks"][0]["subtitles_file"]["status"] == (
        "pending"
    )

    services.process_stored_file(stored_file_id=video.subtitles_file_id)

    subtitles = client.get(detail_url(page)).json()["blocks"][0]["subtitles_file"]
    assert subtitles["status"] == "completed"
    assert subtitles["url"].endswith(".vtt")


def test_cached_responses_show_the_current_counters(client: Any) -> None:
    # given a cached detail and list
    page, made = make_page()
    client.get(detail_url(page))
    client.get(API)

    # when the recorded views are applied
    counting.flush_pending_views()

    # then both show the new counters without the content being rebuilt
    body = client.get(detail_url(page)).json()
    assert [block["views"] for block in body["blocks"]] == [1] * len(made)
    assert body["views"] == len(made)
    assert client.get(API).json()["results"][0]["views"] == len(made)


def test_counting_views_does_not_change_the_etag(client: Any) -> None:
    page, _blocks = make_page()
    first = client.get(detail_url(page))
    counting.flush_pending_views()

    second = client.get(detail_url(page))

    assert second.json()["views"] != first.json()["views"]
    assert second["ETag"] == first["ETag"]


def test_detail_sends_validators_and_answers_if_none_match_with_304(client: Any) -> None:
    page, _blocks = make_page()
    response = client.get(detail_url(page))
    etag = response["ETag"]
    assert etag.startswith('W/"')
    assert response["Last-Modified"]
    assert response["Cache-Control"] == "no-cache"

    not_modified = client.get(detail_url(page), HTTP_IF_NONE_MATCH=etag)

    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert client.get(detail_url(page), HTTP_IF_NONE_MATCH='W/"other"').status_code == 200


def test_detail_answers_if_modified_since_with_304_until_the_page_changes(client: Any) -> None:
    page, (_video, _audio, text) = make_page()
    last_modified = client.get(detail_url(page))["Last-Modified"]

    assert client.get(detail_url(page), HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    Block.objects.filter(pk=text.pk).update(updated_at=text.updated_at.replace(year=2099))
    changed = client.get(detail_url(page), HTTP_IF_MODIFIED_SINCE=last_modified)
    assert changed.status_code == 200
    assert changed["Last-Modified"] == http_date(text.updated_at.replace(year=2099).timestamp())


def test_an_old_etag_gets_the_new_content_after_an_edit(client: Any) -> None:
    page, (video, *_rest) = make_page()
    etag = client.get(detail_url(page))["ETag"]

    video = VideoBlock.objects.get(pk=video.pk)
    video.title = "Edited"
    services.save_block(block=video)

    response = client.get(detail_url(page), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["blocks"][0]["title"] == "Edited"
    assert response["ETag"] != etag


def test_a_304_counts_a_view_like_a_full_response(client: Any) -> None:
    # given a page fetched once
    page, made = make_page()
    etag = client.get(detail_url(page))["ETag"]

    # when it is revalidated twice
    for _ in range(2):
        assert client.get(detail_url(page), HTTP_IF_NONE_MATCH=etag).status_code == 304

    # then three views are counted for each block
    assert PendingBlockViews.objects.count() == 3
    counting.flush_pending_views()
    assert views_of(made) == [3] * len(made)


def test_list_sends_validators_and_answers_304(client: Any) -> None:
    make_page()
    response = client.get(API)

    assert client.get(API, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    other_query = client.get(API, {"search": "Less"}, HTTP_IF_NONE_MATCH=response["ETag"])
    assert other_query.status_code == 200


def test_a_cache_flush_only_costs_a_rebuild(client: Any) -> None:
    page, _blocks = make_page()
    first = client.get(detail_url(page)).json()

    clear_cache()
    cache.forget_local()  # this process's copies too, so the next body is rebuilt

    assert client.get(detail_url(page)).json()["blocks"] == first["blocks"]


@pytest.mark.django_db(transaction=True)
def test_the_postgresql_state_query_survives_a_lost_statement_and_a_broken_connection(
    client: Any,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the state query is a prepared statement on PostgreSQL only")
    page, made = make_page()
    ids = [block.pk for block in made]
    # given a new session that holds a statement of that name from older code
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE {cache.PREPARED_STATE}(bigint) AS SELECT $1")

    # then the detail shows the page's blocks
    assert [block["id"] for block in client.get(detail_url(page)).json()["blocks"]] == ids

    # and after the session dropped its statements it still does
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert [block["id"] for block in client.get(detail_url(page)).json()["blocks"]] == ids

    # and after the server ended the kept connection, the request gets a new one
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    assert [block["id"] for block in client.get(detail_url(page)).json()["blocks"]] == ids
