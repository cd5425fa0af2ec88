"""Writes of the content app: pages, blocks, their order, and file processing."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import markdown
import nh3
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from lavka.content import processing, storage
from lavka.content.cache import content_changed
from lavka.content.models import Block, Page, PageBlock, StoredFile, TextBlock
from lavka.content.processing import ProcessingFailed
from lavka.content.storage import UploadRejected
from lavka.core import background, work
from lavka.core.work import WorkState

logger = logging.getLogger(__name__)

ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


# --- pages ------------------------------------------------------------------------------


def unique_slug(*, title: str, exclude_pk: int | None = None) -> str:
    base = (slugify(title, allow_unicode=True) or "page")[:200]
    candidate, number = base, 1
    taken = Page.objects.exclude(pk=exclude_pk) if exclude_pk else Page.objects.all()
    while taken.filter(slug=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def save_page(*, page: Page) -> Page:
    """Fill the slug from the title when empty and stamp the first publication."""
    if not page.slug:
        page.slug = unique_slug(title=page.title, exclude_pk=page.pk)
    if page.is_published and page.published_at is None:
        page.published_at = timezone.now()
    page.save()
    return page


def create_page(
    *,
    title: str,
    slug: str = "",
    summary: str = "",
    cover: StoredFile | None = None,
    is_published: bool = False,
) -> Page:
    page = Page(title=title, slug=slug, summary=summary, cover=cover, is_published=is_published)
    page.full_clean(exclude=["slug"] if not slug else None)
    return save_page(page=page)


def publish_page(*, page: Page) -> Page:
    page.is_published = True
    return save_page(page=page)


def unpublish_page(*, page: Page) -> Page:
    """Off the site; `published_at` keeps the first publication."""
    page.is_published = False
    return save_page(page=page)


@transaction.atomic
def add_block(*, page: Page, block: Block, position: int | None = None) -> PageBlock:
    """Put a block on a page, at the end unless a position is given."""
    if position is None:
        last = PageBlock.objects.filter(page=page).aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    link, _created = PageBlock.objects.update_or_create(
        page=page, block=block, defaults={"position": position}
    )
    Page.objects.filter(pk=page.pk).update(updated_at=timezone.now())
    return link


@transaction.atomic
def reorder_blocks(*, page: Page, block_ids: Sequence[int]) -> None:
    """Give the page's blocks positions 0, 1, 2... in the order of `block_ids`."""
    links = {link.block_id: link for link in PageBlock.objects.filter(page=page)}
    if set(block_ids) != set(links):
        raise ValueError("block_ids must list exactly the blocks on the page")
    for position, block_id in enumerate(block_ids):
        links[block_id].position = position
    PageBlock.objects.bulk_update(links.values(), ["position"])
    Page.objects.filter(pk=page.pk).update(updated_at=timezone.now())


@transaction.atomic
def arrange_blocks(
    *, page: Page, placed: Sequence[PageBlock], removed: Sequence[PageBlock]
) -> None:
    """Save the page's block placements (new or moved) and delete the removed ones."""
    for link in removed:
        if link.pk is not None:
            link.delete()
    for link in placed:
        link.page = page
        link.save()
    Page.objects.filter(pk=page.pk).update(updated_at=timezone.now())


# --- blocks -----------------------------------------------------------------------------


def render_markdown(text: str) -> str:
    """Markdown to HTML with everything that could run script removed."""
    html = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    return nh3.clean(html, url_schemes=ALLOWED_URL_SCHEMES)


def save_block(*, block: Block) -> Block:
    """Validate and save a block of any kind; text blocks get their HTML rendered."""
    if isinstance(block, TextBlock):
        block.rendered_html = render_markdown(block.body)
    block.full_clean()
    block.save()
    return block


# --- files ------------------------------------------------------------------------------


def store_file(*, upload: Any, kind: str, name: str | None = None) -> StoredFile:
    """Store an upload (once per content) and start its processing after the commit.

    The same bytes stored before give their existing row; it is queued again only while
    it waits to be processed (a lost message), never once it is processed or under way.
    Raises UploadRejected for a file that is too large or of the wrong type.
    """
    stored = storage.store_upload(upload, kind=kind, name=name)
    if stored.state == WorkState.PENDING:
        start_processing(stored_file=stored)
    return stored


def start_processing(*, stored_file: StoredFile) -> None:
    background.start("content.process_file", stored_file.pk)


