"""Issue 4's admin flow in Debian's Chromium, with a real worker processing the files.

As a superuser: add a video with SRT subtitles, an audio with a transcript and a text
block, put them on a new page, reorder them, upload the same video again under another
name and see the stored file reused, watch every file reach "completed", then open the
page on the site. The media files are made in the test (tests/media.py): the MP4 is a
valid container header with a duration and no tracks, so it is processed like a real
one but a browser could not play it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lavka.accounts.tests.factories import DEFAULT_PASSWORD
from lavka.content import counting
from lavka.content.models import Block, Page, StoredFile, VideoBlock
from lavka.content.tasks import flush_views
from lavka.content.tests import media
from lavka.core.tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow]


def save(page) -> None:
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert page.locator(".errornote, .errorlist").count() == 0, page.content()[:3000]


def pick_block(page, row: int, title: str) -> None:
    """Choose a block in the inline's autocomplete (select2) by typing its title."""
    page.click(f"#page_blocks-{row} .select2-selection")
    page.fill(".select2-container--open .select2-search__field", title[:5])
    page.click(f".select2-results__option:has-text('{title}')")


def test_admin_builds_a_page_files_are_deduplicated_and_processed(
    browser_page, celery_worker_process, superuser, tmp_path: Path
):
    page, worker = browser_page, celery_worker_process
    video = tmp_path / "holiday.mp4"
    video.write_bytes(media.mp4_bytes(seconds=3.0, salt=b"browser"))
    renamed = tmp_path / "copy of holiday (1).mp4"
    renamed.write_bytes(video.read_bytes())
    subtitles = tmp_path / "holiday.srt"
    subtitles.write_text(media.SRT_TEXT)
    audio = tmp_path / "talk.wav"
    audio.write_bytes(media.wav_bytes(1.5, tone=3))

    page.goto("/accounts/login/")
    page.fill("input[name=login]", superuser.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()

    # a video with subtitles, an audio with a transcript, a text block
    page.goto("/admin/content/videoblock/add/")
    page.fill("input[name=title]", "Holiday video")
    page.set_input_files("input[name=video_upload]", str(video))
    page.set_input_files("input[name=subtitles_upload]", str(subtitles))
    save(page)
    page.goto("/admin/content/audioblock/add/")
    page.fill("input[name=title]", "Holiday talk")
    page.set_input_files("input[name=audio_upload]", str(audio))
    page.fill("textarea[name=transcript]", "We went to the sea.\n\nIt was cold.")
    save(page)
    page.goto("/admin/content/textblock/add/")
    page.fill("input[name=title]", "Holiday notes")
    page.fill("textarea[name=body]", "The **best** week.")
    save(page)

    # a published page with the three blocks
    page.goto("/admin/content/page/add/")
    page.fill("input[name=title]", "Our holiday")
    page.check("input[name=is_published]")
    for row, title in enumerate(["Holiday video", "Holiday talk", "Holiday notes"]):
        if row > 0:
            page.click(".add-row a")
        pick_block(page, row, title)
        page.fill(f"input[name=page_blocks-{row}-position]", str(row))
    save(page)
    site_page = Page.objects.get(title="Our holiday")
    assert site_page.slug == "our-holiday"
    assert [link.block.title for link in site_page.page_blocks.all()] == [
        "Holiday video",
        "Holiday talk",
        "Holiday notes",
    ]

    # reorder: text first, then video, then audio
    page.goto(f"/admin/content/page/{site_page.pk}/change/")
    for row, position in enumerate([1, 2, 0]):
        page.fill(f"input[name=page_blocks-{row}-position]", str(position))
    save(page)
    assert [link.block.title for link in site_page.page_blocks.all()] == [
        "Holiday notes",
        "Holiday video",
        "Holiday talk",
    ]

    # the same video again, under another name: the stored file is reused
    page.goto("/admin/content/videoblock/add/")
    page.fill("input[name=title]", "Holiday video again")
    page.set_input_files("input[name=video_upload]", str(renamed))
    save(page)
    first, again = VideoBlock.objects.order_by("id")
    assert again.video_file_id == first.video_file_id
    page.goto("/admin/content/storedfile/?kind__exact=video")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "holiday.mp4" in page.inner_text("#result_list")

    # the worker processes every file; the admin shows them completed
    processed = wait_until(
        lambda: (
            StoredFile.objects.count() == 4
            and not StoredFile.objects.exclude(status=StoredFile.Status.COMPLETED).exists()
        ),
        timeout=90,  # a worker on a CI machine running two suites at once
    )
    assert processed, (list(StoredFile.objects.values("kind", "status")), worker.log_tail())
    page.goto("/admin/content/block/?file_status=completed")
    listed = page.inner_text("#result_list")
    for title in ["Holiday video", "Holiday talk", "Holiday video again"]:
        assert title in listed
    page.goto("/admin/content/storedfile/?status__exact=completed")
    assert page.locator("#result_list tbody tr").count() == 4
    video_file = StoredFile.objects.get(kind="video")
    assert video_file.duration_seconds == pytest.approx(3.0)
    srt = StoredFile.objects.get(mime_type="application/x-subrip")
    assert srt.webvtt is not None

    # the page on the site: players, the WebVTT track, the transcript, the text, in order
    page.goto(f"/pages/{site_page.slug}/")
    assert page.locator("video source").get_attribute("src") == video_file.file.url
    assert page.locator("video track").get_attribute("src") == srt.webvtt.file.url
    assert page.locator("video track").get_attribute("kind") == "subtitles"
    assert page.locator("audio source").count() == 1
    assert "It was cold." in page.text_content("[data-testid=block-audio] .content-transcript")
    assert page.locator("[data-testid=block-text] strong").inner_text() == "best"
    kinds = page.locator("section.content-block").evaluate_all(
        "sections => sections.map(s => s.dataset.testid)"
    )
    assert kinds == ["block-text", "block-video", "block-audio"]
    assert Block.objects.filter(title="Holiday video").get().pk == first.pk

    # the API shows the page in the same order, and its counters rise with each view,
    # applied by the worker (the site visit above counted one view per block too)
    api_url = f"/api/v1/pages/{site_page.pk}/"
    shown = page.request.get(api_url).json()
    assert [block["title"] for block in shown["blocks"]] == [
        "Holiday notes",
        "Holiday video",
        "Holiday talk",
    ]
    for _ in range(3):
        assert page.request.get(api_url).ok
    counting.write_buffered_views()  # the live server's, in this process
    flush_views.delay()
    block_ids = [block["id"] for block in shown["blocks"]]
    risen = wait_until(
        lambda: (
            sorted(Block.objects.filter(pk__in=block_ids).values_list("views", flat=True))
            == [1 + 4] * 3
        ),
        timeout=60,
    )
    assert risen, (list(Block.objects.values("title", "views")), worker.log_tail())
    assert [block["views"] for block in page.request.get(api_url).json()["blocks"]] == [5] * 3
