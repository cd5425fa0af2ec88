"""Django admin for content: pages with their blocks in order, one admin per block kind,
and the read-only library of stored files with their processing status.

Forms only check uploads (size and type, `storage.check_upload`); the files are stored
when the admin saves, by the actions (lavka/content/actions.py), so the same bytes are
stored once and nothing is written for a form that is refused. Every save goes through
an action, which holds the permission rule.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from lavka.content import blocks
from lavka.content.actions import (
    ArrangeBlocks,
    PublishPage,
    SaveBlock,
    SavePage,
    UnpublishPage,
    Upload,
)
from lavka.content.models import (
    AudioBlock,
    Block,
    Page,
    PageBlock,
    StoredFile,
    VideoBlock,
)
from lavka.content.storage import UploadRejected, check_upload
from lavka.core.admin_base import ViewOnlyAdmin

Kind = StoredFile.Kind


@admin.register(StoredFile)
class StoredFileAdmin(ViewOnlyAdmin):
    list_display = (
        "__str__",
        "kind",
        "mime_type",
        "size",
        "status",
        "failure_reason",
        "duration_seconds",
        "created_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("^original_name", "=sha256")
    readonly_fields = [f.name for f in StoredFile._meta.fields]


def _formfield(field: models.Field, **kwargs: Any) -> forms.Field | None:
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class UploadForm(forms.ModelForm):
    """A model form with file inputs that fill StoredFile foreign keys.

    `uploads` maps an upload field to (the StoredFile foreign key it fills, the file kind,
    the URL field it excludes or ""). Validation checks each upload and stores nothing;
    `pending_uploads` gives the checked ones to the action that saves the object.
    """

    uploads: ClassVar[dict[str, tuple[str, str, str]]] = {}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for upload_name, (_fk, _kind, url_name) in self.uploads.items():
            if cleaned.get(upload_name) and url_name and cleaned.get(url_name):
                self.add_error(upload_name, _("Upload a file or give a URL, not both."))
        if self.errors:
            return cleaned
        for upload_name, (fk_name, kind, _url_name) in self.uploads.items():
            upload = cleaned.get(upload_name)
            if not upload:
                continue
            try:
                check_upload(upload, kind=kind)
            except UploadRejected as error:
                self.add_error(upload_name, error)
                continue
            # The model's rules (a file or a URL) see the file the save will store.
            cleaned[fk_name] = upload_stand_in()
        return cleaned

    def _get_validation_exclusions(self) -> set[str]:
        """The stand-ins are no rows: the model does not look them up."""
        return {*super()._get_validation_exclusions(), *self.pending_uploads}  # type: ignore[misc]

    @property
    def pending_uploads(self) -> dict[str, Upload]:
        """The checked uploads by the foreign key they fill, for the saving action."""
        return {
            fk_name: (self.cleaned_data[upload_name], kind)
            for upload_name, (fk_name, kind, _url_name) in self.uploads.items()
            if self.cleaned_data.get(upload_name)
        }


def upload_stand_in() -> StoredFile:
    """Stands for a checked upload until the action stores it and sets the real row. It
    is never saved: pk 0 names no row, so a save that skipped the action fails loudly."""
    return StoredFile(pk=0)


def _upload_field(label: StrOrPromise, kind: str) -> forms.FileField:
    return forms.FileField(
        label=label,
        required=False,
        help_text=_("Stored once per content: the same file uploaded again is reused."),
        widget=forms.ClearableFileInput(attrs={"data-upload-kind": kind}),
    )


class VideoBlockForm(UploadForm):
    uploads = {
        "video_upload": ("video_file", Kind.VIDEO, "video_url"),
        "subtitles_upload": ("subtitles_file", Kind.SUBTITLES, "subtitles_url"),
        "poster_upload": ("poster", Kind.IMAGE, ""),
    }
    video_upload = _upload_field(_("upload a video"), Kind.VIDEO)
    subtitles_upload = _upload_field(_("upload subtitles (WebVTT or SRT)"), Kind.SUBTITLES)
    poster_upload = _upload_field(_("upload a poster image"), Kind.IMAGE)

    class Meta:
        model = VideoBlock
        formfield_callback = _formfield
        fields = ("title", "video_file", "video_url", "subtitles_file", "subtitles_url", "poster")


class AudioBlockForm(UploadForm):
    uploads = {"audio_upload": ("audio_file", Kind.AUDIO, "audio_url")}
    audio_upload = _upload_field(_("upload an audio file"), Kind.AUDIO)

    class Meta:
        model = AudioBlock
        formfield_callback = _formfield
        fields = ("title", "audio_file", "audio_url", "transcript")


class PageForm(UploadForm):
    uploads = {"cover_upload": ("cover", Kind.IMAGE, "")}
    cover_upload = _upload_field(_("upload a cover image"), Kind.IMAGE)

    class Meta:
        model = Page
        formfield_callback = _formfield
        fields = ("title", "slug", "summary", "cover", "is_published")


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, kind.label) for key, kind in blocks.kinds().items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(kind=self.value()) if self.value() else queryset


class FileStatusFilter(admin.SimpleListFilter):
    title = _("file status")
    parameter_name = "file_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return StoredFile.Status.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        return queryset.filter(blocks.file_status_filter(self.value() or ""))


def _main_file(block: Block) -> StoredFile | None:
    kind = blocks.kinds().get(block.kind)
    if kind is None or not kind.file_fields:
        return None
    row = block if isinstance(block, kind.model) else getattr(block, kind.related_name, None)
    return getattr(row, kind.file_fields[0], None) if row is not None else None


@admin.display(description=_("file status"))
def file_status(block: Block) -> str:
    stored = _main_file(block)
    if stored is None:
        return "—"
    label = str(stored.get_status_display())
    if stored.status == StoredFile.Status.FAILED and stored.failure_reason:
        return f"{label}: {stored.failure_reason}"
    return label


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    """Every block of every kind, for searching and picking; edited in its kind's admin."""

    list_display = ("edit_link", "kind", "views", file_status, "created_at")
    list_display_links = None
    list_filter = (KindFilter, FileStatusFilter)
    search_fields = ("^title",)
    readonly_fields = ("kind", "views")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Block]:
        return super().get_queryset(request).select_related(*blocks.main_file_paths())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("title"), ordering="title")
    def edit_link(self, block: Block) -> str:
        kind = blocks.kinds().get(block.kind)
        if kind is None:
            return block.title
        meta = kind.model._meta
        try:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[block.pk])
        except NoReverseMatch:
            return block.title
        return format_html('<a href="{}">{}</a>', url, block.title)


