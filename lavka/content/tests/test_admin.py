from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lavka.content import services
from lavka.content.conftest import files_under
from lavka.content.models import AudioBlock, Page, StoredFile, VideoBlock
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


@pytest.fixture
def admin_client(client: Client, superuser: Any) -> Client:
    client.force_login(superuser)
    return client


def audio_with_status(title: str, status: str, media_root: Path, seconds: float) -> AudioBlock:
    file = store_upload(SimpleUploadedFile("a.wav", media.wav_bytes(seconds)), kind="audio")
    StoredFile.objects.filter(pk=file.pk).update(status=status)
    return services.save_block(block=AudioBlock(title=title, audio_file=file))


@pytest.mark.parametrize(
    "name",
    ["page", "block", "videoblock", "audioblock", "textblock", "storedfile"],
)
def test_changelists_open_for_superuser(admin_client: Client, name: str) -> None:
    PageBlockFactory(block=VideoBlockFactory())
    PageBlockFactory(block=AudioBlockFactory())
    PageBlockFactory(block=TextBlockFactory())
    response = admin_client.get(reverse(f"admin:content_{name}_changelist"))
    assert response.status_code == 200


def test_change_pages_open_for_superuser(admin_client: Client, media_root: Path) -> None:
    link = PageBlockFactory(block=VideoBlockFactory())
    audio = audio_with_status("Talk", "completed", media_root, 0.2)
    for url in [
        reverse("admin:content_page_change", args=[link.page.pk]),
        reverse("admin:content_videoblock_change", args=[link.block.pk]),
        reverse("admin:content_audioblock_change", args=[audio.pk]),
        reverse("admin:content_storedfile_change", args=[audio.audio_file.pk]),
        reverse("admin:content_page_add"),
        reverse("admin:content_videoblock_add"),
    ]:
        assert admin_client.get(url).status_code == 200, url


def test_customer_cannot_open_the_content_admin(client: Client, customer: Any) -> None:
    client.force_login(customer)
    response = client.get(reverse("admin:content_page_changelist"))
    assert response.status_code == 302


def test_block_list_filters_by_kind(admin_client: Client) -> None:
    VideoBlockFactory(title="Vid")
    TextBlockFactory(title="Txt")
    response = admin_client.get(reverse("admin:content_block_changelist"), {"kind": "video"})
    titles = [block.title for block in response.context["cl"].result_list]
    assert titles == ["Vid"]


def test_block_list_filters_by_file_status(admin_client: Client, media_root: Path) -> None:
    audio_with_status("Done", "completed", media_root, 0.2)
    audio_with_status("Broken", "failed", media_root, 0.3)
    VideoBlockFactory(title="External")
    response = admin_client.get(
        reverse("admin:content_block_changelist"), {"file_status": "failed"}
    )
    assert [b.title for b in response.context["cl"].result_list] == ["Broken"]
    assert "failed" in response.content.decode()


def test_audio_list_filters_by_status(admin_client: Client, media_root: Path) -> None:
    audio_with_status("Done", "completed", media_root, 0.2)
    audio_with_status("Waiting", "pending", media_root, 0.3)
    response = admin_client.get(
        reverse("admin:content_audioblock_changelist"), {"audio_file__status__exact": "pending"}
    )
    assert [b.title for b in response.context["cl"].result_list] == ["Waiting"]


def test_search_matches_title_prefix_only(admin_client: Client) -> None:
    PageFactory(title="Cooking basics")
    PageFactory(title="Advanced cooking")
    response = admin_client.get(reverse("admin:content_page_changelist"), {"q": "cook"})
    assert [p.title for p in response.context["cl"].result_list] == ["Cooking basics"]
    TextBlockFactory(title="Recipe one")
    TextBlockFactory(title="My recipe")
    response = admin_client.get(reverse("admin:content_block_changelist"), {"q": "reci"})
    assert [b.title for b in response.context["cl"].result_list] == ["Recipe one"]


