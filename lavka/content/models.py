"""Pages made of ordered blocks (video, audio, text, ...) and the files they play.

Files are content-addressed (`StoredFile`, one row and one file on disk per sha256). Every
block kind is a table that inherits from the concrete `Block`, so the title and the view
counter of all kinds live in one table: counting views is one UPDATE whatever the kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from lavka.core import background
from lavka.core.models import TimeStampedModel
from lavka.core.work import GIVEN_UP_NOTICE, WorkItem

http_url_validator = URLValidator(schemes=["http", "https"])


def stored_file_path(instance: StoredFile, filename: str) -> str:
    """`content/ab/cd/<sha256><ext>`; the extension comes from the detected type."""
    sha = instance.sha256
    return f"content/{sha[:2]}/{sha[2:4]}/{sha}{instance.extension}"


class StoredFile(WorkItem):
    """One blob of bytes, stored once however many times and names it is uploaded under.

    Its processing is a durable work row (`lavka.core.work`): `state` is the kernel's
    (claimed with a lease while a worker processes it), `status` the value people see in
    the admin and the API (pending, processing, completed, failed).
    """

    class Kind(models.TextChoices):
        VIDEO = "video", _("video")
        AUDIO = "audio", _("audio")
        IMAGE = "image", _("image")
        SUBTITLES = "subtitles", _("subtitles")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PROCESSING = "processing", _("processing")
        COMPLETED = "completed", _("completed")
        FAILED = "failed", _("failed")

    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    file = models.FileField(_("file"), upload_to=stored_file_path, max_length=255)
    mime_type = models.CharField(_("type"), max_length=100)
    extension = models.CharField(_("extension"), max_length=10)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, db_index=True)
    original_name = models.CharField(_("original name"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    failure_reason = models.TextField(_("failure reason"), blank=True)
    duration_seconds = models.FloatField(_("duration (seconds)"), null=True, blank=True)
    webvtt = models.ForeignKey(
        "self",
        verbose_name=_("WebVTT version"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("For SRT subtitles: the same cues converted to WebVTT for players."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stored file")
        verbose_name_plural = _("stored files")
        ordering = ["-created_at", "-id"]

    # A worker may read a long video for up to the task's time limit (660 s).
    lease_seconds = 720
    requeue_after_seconds = 600
    max_attempts = 5

    def __str__(self) -> str:
        return self.original_name or f"{self.sha256[:12]}{self.extension}"

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("content.process_file", [(pk,) for pk in pks])

    @classmethod
    def before_manual_retry(cls, queryset: QuerySet[Any]) -> None:
        """A file retried by hand shows as waiting again, and is processed anew."""
        queryset.update(status=cls.Status.PENDING, failure_reason="")

    @classmethod
    def after_given_up(cls, pks: Sequence[int], *, error: str) -> None:
        """A file no worker could finish shows as failed, as one whose check failed."""
        cls.objects.filter(pk__in=pks).update(
            status=cls.Status.FAILED,
            failure_reason=str(GIVEN_UP_NOTICE),
            duration_seconds=None,
            webvtt=None,
            processed_at=timezone.now(),
        )
        ContentRevision.raise_number()

    @property
    def player_file(self) -> StoredFile:
        """What a player should load: the WebVTT conversion of SRT subtitles, else itself."""
        return self.webvtt or self


def stored_file_key(verbose_name: StrOrPromise, **options: Any) -> models.ForeignKey[Any]:
    """An optional reference to a stored file, which cannot be deleted while in use."""
    return models.ForeignKey(
        StoredFile,
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        **options,
    )


class Page(TimeStampedModel):
    title = models.CharField(_("title"), max_length=200, db_index=True)
    slug = models.SlugField(
        _("slug"),
        max_length=220,
        unique=True,
        blank=True,
        allow_unicode=True,
        help_text=_("Part of the page address; made from the title when left empty."),
    )
    summary = models.TextField(_("summary"), blank=True)
    cover = stored_file_key(_("cover image"), limit_choices_to={"kind": StoredFile.Kind.IMAGE})
    is_published = models.BooleanField(_("published"), default=False, db_index=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, db_index=True)
    blocks: models.ManyToManyField[Block, PageBlock] = models.ManyToManyField(
        "Block", through="PageBlock", related_name="pages"
    )

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Block(TimeStampedModel):
    """What every block kind shares; each kind is a table inheriting from this one."""

    kind_key: ClassVar[str] = ""

    kind = models.CharField(_("kind"), max_length=50, db_index=True, editable=False)
    title = models.CharField(_("title"), max_length=200, db_index=True)
    views = models.PositiveBigIntegerField(_("views"), default=0, editable=False)

    class Meta:
        verbose_name = _("block")
        verbose_name_plural = _("blocks")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.kind})" if self.kind else self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.kind and self.kind_key:
            self.kind = self.kind_key
        super().save(*args, **kwargs)


def _exactly_one(file_field: str, url_field: str) -> Q:
    return Q(**{f"{file_field}__isnull": False}, **{url_field: ""}) | (
        Q(**{f"{file_field}__isnull": True}) & ~Q(**{url_field: ""})
    )


def _at_most_one(file_field: str, url_field: str) -> Q:
    return Q(**{f"{file_field}__isnull": True}) | Q(**{url_field: ""})


class VideoBlock(Block):
    kind_key = "video"

    video_file = stored_file_key(_("video file"))
    video_url = models.URLField(
        _("video URL"), max_length=500, blank=True, validators=[http_url_validator]
    )
    subtitles_file = stored_file_key(_("subtitles file"))
    subtitles_url = models.URLField(
        _("subtitles URL"), max_length=500, blank=True, validators=[http_url_validator]
    )
    poster = stored_file_key(_("poster image"))

    class Meta:
        verbose_name = _("video block")
        verbose_name_plural = _("video blocks")
        constraints = [
            models.CheckConstraint(
                condition=_exactly_one("video_file", "video_url"),
                name="content_video_file_xor_url",
            ),
            models.CheckConstraint(
                condition=_at_most_one("subtitles_file", "subtitles_url"),
                name="content_video_subtitles_file_or_url",
            ),
        ]

    def clean(self) -> None:
        super().clean()
        if (self.video_file_id is None) == (not self.video_url):
            raise ValidationError(
                {"video_url": _("Give either a video file or a video URL, not both or neither.")}
            )
        if self.subtitles_file_id is not None and self.subtitles_url:
            raise ValidationError(
                {"subtitles_url": _("Give either a subtitles file or a subtitles URL, not both.")}
            )


class AudioBlock(Block):
    kind_key = "audio"

    audio_file = stored_file_key(_("audio file"))
    audio_url = models.URLField(
        _("audio URL"), max_length=500, blank=True, validators=[http_url_validator]
    )
    transcript = models.TextField(_("transcript"), blank=True)

    class Meta:
        verbose_name = _("audio block")
        verbose_name_plural = _("audio blocks")
        constraints = [
            models.CheckConstraint(
                condition=_exactly_one("audio_file", "audio_url"),
                name="content_audio_file_xor_url",
            ),
        ]

    def clean(self) -> None:
        super().clean()
        if (self.audio_file_id is None) == (not self.audio_url):
            raise ValidationError(
                {"audio_url": _("Give either an audio file or an audio URL, not both or neither.")}
            )


class TextBlock(Block):
    kind_key = "text"

    body = models.TextField(_("text (Markdown)"), blank=True)
    rendered_html = models.TextField(_("rendered HTML"), blank=True, editable=False)

    class Meta:
        verbose_name = _("text block")
        verbose_name_plural = _("text blocks")


class PageBlock(models.Model):
    """A block's place on a page; the same block may sit on several pages."""

    page = models.ForeignKey(
        Page, verbose_name=_("page"), on_delete=models.CASCADE, related_name="page_blocks"
    )
    block = models.ForeignKey(
        Block, verbose_name=_("block"), on_delete=models.CASCADE, related_name="page_blocks"
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("block on a page")
        verbose_name_plural = _("blocks on a page")
        ordering = ["page", "position", "id"]
        constraints = [
            models.UniqueConstraint("page", "block", name="content_pageblock_page_block"),
        ]
        indexes = [models.Index(fields=["page", "position"], name="content_pageblock_order")]

    def __str__(self) -> str:
        return f"{self.page_id}#{self.position}: {self.block_id}"


# --- view counting and API caching (lavka/content/counting.py, lavka/content/cache.py) ---


class PendingBlockViews(models.Model):
    """Block views that responses recorded and the counters do not include yet.

    One row per response: a single INSERT is the cheapest write that survives a crash or a
    cache flush. The flush task sums the rows per block, adds the sums with a few UPDATEs
    and deletes the rows in the same transaction, so a flush that runs twice (a redelivered
    task) cannot count anything twice. `page_id` is a plain number, not a foreign key:
    recording a view must not fail because the page was deleted a moment ago.
    """

    page_id = models.BigIntegerField(_("page id"))
    block_ids = models.JSONField(_("block ids"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pending block views")
        verbose_name_plural = _("pending block views")

    def __str__(self) -> str:
        return f"page {self.page_id}: {len(self.block_ids)} blocks"


class ContentRevision(models.Model):
    """A number raised by every change that the API shows; part of every cache key.

    One row (pk 1). Services raise it inside the transaction that changes pages, blocks,
    their order or their files, so a response cached before the change is never served
    after it. View counters do not raise it.
    """

    number = models.PositiveBigIntegerField(_("number"), default=0)
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("content revision")
        verbose_name_plural = _("content revisions")

    def __str__(self) -> str:
        return str(self.number)

    @classmethod
    def raise_number(cls) -> None:
        """Make every cached content response unreachable (`cache.content_changed`)."""
        if not cls.objects.filter(pk=1).update(
            number=models.F("number") + 1, changed_at=timezone.now()
        ):
            cls.objects.get_or_create(pk=1, defaults={"number": 1})
