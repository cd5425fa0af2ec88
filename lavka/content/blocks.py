"""The registry of block kinds: adding a kind is one model, one serializer, one template
and one `register(BlockKind(...))` line (docs/content-blocks.md).

The registry names serializers and admin classes by dotted path so that models and this
module never import the API or admin layers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils.module_loading import import_string

from lavka.content.models import AudioBlock, Block, Page, PageBlock, TextBlock, VideoBlock


@dataclass(frozen=True)
class BlockKind:
    """How one kind of block is stored, shown, serialised and edited."""

    key: str
    model: type[Block]
    template: str
    serializer: str
    admin: str = ""
    # Foreign keys to StoredFile: loaded with the block, and the first one gives the
    # processing status the admin shows and filters on.
    file_fields: tuple[str, ...] = ()
    select_related: tuple[str, ...] = field(default=())

    @cached_property
    def serializer_class(self) -> Any:
        return import_string(self.serializer)

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name)

    @property
    def related_name(self) -> str:
        """The name `Block` reaches this kind's row by (multi-table inheritance)."""
        return self.model._meta.model_name or ""


_kinds: dict[str, BlockKind] = {}
_loaded = False


def register(kind: BlockKind) -> BlockKind:
    if kind.model.kind_key != kind.key:
        raise ValueError(f"{kind.model.__name__}.kind_key must be {kind.key!r}")
    existing = _kinds.get(kind.key)
    if existing is not None and existing.model is not kind.model:
        raise ValueError(f"block kind {kind.key!r} is already registered")
    _kinds[kind.key] = kind
    return kind


def _register_builtin() -> None:
    register(
        BlockKind(
            key="video",
            model=VideoBlock,
            template="content/blocks/video.html",
            serializer="lavka.content.api.VideoBlockSerializer",
            admin="lavka.content.admin.VideoBlockAdmin",
            file_fields=("video_file", "subtitles_file", "poster"),
            select_related=("video_file", "subtitles_file__webvtt", "poster"),
        )
    )
    register(
        BlockKind(
            key="audio",
            model=AudioBlock,
            template="content/blocks/audio.html",
            serializer="lavka.content.api.AudioBlockSerializer",
            admin="lavka.content.admin.AudioBlockAdmin",
            file_fields=("audio_file",),
            select_related=("audio_file",),
        )
    )
    register(
        BlockKind(
            key="text",
            model=TextBlock,
            template="content/blocks/text.html",
            serializer="lavka.content.api.TextBlockSerializer",
            admin="lavka.content.admin.TextBlockAdmin",
        )
    )


def load_registry() -> None:
    """Register the built-in kinds and those named in CONTENT_EXTRA_BLOCK_KINDS, once."""
    global _loaded
    if _loaded:
        return
    _register_builtin()
    for path in getattr(settings, "CONTENT_EXTRA_BLOCK_KINDS", []):
        import_string(path)()
    _loaded = True


def kinds() -> dict[str, BlockKind]:
    load_registry()
    return dict(_kinds)


def get_kind(key: str) -> BlockKind:
    load_registry()
    return _kinds[key]


def kind_of(block: Block) -> BlockKind:
    return get_kind(block.kind)


def load_blocks(block_ids_by_kind: dict[str, list[int]]) -> dict[int, Block]:
    """Each kind's rows for the given ids, one query per kind."""
    found: dict[int, Block] = {}
    for key, ids in block_ids_by_kind.items():
        kind = kinds().get(key)
        if kind is None:
            continue
        rows = kind.model.objects.filter(pk__in=ids).select_related(*kind.select_related)
        found.update({row.pk: row for row in rows})
    return found


def blocks_for_page(page: Page | int) -> list[Block]:
    """The page's blocks in order, as their kind's model: 1 query + 1 per kind present."""
    page_id = page if isinstance(page, int) else page.pk
    links = list(
        PageBlock.objects.filter(page_id=page_id)
        .order_by("position", "id")
        .values_list("block_id", "block__kind")
    )
    by_kind: dict[str, list[int]] = defaultdict(list)
    for block_id, key in links:
        by_kind[key].append(block_id)
    found = load_blocks(by_kind)
    return [found[block_id] for block_id, _key in links if block_id in found]


def file_status_filter(status: str) -> Q:
    """Blocks whose main file (a kind's first file field) has the given status."""
    condition = Q(pk__in=[])
    for kind in kinds().values():
        if kind.file_fields:
            condition |= Q(**{f"{kind.related_name}__{kind.file_fields[0]}__status": status})
    return condition


def main_file_paths() -> Iterable[str]:
    """`select_related` paths from Block to each kind's main file, for list pages."""
    return [
        f"{kind.related_name}__{kind.file_fields[0]}"
        for kind in kinds().values()
        if kind.file_fields
    ]