def test_storedfile_admin_is_read_only(admin_client: Client) -> None:
    assert admin_client.get(reverse("admin:content_storedfile_add")).status_code == 403


def video_form(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "video_url": "",
        "subtitles_url": "",
        "video_file": "",
        "subtitles_file": "",
        "poster": "",
        **extra,
    }


def test_video_upload_in_admin_is_stored_once_and_reused(
    admin_client: Client, media_root: Path
) -> None:
    url = reverse("admin:content_videoblock_add")
    # given a video block created with an uploaded file and SRT subtitles
    first = admin_client.post(
        url,
        video_form(
            "First",
            video_upload=SimpleUploadedFile("a.mp4", media.mp4_bytes()),
            subtitles_upload=SimpleUploadedFile("a.srt", media.SRT_TEXT.encode()),
        ),
    )
    assert first.status_code == 302, first.context["adminform"].form.errors
    # when the same video is uploaded again under another name for a second block
    second = admin_client.post(
        url, video_form("Second", video_upload=SimpleUploadedFile("other.mp4", media.mp4_bytes()))
    )
    assert second.status_code == 302
    # then both blocks share one stored file, and only two files are on disk
    one, two = VideoBlock.objects.order_by("id")
    assert one.video_file_id == two.video_file_id
    assert one.subtitles_file.mime_type == "application/x-subrip"
    assert len(files_under(media_root)) == 2


def test_wrong_type_upload_is_an_error_at_the_field(admin_client: Client, media_root: Path) -> None:
    response = admin_client.post(
        reverse("admin:content_videoblock_add"),
        video_form("Bad", video_upload=SimpleUploadedFile("movie.mp4", media.png_bytes())),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "image/png" in errors["video_upload"][0]
    assert VideoBlock.objects.count() == 0
    assert files_under(media_root) == []


def test_video_needs_a_file_or_a_url(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:content_videoblock_add"), video_form("Empty"))
    assert response.status_code == 200
    assert "video_url" in response.context["adminform"].form.errors
    assert VideoBlock.objects.count() == 0


def test_upload_and_url_together_are_refused_before_storing(
    admin_client: Client, media_root: Path
) -> None:
    response = admin_client.post(
        reverse("admin:content_videoblock_add"),
        video_form(
            "Both",
            video_url="https://v.example.com/a.mp4",
            video_upload=SimpleUploadedFile("a.mp4", media.mp4_bytes()),
        ),
    )
    assert response.status_code == 200
    assert "video_upload" in response.context["adminform"].form.errors
    assert StoredFile.objects.count() == 0


def test_javascript_url_is_refused(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:content_videoblock_add"), video_form("JS", video_url="javascript:alert(1)")
    )
    assert response.status_code == 200
    assert "video_url" in response.context["adminform"].form.errors


def test_page_admin_saves_blocks_in_order_and_fills_the_slug(admin_client: Client) -> None:
    a, b = TextBlockFactory(title="A"), TextBlockFactory(title="B")
    data = {
        "title": "Hello world",
        "slug": "",
        "summary": "",
        "cover": "",
        "is_published": "on",
        "page_blocks-TOTAL_FORMS": "2",
        "page_blocks-INITIAL_FORMS": "0",
        "page_blocks-MIN_NUM_FORMS": "0",
        "page_blocks-MAX_NUM_FORMS": "1000",
        "page_blocks-0-block": str(a.pk),
        "page_blocks-0-position": "2",
        "page_blocks-1-block": str(b.pk),
        "page_blocks-1-position": "1",
    }
    response = admin_client.post(reverse("admin:content_page_add"), data)
    assert response.status_code == 302
    page = Page.objects.get()
    assert page.slug == "hello-world"
    assert page.published_at is not None
    assert [link.block.title for link in page.page_blocks.order_by("position")] == ["B", "A"]
