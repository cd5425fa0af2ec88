"""An import as the owner takes it: preview, then confirm, which starts a background job
(`import_batches.py`) and shows its progress.

Between the steps the file's text waits in the cache under a random token bound to the
owner (`stash_upload` / `load_stash`), so the confirmation never trusts anything the
browser sends back except that token. Once confirmed, the text is stored with the job
in the database, where a worker (any worker, after a crash too) finds it.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from lavka.accounts.models import User
from lavka.campaigns.csv_io import ImportPlan, decode_upload, plan_import
from lavka.campaigns.models import RecipientImport, RecipientImportFile, RecipientList

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


def confirm_import(*, owner: User, pending: PendingImport | None, token: str) -> RecipientImport:
    """Start the import the preview `pending` showed, as a background job.

    The job is keyed by the preview, so confirming it again (a double click, a second
    tab) returns the job the first confirmation started instead of importing twice.
    Raises ImportNotFound or ImportListGone (nothing started, the stash is kept).
    Whether the recipients changed since the preview is checked by the job.
    """
    if not token:
        raise ImportNotFound
    key = _job_key(owner_id=owner.pk, token=token)
    started = RecipientImport.objects.filter(owner=owner, idempotency_key=key).first()
    if started is not None:
        return started
    if not pending or not secrets.compare_digest(token, pending["token"]):
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
        with transaction.atomic():
            job = RecipientImport.objects.create(
                owner=owner,
                target_list=target_list,
                filename=str(pending["filename"])[:255],
                fingerprint=pending["fingerprint"],
                idempotency_key=key,
                queued_at=timezone.now(),
            )
            RecipientImportFile.objects.create(job=job, text=text)
            RecipientImport.queue_work([job.pk])
    except IntegrityError:  # the same preview confirmed twice at the same moment
        return RecipientImport.objects.get(owner=owner, idempotency_key=key)
    drop_stash(owner_id=owner.pk, token=pending["token"])
    return job


def _job_key(*, owner_id: int, token: str) -> str:
    return f"campaigns.import:{owner_id}:{hashlib.sha256(token.encode()).hexdigest()}"


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