class BlockKindAdmin(admin.ModelAdmin):
    """The admin of one block kind; kinds registered without their own admin get this."""

    list_display: Any = ("title", "views", file_status, "created_at")
    search_fields = ("^title",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ("views",)
    file_select_related: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related(*self.file_select_related)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        uploads = form.pending_uploads if isinstance(form, UploadForm) else {}
        SaveBlock(request.user, block=obj, uploads=uploads).execute()


class VideoBlockAdmin(BlockKindAdmin):
    form = VideoBlockForm
    list_filter = ("video_file__status",)
    autocomplete_fields = ("video_file", "subtitles_file", "poster")
    file_select_related = ("video_file",)
    fieldsets = (
        (None, {"fields": ("title", "views")}),
        (_("Video"), {"fields": ("video_upload", "video_file", "video_url")}),
        (_("Subtitles"), {"fields": ("subtitles_upload", "subtitles_file", "subtitles_url")}),
        (_("Poster"), {"fields": ("poster_upload", "poster")}),
    )


class AudioBlockAdmin(BlockKindAdmin):
    form = AudioBlockForm
    list_filter = ("audio_file__status",)
    autocomplete_fields = ("audio_file",)
    file_select_related = ("audio_file",)
    fieldsets = (
        (None, {"fields": ("title", "views")}),
        (_("Audio"), {"fields": ("audio_upload", "audio_file", "audio_url")}),
        (_("Transcript"), {"fields": ("transcript",)}),
    )


class TextBlockAdmin(BlockKindAdmin):
    list_display = ("title", "views", "created_at")
    fields = ("title", "views", "body")


class PageBlockInline(admin.TabularInline):
    model = PageBlock
    fields = ("position", "block")
    autocomplete_fields = ("block",)
    ordering = ("position", "id")
    extra = 1
    verbose_name = _("block")
    verbose_name_plural = _("blocks, in order (lowest position first)")


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    form = PageForm
    list_display = ("title", "slug", "is_published", "published_at", "updated_at")
    list_filter = ("is_published",)
    search_fields = ("^title",)
    autocomplete_fields = ("cover",)
    readonly_fields = ("published_at",)
    fields = (
        "title",
        "slug",
        "summary",
        "cover_upload",
        "cover",
        "is_published",
        "published_at",
    )
    inlines = (PageBlockInline,)
    actions = ("publish", "unpublish")

    def save_model(self, request: HttpRequest, obj: Page, form: Any, change: bool) -> None:
        SavePage(request.user, page=obj, uploads=form.pending_uploads).execute()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        placed = formset.save(commit=False)
        ArrangeBlocks(
            request.user, page=form.instance, placed=placed, removed=formset.deleted_objects
        ).execute()
        formset.save_m2m()

    @admin.action(description=_("Publish the selected pages"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Page]) -> None:
        for page in queryset:
            PublishPage(request.user, page=page).execute()
        self.message_user(request, _("Pages published."), messages.SUCCESS)

    @admin.action(description=_("Unpublish the selected pages"), permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Page]) -> None:
        for page in queryset:
            UnpublishPage(request.user, page=page).execute()
        self.message_user(request, _("Pages taken off the site."), messages.SUCCESS)


for _kind in blocks.kinds().values():
    if not admin.site.is_registered(_kind.model):
        admin_class = import_string(_kind.admin) if _kind.admin else BlockKindAdmin
        admin.site.register(_kind.model, admin_class)
