"""Writes of the demos app: demos and their samples, visitors' runs (started through the
kernel after commit, executed with retries for transient failures), health checks and
the expiry of uploads and results."""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lavka.core import background, work
from lavka.core.http import BadAnswer, HttpClient, HttpError, RefusedAddress, TransientHttpError
from lavka.demos.models import Demo, DemoRun, DemoSample, HealthStatus
from lavka.demos.outbound import check_service_url, private_host_message, service_address_check

log = logging.getLogger(__name__)

SYSTEM = "demo service"
REASON_CHARS = 500
# Keys of the service's answer that hold images; stored as files, not in the JSON.
IMAGE_KEYS = ("annotated_image", "preview_image")
# A visitor waits on the page: a service's Retry-After is honoured up to this long (the
# kernel's own ceiling, a day, is for back-office systems).
MAX_RETRY_AFTER_SECONDS = 60
# A health answer is a few bytes; a creator's service must not make the worker read
# megabytes every minute.
HEALTH_ANSWER_BYTES = 64 * 1024
# The reference service nests four levels (plates → plate → box → corner); a deeper
# answer is refused rather than kept, since its pages would fail to show it.
MAX_ANSWER_DEPTH = 32


# --- demos -------------------------------------------------------------------------------


def save_demo(*, demo: Demo) -> Demo:
    """Create or update a demo; a changed service is unknown until checked again."""
    if demo.pk:
        before = Demo.objects.filter(pk=demo.pk).values_list("service_url", "kind").first()
        if before != (demo.service_url, demo.kind):
            demo.health_status = HealthStatus.UNKNOWN
            demo.health_checked_at = None
            demo.health_reason = ""
    with transaction.atomic():
        demo.save()
        background.start("demos.check_demo_health", demo.pk)
    return demo


def delete_demo(*, demo: Demo) -> None:
    files = [sample.file for sample in demo.samples.all()]
    for run in demo.runs.all():
        files.extend([run.upload, run.result_image])
    demo.delete()
    _delete_files(files)


# The extension a sample is stored (and served) with, from the type its content is.
SAMPLE_SUFFIXES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/x-msvideo": ".avi",
}


def add_sample(
    *, demo: Demo, upload: File, title: str, source_note: str, content_type: str = ""
) -> DemoSample:
    """Store a sample; given the type read from its content, its name ends as that type
    does, so a PNG named `x.html` is not served as a page."""
    name = PurePath(str(upload.name or "sample")).name or "sample"
    if content_type in SAMPLE_SUFFIXES:
        name = PurePath(name).stem + SAMPLE_SUFFIXES[content_type]
    sample = DemoSample(demo=demo, title=title, source_note=source_note)
    sample.file.save(name, upload, save=False)
    sample.save()
    return sample


def delete_sample(*, sample: DemoSample) -> None:
    file = sample.file
    sample.delete()
    _delete_files([file])


def _delete_files(files: list[Any]) -> None:
    for file in files:
        if file and file.name:
            try:
                file.storage.delete(file.name)
            except OSError:
                log.warning("demos: could not delete %s", file.name)


# --- health ------------------------------------------------------------------------------


def check_health(*, demo: Demo) -> str:
    """Ask the service's /healthz once; the answer (up, or down with why) is stored."""
    now = timezone.now()
    status, reason = HealthStatus.DOWN, ""
    try:
        base = check_service_url(demo.service_url)
        client = HttpClient(
            base,
            headers={},
            system=SYSTEM,
            timeout=settings.DEMOS_HEALTH_TIMEOUT_SECONDS,
            max_body_bytes=HEALTH_ANSWER_BYTES,
            allow_address=service_address_check(),
        )
        answer = client.get_json("/healthz")
        if isinstance(answer, dict) and answer.get("status") == "ok":
            status = HealthStatus.UP
        else:
            reason = _("The service answered but is not ready.")
    except ValidationError as error:
        reason = " ".join(error.messages)
    except HttpError as error:
        reason = _service_reason(error)
    # A check delivered twice, late, or of an address the owner changed meanwhile must
    # not overwrite a newer answer: only the address asked, only if nothing newer is kept.
    Demo.objects.filter(pk=demo.pk, service_url=demo.service_url).filter(
        Q(health_checked_at__isnull=True) | Q(health_checked_at__lte=now)
    ).update(health_status=status, health_checked_at=now, health_reason=reason[:REASON_CHARS])
    return str(status)


