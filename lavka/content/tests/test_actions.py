"""Staff actions on content: the permission rule, and the admin going through them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lavka.content import actions
from lavka.content.conftest import files_under
from lavka.content.models import Page, StoredFile, TextBlock
from lavka.content.tests import media
from lavka.content.tests.factories import PageFactory, TextBlockFactory
from lavka.core.roles import forget_cached_roles

pytestmark = pytest.mark.django_db


def grant(user: Any, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    forget_cached_roles(user)


def test_publishing_needs_the_change_page_permission(customer: Any) -> None:
    page = PageFactory(is_published=False, published_at=None)
    with pytest.raises(PermissionDenied):
        actions.PublishPage(customer, page=page).execute()
    grant(customer, "change_page")
    actions.PublishPage(customer, page=page).execute()
    page.refresh_from_db()
    assert page.is_published and page.published_at is not None
    first = page.published_at
    actions.UnpublishPage(customer, page=page).execute()
    page.refresh_from_db()
    assert not page.is_published and page.published_at == first


def test_saving_a_block_needs_its_kinds_add_or_change_permission(customer: Any) -> None:
    with pytest.raises(PermissionDenied):
        actions.SaveBlock(customer, block=TextBlock(title="T", body="*x*")).execute()
    grant(customer, "add_textblock")
    block = actions.SaveBlock(customer, block=TextBlock(title="T", body="*x*")).execute()
    assert block.rendered_html == "<p><em>x</em></p>"
    with pytest.raises(PermissionDenied):
        actions.SaveBlock(customer, block=block).execute()


def test_uploading_needs_the_add_storedfile_permission(customer: Any, media_root: Path) -> None:
    upload = SimpleUploadedFile("a.wav", media.wav_bytes(0.2))
    with pytest.raises(PermissionDenied):
        actions.UploadFile(customer, upload=upload, kind="audio").execute()
    assert StoredFile.objects.count() == 0
    grant(customer, "add_storedfile")
    stored = actions.UploadFile(customer, upload=upload, kind="audio").execute()
    assert stored.kind == StoredFile.Kind.AUDIO


def test_superuser_reorders_blocks(superuser: Any) -> None:
    page = PageFactory()
    a, b = TextBlockFactory(), TextBlockFactory()
    page.page_blocks.create(block=a, position=0)
    page.page_blocks.create(block=b, position=1)
    actions.ReorderBlocks(superuser, page=page, block_ids=[b.pk, a.pk]).execute()
    assert list(page.page_blocks.order_by("position").values_list("block_id", flat=True)) == [
        b.pk,
        a.pk,
    ]


def test_a_refused_admin_form_stores_no_upload(
    client: Client, superuser: Any, media_root: Path
) -> None:
    # given a valid upload on a form that is refused for another field
    client.force_login(superuser)
    response = client.post(
        reverse("admin:content_audioblock_add"),
        {
            "title": "",
            "audio_url": "",
            "audio_file": "",
            "transcript": "",
            "audio_upload": SimpleUploadedFile("a.wav", media.wav_bytes(0.2)),
        },
    )
    # then the form shows the error and nothing was stored
    assert response.status_code == 200
    assert "title" in response.context["adminform"].form.errors
    assert StoredFile.objects.count() == 0
    assert files_under(media_root) == []


def test_admin_publishes_and_unpublishes_selected_pages(client: Client, superuser: Any) -> None:
    draft = PageFactory(is_published=False, published_at=None)
    client.force_login(superuser)
    url = reverse("admin:content_page_changelist")
    client.post(url, {"action": "publish", "_selected_action": [draft.pk]})
    assert Page.objects.get(pk=draft.pk).is_published
    client.post(url, {"action": "unpublish", "_selected_action": [draft.pk]})
    assert not Page.objects.get(pk=draft.pk).is_published
