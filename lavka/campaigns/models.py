"""Client lists and scheduled email campaigns, with a delivery log per recipient."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField

from lavka.core import background
from lavka.core.models import TimeStampedModel
from lavka.core.validators import validate_header_text
from lavka.core.work import GIVEN_UP_NOTICE, WorkItem, WorkState, done_fields


class SettingValue:
    """A work model's tuning knob read from settings on each access, so a deployment's
    environment (and a test's `settings`) sets it without a new class."""

    def __init__(self, name: str, default: int) -> None:
        self.name, self.default = name, default

    def __get__(self, instance: object, owner: type | None = None) -> int:
        return int(getattr(settings, self.name, self.default))


def send_chunk_size() -> int:
    """How many deliveries one `campaigns.send_chunk` task covers."""
    return int(getattr(settings, "CAMPAIGNS_CHUNK_SIZE", 500))


def id_ranges(ids: Sequence[int], size: int) -> Iterator[tuple[int, int]]:
    """Consecutive slices of sorted `ids` as (first, last) pairs."""
    for start in range(0, len(ids), size):
        part = ids[start : start + size]
        yield part[0], part[-1]


class RecipientQuerySet(models.QuerySet["Recipient"]):
    def reachable(self) -> RecipientQuerySet:
        """The one spelling of "a recipient who can receive": active, subscribed, not
        suppressed after a permanent failure."""
        return self.filter(is_active=True, unsubscribed_at__isnull=True, suppressed_at__isnull=True)


class Recipient(TimeStampedModel):
    """A client of an owner: someone the owner may email."""

    objects = RecipientQuerySet.as_manager()

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recipients"
    )
    email = models.EmailField(_("email"))
    full_name = models.CharField(
        _("full name"), max_length=200, blank=True, validators=[validate_header_text]
    )
    comment = models.TextField(_("comment"), blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    country = CountryField(_("country"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    suppressed_at = models.DateTimeField(_("suppressed at"), null=True, blank=True)
    suppression_reason = models.CharField(_("suppression reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                "owner", Lower("email"), name="campaigns_recipient_owner_email"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    @property
    def can_receive(self) -> bool:
        return self.is_active and self.unsubscribed_at is None and self.suppressed_at is None


class RecipientList(TimeStampedModel):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recipient_lists"
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    recipients = models.ManyToManyField(Recipient, related_name="lists", blank=True)

    class Meta:
        verbose_name = _("list")
        verbose_name_plural = _("lists")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("owner", "name", name="campaigns_list_owner_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Message(TimeStampedModel):
    """What a mailing sends. Bodies may use the placeholders in `personalisation`."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_messages"
    )
    subject = models.CharField(_("subject"), max_length=255, validators=[validate_header_text])
    html_body = models.TextField(_("HTML body"))
    text_body = models.TextField(
        _("plain-text body"), blank=True, help_text=_("Generated from the HTML when left empty.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class Periodicity(models.TextChoices):
    ONCE = "once", _("Once")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    CRON = "cron", _("Cron expression")


class MailingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    COMPLETED = "completed", _("Completed")


# A mailing in one of these fires when its next send time comes.
ACTIVE_STATUSES = (MailingStatus.SCHEDULED, MailingStatus.RUNNING)


class Mailing(TimeStampedModel):
    """A message sent to an audience once or on a schedule.

    The schedule is this row's `next_send_at`, computed in `time_zone` and stored in UTC;
    one fixed beat entry dispatches whatever is due (see `scheduling.py`).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailings"
    )
    name = models.CharField(_("name"), max_length=200)
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="mailings")
    lists = models.ManyToManyField(RecipientList, related_name="mailings", blank=True)
    recipients = models.ManyToManyField(Recipient, related_name="mailings", blank=True)
    first_send_at = models.DateTimeField(_("first send at"))
    periodicity = models.CharField(
        _("periodicity"), max_length=16, choices=Periodicity.choices, default=Periodicity.ONCE
    )
    cron_expression = models.CharField(_("cron expression"), max_length=100, blank=True)
    end_at = models.DateTimeField(_("end at"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=MailingStatus.choices,
        default=MailingStatus.DRAFT,
        db_index=True,
    )
    status_reason = models.CharField(_("reason"), max_length=500, blank=True)
    next_send_at = models.DateTimeField(_("next send at"), null=True, blank=True, db_index=True)
    disabled_by_manager = models.BooleanField(_("disabled by a manager"), default=False)

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        ordering = ["-created_at"]
        permissions = [("moderate_mailing", _("Can pause or disable any mailing"))]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def reopen_completed(cls, pks: Iterable[int]) -> None:
        """A completed mailing whose run staff send again by hand runs until that run ends,
        so it never shows completed while it is still sending."""
        cls.objects.filter(pk__in=list(pks), status=MailingStatus.COMPLETED).update(
            status=MailingStatus.RUNNING
        )


class RunStatus(models.TextChoices):
    PREPARING = "preparing", _("Preparing")
    SENDING = "sending", _("Sending")
    COMPLETED = "completed", _("Completed")
    PAUSED = "paused", _("Paused")
    FAILED = "failed", _("Failed")
    MISSED = "missed", _("Missed")


class MailingRun(WorkItem):
    """One firing of a mailing for one scheduled slot; unique per slot.

    Its kernel work is preparing its deliveries: `pending` from the firing until
    `start_run` has written them (`done`), so the sweeper finds a run lost while
    preparing. `status` is what the owner sees.
    """

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="runs")
    scheduled_for = models.DateTimeField(_("scheduled for"))
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.PREPARING
    )
    status_reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    html_body = models.TextField(_("HTML body"), blank=True)
    text_body = models.TextField(_("plain-text body"), blank=True)
    total = models.PositiveIntegerField(_("recipients"), default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("mailing run")
        verbose_name_plural = _("mailing runs")
        ordering = ["-scheduled_for"]
        constraints = [
            models.UniqueConstraint("mailing", "scheduled_for", name="campaigns_run_per_slot"),
        ]

    # Writing a large audience's deliveries may take most of a task's time limit.
    lease_seconds = 300
    requeue_after_seconds = SettingValue("CAMPAIGNS_REQUEUE_AFTER_SECONDS", 120)  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"{self.mailing} @ {self.scheduled_for:%Y-%m-%d %H:%M}"

    @property
    def is_finished(self) -> bool:
        return self.status in {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.MISSED}

    @classmethod
    def in_motion(cls, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        """Only a run still preparing has work of its own; a paused one waits on purpose."""
        return queryset.filter(status=RunStatus.PREPARING)

    @classmethod
    def after_given_up(cls, pks: Sequence[int], *, error: str) -> None:
        """A run whose preparing no worker could finish is failed for its owner to see;
        a one-off mailing ends with it, as when a run's every delivery failed."""
        runs = cls.objects.filter(pk__in=pks, status=RunStatus.PREPARING)
        mailing_ids = list(runs.values_list("mailing_id", flat=True))
        runs.update(
            status=RunStatus.FAILED, status_reason=str(GIVEN_UP_NOTICE), finished_at=timezone.now()
        )
        Mailing.objects.filter(
            pk__in=mailing_ids, status=MailingStatus.RUNNING, next_send_at__isnull=True
        ).update(status=MailingStatus.COMPLETED)

    @classmethod
    def before_manual_retry(cls, queryset: models.QuerySet[Any]) -> None:
        """A run given up while preparing prepares again when retried by hand."""
        given_up = queryset.filter(status=RunStatus.FAILED, started_at__isnull=True)
        mailing_ids = set(given_up.values_list("mailing_id", flat=True))
        given_up.update(status=RunStatus.PREPARING, status_reason="", finished_at=None)
        Mailing.reopen_completed(mailing_ids)

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        """Prepare the runs still waiting for their deliveries."""
        preparing = cls.objects.filter(pk__in=list(pks), status=RunStatus.PREPARING)
        background.start_each(
            "campaigns.start_run", [(pk,) for pk in preparing.values_list("pk", flat=True)]
        )


EMAIL_IN_TEXT = re.compile(r"[^\s<>@\"']+@[^\s<>@\"']+")


def mask_email(email: str) -> str:
    """An address with its local part hidden, for people who moderate others' sending."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def mask_emails_in(text: str) -> str:
    """Every address in a text masked: SMTP replies and the reasons that quote them often
    echo the recipient's address."""
    return EMAIL_IN_TEXT.sub(lambda found: mask_email(found.group(0)), text)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


# A delivery's outcome as the kernel's work state (pending ones are pending or claimed).
DELIVERY_WORK_STATES = {
    DeliveryStatus.SENT: WorkState.DONE,
    DeliveryStatus.SKIPPED: WorkState.DONE,
    DeliveryStatus.FAILED: WorkState.FAILED,
}


class Delivery(WorkItem):
    """One recipient of one run: the unit of sending, retrying and reporting.

    `status` is the outcome the owner sees (pending, sent, failed, skipped); `state`
    is the kernel's: claimed under a lease while a worker sends it, done once sent or
    skipped, failed after a permanent refusal or the last attempt.
    """

    run = models.ForeignKey(MailingRun, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="deliveries")
    email = models.EmailField(_("email"))
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    skip_reason = models.CharField(_("skip reason"), max_length=100, blank=True)
    smtp_code = models.PositiveSmallIntegerField(_("SMTP code"), null=True, blank=True)
    smtp_reply = models.CharField(_("SMTP reply"), max_length=500, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The mailing's owner, copied here so rate limits count per owner quickly.",
    )
    rate_slot_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint("run", "recipient", name="campaigns_delivery_per_recipient"),
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="campaigns_delivery_run_status"),
            models.Index(fields=["owner", "rate_slot_at"], name="campaigns_delivery_rate"),
        ]

    max_attempts = SettingValue("CAMPAIGNS_MAX_ATTEMPTS", 5)  # type: ignore[assignment]
    lease_seconds = SettingValue("CAMPAIGNS_CLAIM_SECONDS", 60)  # type: ignore[assignment]
    requeue_after_seconds = SettingValue("CAMPAIGNS_REQUEUE_AFTER_SECONDS", 120)  # type: ignore[assignment]
    retry_base_seconds = SettingValue("CAMPAIGNS_RETRY_BASE_SECONDS", 30)  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"

    @property
    def work_summary(self) -> str:
        """Staff moderate runs, not audiences: the address is masked."""
        return f"{_('run')} {self.run_id}, {mask_email(self.email)} ({self.get_status_display()})"

    @property
    def work_error(self) -> str:
        return mask_emails_in(self.last_error)

    @classmethod
    def in_motion(cls, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        """Deliveries of a paused run wait on purpose: neither swept nor stuck."""
        return queryset.filter(run__status=RunStatus.SENDING)

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        """One `campaigns.send_chunk` per run and range of ids; runs that are not
        sending (paused) are left until they resume."""
        by_run: dict[int, list[int]] = {}
        rows = (
            cls.objects.filter(pk__in=list(pks), run__status=RunStatus.SENDING)
            .order_by("run_id", "pk")
            .values_list("run_id", "pk")
        )
        for run_id, pk in rows:
            by_run.setdefault(run_id, []).append(pk)
        background.start_each(
            "campaigns.send_chunk",
            [
                (run_id, first_id, last_id)
                for run_id, ids in by_run.items()
                for first_id, last_id in id_ranges(ids, send_chunk_size())
            ],
        )

    @classmethod
    def after_given_up(cls, pks: Sequence[int], *, error: str) -> None:
        """A delivery no worker could finish is failed (it may have gone out: each try
        sent the same Message-ID); `recover_stalled` finishes its run when it was the
        last one pending."""
        cls.objects.filter(pk__in=pks, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED,
            smtp_reply=str(GIVEN_UP_NOTICE),
            last_attempt_at=timezone.now(),
        )

    @classmethod
    def before_manual_retry(cls, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        """A retried delivery is pending again and its finished run sends again, so the
        retry really resends and the run's counts follow; but never to a recipient who
        can no longer receive (unsubscribed, suppressed, deactivated: skipped instead),
        and a run of a paused mailing waits, paused, for the mailing's resume."""
        unreachable = queryset.exclude(recipient__in=Recipient.objects.reachable())
        for reason, condition in (
            ("unsubscribed", models.Q(recipient__unsubscribed_at__isnull=False)),
            ("suppressed", models.Q(recipient__suppressed_at__isnull=False)),
            ("inactive", models.Q(recipient__is_active=False)),
        ):
            unreachable.filter(condition, status=DeliveryStatus.FAILED).update(
                status=DeliveryStatus.SKIPPED, skip_reason=reason, **done_fields()
            )
        run_ids = set(queryset.values_list("run_id", flat=True))
        queryset.filter(status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.PENDING, sent_at=None
        )
        finished = MailingRun.objects.filter(
            pk__in=run_ids, status__in=[RunStatus.COMPLETED, RunStatus.FAILED]
        )
        finished.filter(mailing__status=MailingStatus.PAUSED).update(
            status=RunStatus.PAUSED,
            status_reason=_("The mailing was paused."),
            finished_at=None,
        )
        Mailing.reopen_completed(set(finished.values_list("mailing_id", flat=True)))
        finished.update(status=RunStatus.SENDING, status_reason="", finished_at=None)
        return queryset.exclude(status=DeliveryStatus.SKIPPED)


class SendingPolicy(models.Model):
    """Per-owner limits: send rate across all workers, and when a run gives up."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sending_policy"
    )
    messages_per_minute = models.PositiveIntegerField(
        _("messages per minute"),
        default=3000,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    pause_after_consecutive_failures = models.PositiveIntegerField(
        _("pause a run after this many failures in a row"),
        default=20,
        validators=[MinValueValidator(1)],
    )

    class Meta:
        verbose_name = _("sending policy")
        verbose_name_plural = _("sending policies")

    def __str__(self) -> str:
        return f"{self.owner}: {self.messages_per_minute}/min"


class ImportStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting to start")
    IMPORTING = "importing", _("Importing")
    FINISHED = "finished", _("Finished")
    REFUSED = "refused", _("Refused: your recipients changed since the preview")


class RecipientImport(WorkItem):
    """A confirmed CSV import, run by a worker in batches (`campaigns/import_batches.py`).

    Each batch is one transaction that writes its recipients and moves `rows_done` and
    the counts on, so a worker killed between two batches loses nothing and a batch is
    never written twice. `idempotency_key` is the preview's, so a double confirm finds
    this job instead of starting another. The file waits in `RecipientImportFile`
    until the job ends.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recipient_imports"
    )
    target_list = models.ForeignKey(
        RecipientList,
        verbose_name=_("list"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    filename = models.CharField(_("file name"), max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="What the preview showed (hash).")
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.WAITING
    )
    total_rows = models.PositiveIntegerField(_("lines"), default=0)
    rows_done = models.PositiveIntegerField(_("lines done"), default=0)
    created = models.PositiveIntegerField(_("added"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    conflicts = models.PositiveIntegerField(_("changed since the preview"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recipient import")
        verbose_name_plural = _("recipient imports")
        ordering = ["-created_at", "-id"]

    lease_seconds = SettingValue("CAMPAIGNS_IMPORT_LEASE_SECONDS", 120)  # type: ignore[assignment]
    requeue_after_seconds = SettingValue("CAMPAIGNS_REQUEUE_AFTER_SECONDS", 120)  # type: ignore[assignment]

    def __str__(self) -> str:
        return f"{self.filename} ({self.rows_done}/{self.total_rows})"

    @property
    def work_summary(self) -> str:
        """Operators see whose import and how far, not the file's name (it may name a
        person)."""
        return _("CSV import %(id)s of user %(owner)s, line %(done)s of %(total)s") % {
            "id": self.pk,
            "owner": self.owner_id,
            "done": self.rows_done,
            "total": self.total_rows,
        }

    @property
    def work_error(self) -> str:
        return EMAIL_IN_TEXT.sub(lambda found: mask_email(found.group(0)), self.last_error)

    @property
    def is_finished(self) -> bool:
        return self.status in {ImportStatus.FINISHED, ImportStatus.REFUSED} or (
            self.state == WorkState.DONE
        )

    @property
    def has_failed(self) -> bool:
        return self.state in {WorkState.FAILED, WorkState.ATTENTION}

    @property
    def was_stopped(self) -> bool:
        """Discarded by an operator before it finished."""
        return self.state == WorkState.DONE and self.status not in {
            ImportStatus.FINISHED,
            ImportStatus.REFUSED,
        }

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.total_rows) if self.total_rows else 0

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("campaigns.import_recipients", [(pk,) for pk in pks])


class RecipientImportFile(models.Model):
    """The text of an import's file, apart from the job row so that recording progress
    after each batch does not rewrite megabytes; deleted when the job ends.

    `plan` holds one letter per planned line (see `import_batches.CODES`), written once
    the job has checked that the file still plans as the preview showed.
    """

    job = models.OneToOneField(
        RecipientImport, on_delete=models.CASCADE, primary_key=True, related_name="source"
    )
    text = models.TextField()
    plan = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"file of import {self.job_id}"


class RecipientImportProblem(models.Model):
    """A line that was not imported, and why: rejected, or changed since the preview."""

    job = models.ForeignKey(RecipientImport, on_delete=models.CASCADE, related_name="problems")
    line = models.PositiveIntegerField(_("line"))
    email = models.CharField(_("email"), max_length=254, blank=True)
    reason = models.TextField(_("why"))

    class Meta:
        ordering = ["line"]
        constraints = [
            models.UniqueConstraint("job", "line", name="campaigns_import_problem_per_line"),
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