def check_all_health() -> int:
    """Beat: queue a health check of every demo on sale (one fixed entry; demos are
    rows); a demo of a product off sale is checked again when its owner saves it."""
    from lavka.demos.selectors import public_demos

    ids = list(public_demos().values_list("pk", flat=True))
    background.start_each("demos.check_demo_health", [(pk,) for pk in ids])
    return len(ids)


def _service_reason(error: HttpError) -> str:
    if isinstance(error, RefusedAddress):
        # The name answered a private address at connect time, after the URL's check.
        return private_host_message(urlsplit(error.url).hostname or "?")
    if error.status is None:
        if "timed out" in str(error):
            return _("The service did not answer in time.")
        if isinstance(error, BadAnswer):
            return _("The service's answer could not be read.")
        return _("The service cannot be reached.")
    return _("The service answered with HTTP status %(status)s.") % {"status": error.status}


# --- rate limits -------------------------------------------------------------------------


def take_rate_slot(*, key: str, limit: int, window_seconds: int) -> bool:
    """One more use of a fixed window counted in the cache; False once over `limit`.

    `add` creates the window's counter only if it is missing and `incr` is atomic on
    Redis and Memcached, so concurrent tries are all counted there. Django's file and
    local-memory caches implement `incr` as read-then-write (no lock across processes):
    two tries at the same instant may count once. That backend is the single-machine
    default; the limit is a brake, not a quota, so a rare undercount is accepted there.
    If the counter expires between `add` and `incr`, the try counts as the first."""
    cache_key = f"demos:rate:{key}:{int(timezone.now().timestamp()) // window_seconds}"
    timeout = window_seconds + 5
    cache.add(cache_key, 0, timeout=timeout)
    try:
        used = cache.incr(cache_key)
    except ValueError:
        used = 1 if cache.add(cache_key, 1, timeout=timeout) else cache.incr(cache_key)
    return used <= limit


# --- runs --------------------------------------------------------------------------------


def start_run(
    *,
    demo: Demo,
    upload: IO[bytes],
    upload_name: str,
    content_type: str,
    visitor_id: int | None,
    session_key: str,
) -> DemoRun:
    """Store the upload and queue its analysis on the `demos` queue after commit."""
    now = timezone.now()
    run = DemoRun(
        demo=demo,
        visitor_id=visitor_id,
        session_key="" if visitor_id else session_key,
        upload_name=upload_name[:200],
        upload_type=content_type,
        expires_at=now + timedelta(seconds=settings.DEMOS_RESULT_TTL_SECONDS),
        queued_at=now,
    )
    with transaction.atomic():
        run.upload.save("upload", File(upload), save=False)
        run.save()
        DemoRun.queue_work([run.pk])
    return run


@dataclass(frozen=True)
class _Refusal:
    message: str
    transient: bool


def _refusal(error: HttpError) -> _Refusal:
    """What to tell the visitor about a failed call, and whether to try again."""
    if isinstance(error, RefusedAddress):
        return _Refusal(_service_reason(error), False)
    if isinstance(error, TransientHttpError):
        if error.status is None:
            return _Refusal(_service_reason(error), True)
        if error.status == 429:
            return _Refusal(_("The service is busy."), True)
        if error.status and error.status >= 500:
            return _Refusal(
                _("The service failed (HTTP %(status)s).") % {"status": error.status}, True
            )
        # A complete 2xx answer that is not JSON: the same file gets the same answer.
        return _Refusal(_("The service answered something that is not JSON."), False)
    message = _service_message(error.excerpt)
    if message:
        return _Refusal(message, False)
    if isinstance(error, BadAnswer) and error.status is None:
        return _Refusal(_("The service's answer could not be read."), False)
    return _Refusal(
        _("The service refused the file (HTTP %(status)s).") % {"status": error.status}, False
    )


def _service_message(excerpt: str) -> str:
    """The message of the service's JSON error ({"error": {"code", "message"}})."""
    try:
        body = json.loads(excerpt)
        message = body["error"]["message"]
    except (ValueError, TypeError, KeyError):
        return ""
    return str(message)[:REASON_CHARS] if isinstance(message, str) else ""


