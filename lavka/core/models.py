"""Tables every app relies on: captured outgoing email, worker heartbeats and files
prepared in the background."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lavka.core import background
from lavka.core.work import WorkItem, WorkState


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class OutboxMessage(models.Model):
    """An email the embedded default captured instead of sending, for staff to read."""

    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True, db_index=True)
    from_email = models.CharField(_("from"), max_length=255)
    to = models.JSONField(_("to"), default=list)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    bcc = models.JSONField(_("bcc"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    text_body = models.TextField(_("text body"), blank=True)
    html_body = models.TextField(_("HTML body"), blank=True)
    headers = models.JSONField(_("headers"), default=dict)
    raw = models.TextField(_("raw message"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


class WorkerHeartbeat(models.Model):
    """Last sign of life of a Celery worker, written by the worker itself."""

    hostname = models.CharField(_("hostname"), max_length=255, unique=True)
    queues = models.JSONField(_("queues"), default=list)
    started_at = models.DateTimeField(_("started at"))
    last_seen_at = models.DateTimeField(_("last seen at"), db_index=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        permissions = [
            ("operate_background_work", _("Can see, retry and discard background work")),
        ]

    def __str__(self) -> str:
        return self.hostname


class PreparedFile(WorkItem):
    """A file a user asked for that takes too long to make during a request (a large
    export): a work row a worker claims, fills by the registered producer `kind` with
    `params`, and leaves in a private folder for the requester alone to download until
    `expires_at`. Progress is `rows_done` of `rows_total`; the state and the last error
    are the work row's."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="prepared_files",
    )
    kind = models.CharField(_("kind"), max_length=80)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    filename = models.CharField(_("file name"), max_length=200)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveIntegerField(_("rows in total"), null=True, blank=True)
    stored_name = models.CharField(_("stored as"), max_length=200, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    max_attempts = 3
    # A killed worker's file is taken up again once its lease ran out; the writer renews
    # the lease as it goes, so a long file keeps it.
    lease_seconds = settings.PREPARED_FILE_LEASE_SECONDS
    requeue_after_seconds = settings.PREPARED_FILE_LEASE_SECONDS
    retry_base_seconds = 10
    retry_cap_seconds = 300

    class Meta:
        verbose_name = _("prepared file")
        verbose_name_plural = _("prepared files")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def work_summary(self) -> str:
        return f"{self.kind} #{self.pk} ({self.filename})"

    @property
    def is_ready(self) -> bool:
        return self.state == WorkState.DONE and bool(self.stored_name)

    @property
    def percent(self) -> int:
        if self.is_ready:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("core.prepare_file", [(pk,) for pk in pks])
