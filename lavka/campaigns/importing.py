"""An import as the owner takes it: preview, then confirm.

Between the steps the file's text waits in the cache under a random token bound to the
owner (`stash_upload` / `load_stash`), so the confirmation never trusts anything the
browser sends back except that token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from lavka.accounts.models import User
from lavka.campaigns.csv_io import (
    ImportPlan,
    ImportResult,
    decode_upload,
    import_recipients,
    plan_import,
)
from lavka.campaigns.models import RecipientList

STASH_SECONDS = 60 * 60


class ImportNotFound(Exception):
    """No previewed import answers the confirmation: none was made, the token names
    another, or the stashed file expired or changed."""


class ImportListGone(Exception):
    """The list chosen at the preview was deleted since."""


# What the preview remembers for its confirmation (kept in the owner's session).
PendingImport = dict[str, Any]


def preview_import(
    *,
    owner: User,
    data: bytes,
    filename: str,
    target_list: RecipientList | None,
    previous: PendingImport | None,
) -> tuple[ImportPlan, PendingImport]:
    """Read and plan an upload, and stash its text for the confirmation; a previous
    preview's stash is dropped. Writes no recipient. Raises ImportRefused."""
    text = decode_upload(data)
    plan = plan_import(owner=owner, text=text)
    if previous:
        drop_stash(owner_id=owner.pk, token=previous["token"])
    pending: PendingImport = {
        "token": stash_upload(owner_id=owner.pk, text=text),
        "digest": text_digest(text),
        "fingerprint": plan.fingerprint(),
        "list_id": target_list.pk if target_list else None,
        "filename": filename,
    }
    return plan, pending


@dataclass(frozen=True)
class ConfirmedImport:
    result: ImportResult
    target_list: RecipientList | None


def confirm_import(*, owner: User, pending: PendingImport | None, token: str) -> ConfirmedImport:
    """Import exactly what the preview `pending` showed, in one transaction.

    Raises ImportNotFound or ImportListGone (nothing tried, the stash is kept) or
    ImportStale (tried and refused; the stash is dropped like after a success).
    """
    if not pending or not token or not secrets.compare_digest(token, pending["token"]):
        raise ImportNotFound
    text = load_stash(owner_id=owner.pk, token=pending["token"])
    if text is None or text_digest(text) != pending["digest"]:
        raise ImportNotFound
    target_list = None
    if pending["list_id"] is not None:
        target_list = RecipientList.objects.filter(owner=owner, pk=pending["list_id"]).first()
        if target_list is None:
            raise ImportListGone
    try:
        result = import_recipients(
            owner=owner, text=text, fingerprint=pending["fingerprint"], target_list=target_list
        )
    finally:
        drop_stash(owner_id=owner.pk, token=pending["token"])
    return ConfirmedImport(result=result, target_list=target_list)


# --- keeping the file between preview and confirmation -------------------------------


def _stash_key(owner_id: int, token: str) -> str:
    return f"campaigns:import:{owner_id}:{token}"


def stash_upload(*, owner_id: int, text: str) -> str:
    token = secrets.token_urlsafe(24)
    cache.set(_stash_key(owner_id, token), text, STASH_SECONDS)
    return token


def load_stash(*, owner_id: int, token: str) -> str | None:
    text = cache.get(_stash_key(owner_id, token))
    return text if isinstance(text, str) else None


def drop_stash(*, owner_id: int, token: str) -> None:
    cache.delete(_stash_key(owner_id, token))


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