def execute_run(*, run_id: int, take_over: bool = False) -> str:
    """Send one run's upload to its demo's service and keep the answer; transient
    failures (unreachable, timeout, 5xx, 429) retry with backoff, the service's refusal
    of the file is final and shown as it says. Returns the run's new state."""
    run = work.claim_one(DemoRun.objects.filter(pk=run_id), take_over=take_over)
    if run is None:
        return ""
    demo = run.demo
    try:
        base = check_service_url(demo.service_url)
    except ValidationError as error:
        return work.record_failure(run, error=" ".join(error.messages), permanent=True)
    try:
        with run.upload.open("rb") as file:
            content = file.read()
    except OSError:
        return work.record_failure(run, error=_("The upload has expired."), permanent=True)
    try:
        client = HttpClient(
            base,
            headers={},
            system=SYSTEM,
            timeout=settings.DEMOS_CALL_TIMEOUT_SECONDS,
            max_body_bytes=settings.DEMOS_MAX_ANSWER_BYTES,
            allow_address=service_address_check(),
        )
        # A video demo's own limit goes along; the service takes the lower of it and its own.
        path = (
            f"{demo.endpoint}?max_seconds={demo.max_video_seconds}"
            if demo.takes_video
            else demo.endpoint
        )
        answer = client.post_file(
            path,
            field="file",
            name=run.upload_name or "upload",
            content=content,
            content_type=run.upload_type,
        )
    except HttpError as error:
        refusal = _refusal(error)
        retry_after = getattr(error, "retry_after", None)
        state = work.record_failure(
            run,
            error=refusal.message,
            permanent=not refusal.transient,
            retry_after=(
                timedelta(seconds=min(retry_after, MAX_RETRY_AFTER_SECONDS))
                if retry_after
                else None
            ),
        )
        if state == work.WorkState.PENDING:
            _queue_retry(run.pk)
        return state
    if not isinstance(answer, dict) or _nested_deeper(answer, MAX_ANSWER_DEPTH):
        return work.record_failure(
            run, error=_("The service's answer could not be read."), permanent=True
        )
    result, image = _split_images(answer)
    if image is not None and not _is_image(image):
        return work.record_failure(
            run, error=_("The service's annotated image is not a readable image."), permanent=True
        )
    run.result = result
    if image is not None:
        run.result_image.save("result.png", ContentFile(image), save=False)
    DemoRun.objects.filter(pk=run.pk, lease_owner=run.lease_owner).update(
        result=run.result, result_image=run.result_image.name
    )
    work.complete(run)
    return str(work.WorkState.DONE)


def _nested_deeper(value: Any, limit: int) -> bool:
    """True when `value` holds lists or objects more than `limit` levels deep. Walked
    without recursion: the answer is the service's, and the run page, the admin and the
    database all walk it again, recursively."""
    level: list[Any] = [value]
    for _depth in range(limit + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True


def _is_image(data: bytes) -> bool:
    """A PNG or JPEG Pillow decodes in full, within the pixel ceiling of uploads: only
    that is stored and inlined in the run page."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG"):
                return False
            width, height = image.size
            if width * height > settings.DEMOS_MAX_PIXELS:
                return False
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    return True


def _queue_retry(run_id: int) -> None:
    """A transient failure: queue the run again for when its backoff ends, marked queued
    as of then so the sweeper does not queue it sooner."""
    until = DemoRun.objects.filter(pk=run_id).values_list("not_before", flat=True).first()
    now = timezone.now()
    until = until if until is not None and until > now else now
    work.mark_queued(DemoRun.objects.filter(pk=run_id), now=until)
    background.start_later("demos.run_demo", run_id, countdown=(until - now).total_seconds())


def _split_images(answer: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
    """The JSON without its base64 images (shown as files instead), and the main one.
    Nested images (a plate's cut-out) are kept as small data for the result page."""
    result = dict(answer)
    image: bytes | None = None
    for key in IMAGE_KEYS:
        value = result.pop(key, None)
        if isinstance(value, dict) and image is None:
            try:
                image = base64.b64decode(str(value.get("base64", "")), validate=True)
            except (binascii.Error, ValueError):
                image = None
            result[key] = {k: v for k, v in value.items() if k != "base64"}
    return result, image


# --- expiry ------------------------------------------------------------------------------


def delete_expired_runs(*, now: Any = None, batch: int = 200) -> int:
    """Beat: delete runs past their expiry, their upload and result files first."""
    now = now or timezone.now()
    deleted = 0
    while True:
        runs = list(DemoRun.objects.filter(expires_at__lte=now).order_by("pk")[:batch])
        if not runs:
            return deleted
        _delete_files([file for run in runs for file in (run.upload, run.result_image)])
        DemoRun.objects.filter(pk__in=[run.pk for run in runs]).delete()
        deleted += len(runs)
