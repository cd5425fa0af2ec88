"""What staff do with content, with its rule (a Django permission; superusers hold all):
save a page, publish or unpublish it, save a block, place and reorder blocks on a page,
upload a file. The admin calls these; so can views, the API and commands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from lavka.content import services
from lavka.content.models import Block, Page, PageBlock, StoredFile
from lavka.core.actions import Action

T = TypeVar("T")

# A file input waiting to be stored: (the uploaded file object, its StoredFile kind).
Upload = tuple[Any, str]


class _AddOrChange(Action[T]):
    """An action on a model instance: `add_<model>` for a new one, `change_<model>` for
    an existing one (`params["instance_param"]` names the instance)."""

    instance_param = ""

    def has_permission(self) -> bool:
        instance = self.params[self.instance_param]
        meta = type(instance)._meta
        verb = "change" if instance.pk else "add"
        if not getattr(self.actor, "is_authenticated", False) or not self.actor.is_active:
            return False
        return bool(self.actor.has_perm(f"{meta.app_label}.{verb}_{meta.model_name}"))


class UploadFile(Action[StoredFile]):
    """Store an uploaded file (once per content) and start its processing.

    params: upload (a file object), kind (a StoredFile kind), name (optional).
    """

    permission = "content.add_storedfile"

    def perform(self) -> StoredFile:
        return services.store_file(
            upload=self.params["upload"], kind=self.params["kind"], name=self.params.get("name")
        )


def _store_uploads(actor: Any, target: Any, uploads: Mapping[str, Upload]) -> None:
    """Store each upload with UploadFile and point the target's foreign key at it."""
    for field_name, (upload, kind) in uploads.items():
        setattr(target, field_name, UploadFile(actor, upload=upload, kind=kind).execute())


class SavePage(_AddOrChange[Page]):
    """Create or change a page (`content.add_page` / `content.change_page`); files
    uploaded with it (`uploads`: field -> Upload) are stored first.
    params: page, uploads (optional)."""

    instance_param = "page"

    def perform(self) -> Page:
        page: Page = self.params["page"]
        _store_uploads(self.actor, page, self.params.get("uploads") or {})
        return services.save_page(page=page)


class PublishPage(Action[Page]):
    """Publish a page (its first publication is stamped). params: page."""

    permission = "content.change_page"

    def perform(self) -> Page:
        return services.publish_page(page=self.params["page"])


class UnpublishPage(Action[Page]):
    """Take a page off the site; it keeps its first publication date. params: page."""

    permission = "content.change_page"

    def perform(self) -> Page:
        return services.unpublish_page(page=self.params["page"])


class SaveBlock(_AddOrChange[Block]):
    """Create or change a block of any kind, storing its uploaded files first.

    params: block, uploads (optional, field -> Upload). The permission is the kind's
    (`content.add_videoblock`, `content.change_videoblock`, ...).
    """

    instance_param = "block"

    def perform(self) -> Block:
        block: Block = self.params["block"]
        _store_uploads(self.actor, block, self.params.get("uploads") or {})
        return services.save_block(block=block)


class ReorderBlocks(Action[None]):
    """Give the page's blocks the order of `block_ids`. params: page, block_ids."""

    permission = "content.change_page"

    def perform(self) -> None:
        services.reorder_blocks(page=self.params["page"], block_ids=self.params["block_ids"])


class ArrangeBlocks(Action[None]):
    """Put blocks on a page at positions, move them, take them off (the page's inline).

    params: page, placed (PageBlock rows to save), removed (PageBlock rows to delete).
    """

    permission = "content.change_page"

    def perform(self) -> None:
        placed: Sequence[PageBlock] = self.params.get("placed") or []
        removed: Sequence[PageBlock] = self.params.get("removed") or []
        services.arrange_blocks(page=self.params["page"], placed=placed, removed=removed)