@contextmanager
def local_copy(stored: StoredFile) -> Iterator[Path]:
    """A path to the file's bytes on this machine, downloading from remote storage."""
    if isinstance(default_storage, FileSystemStorage):
        yield Path(default_storage.path(stored.file.name))
        return
    with tempfile.NamedTemporaryFile(suffix=stored.extension) as temp:
        with default_storage.open(stored.file.name, "rb") as source:
            shutil.copyfileobj(source, temp)
        temp.flush()
        yield Path(temp.name)


def process_stored_file(*, stored_file_id: int, take_over: bool = False) -> None:
    """Check the file, read what it tells (duration), make WebVTT from SRT.

    The row is claimed with a lease first (`lavka.core.work`): a file already processed,
    failed, or under way in another worker is left alone, and one whose worker died is
    taken again once its lease runs out (the sweeper queues it), or at once with
    `take_over` when the broker redelivered the task of a worker that died. A
    ProcessingFailed is the file's fault and final; any other error is retried with
    backoff, up to `StoredFile.max_attempts`.
    """
    stored = work.claim_one(StoredFile.objects.filter(pk=stored_file_id), take_over=take_over)
    if stored is None:
        return
    with transaction.atomic():
        StoredFile.objects.filter(pk=stored.pk).update(status=StoredFile.Status.PROCESSING)
        content_changed()  # the API shows each file's status

    try:
        duration, webvtt = _examine(stored)
    except ProcessingFailed as error:
        _record_failure(stored, reason=str(error), permanent=True)
    except FileNotFoundError:
        _record_failure(stored, reason=_("The stored file is missing."), permanent=True)
    except Exception as error:
        logger.exception("processing stored file %s failed; it will be retried", stored.pk)
        _record_failure(stored, reason=f"{type(error).__name__}: {error}", permanent=False)
    else:
        _complete(stored, duration=duration, webvtt=webvtt)


def _examine(stored: StoredFile) -> tuple[float | None, StoredFile | None]:
    duration: float | None = None
    webvtt: StoredFile | None = None
    with local_copy(stored) as path:
        if not path.exists():
            raise FileNotFoundError(path)
        if stored.kind in {StoredFile.Kind.AUDIO, StoredFile.Kind.VIDEO}:
            duration = processing.read_duration(path, stored.mime_type)
        elif stored.kind == StoredFile.Kind.IMAGE:
            processing.check_image(path)
        elif stored.kind == StoredFile.Kind.SUBTITLES:
            webvtt = _process_subtitles(stored, path.read_bytes())
    return duration, webvtt


def _process_subtitles(stored: StoredFile, data: bytes) -> StoredFile | None:
    text = processing.decode_subtitles(data)
    if stored.mime_type == "text/vtt":
        processing.check_webvtt(text)
        return None
    converted = processing.srt_to_webvtt(text)
    name = Path(stored.original_name or "subtitles").stem + ".vtt"
    try:
        webvtt = storage.store_bytes(
            converted.encode("utf-8"), kind=StoredFile.Kind.SUBTITLES, name=name
        )
    except UploadRejected as error:
        raise ProcessingFailed(" ".join(error.messages)) from error
    # Players get the converted file: check it here, not in a task of its own, so it is
    # ready when the SRT is.
    process_stored_file(stored_file_id=webvtt.pk)
    webvtt.refresh_from_db()
    return webvtt


def _complete(stored: StoredFile, *, duration: float | None, webvtt: StoredFile | None) -> None:
    with transaction.atomic():
        StoredFile.objects.filter(pk=stored.pk, lease_owner=stored.lease_owner).update(
            **work.done_fields(),
            status=StoredFile.Status.COMPLETED,
            failure_reason="",
            duration_seconds=duration,
            webvtt=webvtt,
            processed_at=timezone.now(),
        )
        content_changed()


def _record_failure(stored: StoredFile, *, reason: str, permanent: bool) -> None:
    """Count the failed attempt with the kernel; the status follows its new state."""
    with transaction.atomic():
        state = work.record_failure(stored, error=reason, permanent=permanent)
        if state == WorkState.FAILED:
            fields: dict[str, Any] = {
                "status": StoredFile.Status.FAILED,
                "failure_reason": reason[:2000],
                "duration_seconds": None,
                "webvtt": None,
                "processed_at": timezone.now(),
            }
        elif state == WorkState.PENDING:
            fields = {"status": StoredFile.Status.PENDING}
        else:  # another worker took the lease over and owns the outcome
            return
        StoredFile.objects.filter(pk=stored.pk).update(**fields)
        content_changed()
    if state == WorkState.FAILED:
        logger.info("stored file %s failed processing: %s", stored.pk, reason)
