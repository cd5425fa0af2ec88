"""Bookkeeping sync: an owner's connections to an accounting and a point-of-sale system,
their reference data, the owner's mapping of trade points, the sync schedules and what
each run did. Names follow /work/integrations-models.md (shared with the sync code)."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lavka.core import background
from lavka.core.secrets import EncryptedTextField, mask
from lavka.core.work import WorkItem, WorkState, error_text


def min_interval_minutes() -> int:
    """The shortest interval an owner may give a sync schedule."""
    return int(getattr(settings, "LAVKA_SYNC_MIN_INTERVAL_MINUTES", 5))


class ConnectionRole(models.TextChoices):
    ACCOUNTING = "accounting", _("Accounting")
    POINT_OF_SALE = "point_of_sale", _("Point of sale")
    # Lavka's own online shop as a point of sale (built in: no token, no external system)
    SHOP = "shop", _("Online shop")


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Token revoked")
    FAILING = "failing", _("Failing")


class Connection(models.Model):
    """An owner's account with one external system, reached with the owner's token.

    The token is encrypted at rest; `token_digest` (a keyed HMAC) makes "one token, one
    owner" a unique constraint per system without decrypting anything. The online shop's
    connection (role `shop`) reaches Lavka itself: it has no token, and the constraint
    leaves it out.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="integration_connections",
    )
    role = models.CharField(_("role"), max_length=16, choices=ConnectionRole.choices)
    system = models.CharField(_("system"), max_length=32)
    base_url = models.URLField(
        _("base URL"),
        max_length=500,
        blank=True,
        help_text=_("Empty: the system's own address (or the local stand-in on a local site)."),
    )
    token = EncryptedTextField(_("token"), digest_field="token_digest")
    token_digest = models.CharField(_("token digest"), max_length=64, editable=False)
    account_external_id = models.CharField(_("account id"), max_length=100, blank=True)
    account_name = models.CharField(_("account name"), max_length=300, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ConnectionStatus.choices,
        default=ConnectionStatus.ACTIVE,
    )
    status_reason = models.CharField(_("status reason"), max_length=500, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    reference_refreshed_at = models.DateTimeField(
        _("reference data refreshed at"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["owner_id", "role"]
        constraints = [
            models.UniqueConstraint("owner", "role", name="integrations_connection_owner_role"),
            models.UniqueConstraint(
                "system",
                "token_digest",
                condition=~Q(role="shop"),
                name="integrations_connection_system_token",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system} ({self.get_role_display()}) of {self.owner_id}"

    @property
    def masked_token(self) -> str:
        return mask(self.token)


class ReferenceKind(models.TextChoices):
    CASH_DESK = "cash_desk", _("Cash desk")
    WAREHOUSE = "warehouse", _("Warehouse")
    TRADE_POINT = "trade_point", _("Trade point")


class ReferenceItem(models.Model):
    """A cash desk or warehouse (accounting) or a trade point (registers) as last read
    from the system; `gone_at` is set when the system stops listing it (kept, since a
    mapping may still point at it)."""

    connection = models.ForeignKey(
        Connection,
        verbose_name=_("connection"),
        on_delete=models.CASCADE,
        related_name="reference_items",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ReferenceKind.choices)
    external_id = models.CharField(_("external id"), max_length=100)
    name = models.CharField(_("name"), max_length=300)
    is_main = models.BooleanField(_("main"), default=False)
    gone_at = models.DateTimeField(_("gone at"), null=True, blank=True)
    refreshed_at = models.DateTimeField(_("refreshed at"), default=timezone.now)

    class Meta:
        verbose_name = _("reference item")
        verbose_name_plural = _("reference items")
        ordering = ["kind", "-is_main", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                "connection", "kind", "external_id", name="integrations_reference_item_external"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TradePointMapping(models.Model):
    """Where a trade point's sales are booked (a cash desk, a warehouse) and which
    goods its registers get. PROTECT: a mapped cash desk or warehouse cannot be deleted
    from under the mapping."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="trade_point_mappings",
    )
    trade_point = models.OneToOneField(
        ReferenceItem,
        verbose_name=_("trade point"),
        on_delete=models.PROTECT,
        related_name="mapping",
    )
    cash_desk = models.ForeignKey(
        ReferenceItem,
        verbose_name=_("cash desk"),
        on_delete=models.PROTECT,
        related_name="cash_desk_mappings",
    )
    warehouse = models.ForeignKey(
        ReferenceItem,
        verbose_name=_("warehouse"),
        on_delete=models.PROTECT,
        related_name="warehouse_mappings",
    )
    sales_cursor = models.DateTimeField(
        _("sales cursor"),
        null=True,
        blank=True,
        help_text=_("When the newest shift booked closed."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("trade point mapping")
        verbose_name_plural = _("trade point mappings")
        ordering = ["owner_id", "pk"]

    def __str__(self) -> str:
        return f"{self.trade_point_id} → {self.cash_desk_id}, {self.warehouse_id}"


class SyncJob(models.TextChoices):
    GOODS = "goods", _("Goods to the registers")
    SALES = "sales", _("Sales to accounting")


class SyncSchedule(models.Model):
    """One of an owner's two periodic jobs, due at `next_run_at`; a fixed dispatcher
    fires what is due (no beat entry per owner)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="sync_schedules",
    )
    job = models.CharField(_("job"), max_length=16, choices=SyncJob.choices)
    interval_minutes = models.PositiveIntegerField(_("interval, minutes"), default=15)
    next_run_at = models.DateTimeField(_("next run at"), db_index=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("sync schedule")
        verbose_name_plural = _("sync schedules")
        ordering = ["owner_id", "job"]
        constraints = [
            models.UniqueConstraint("owner", "job", name="integrations_schedule_owner_job"),
        ]

    def __str__(self) -> str:
        return f"{self.get_job_display()} of {self.owner_id}"

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class SyncTrigger(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    MANUAL = "manual", _("Manual")


class SyncRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SyncRun(models.Model):
    """One firing of a schedule; (schedule, slot) is unique so a slot fires once."""

    schedule = models.ForeignKey(
        SyncSchedule, verbose_name=_("schedule"), on_delete=models.CASCADE, related_name="runs"
    )
    trigger = models.CharField(_("trigger"), max_length=16, choices=SyncTrigger.choices)
    slot = models.DateTimeField(_("slot"))
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=SyncRunStatus.choices, default=SyncRunStatus.RUNNING
    )
    shifts_found = models.PositiveIntegerField(_("shifts found"), default=0)
    shifts_booked = models.PositiveIntegerField(_("shifts booked"), default=0)
    goods_sent = models.PositiveIntegerField(_("goods sent"), default=0)
    goods_archived = models.PositiveIntegerField(_("goods archived"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint("schedule", "slot", name="integrations_run_schedule_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} at {self.slot:%Y-%m-%d %H:%M} ({self.status})"


class GoodLink(models.Model):
    """An accounting good as last sent to a trade point's registers: its content hash
    says whether it changed since ("only changed goods are sent")."""

    mapping = models.ForeignKey(
        TradePointMapping,
        verbose_name=_("mapping"),
        on_delete=models.CASCADE,
        related_name="good_links",
    )
    good_external_id = models.CharField(_("good id"), max_length=100)
    content_hash = models.CharField(_("content hash"), max_length=64)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("good link")
        verbose_name_plural = _("good links")
        constraints = [
            models.UniqueConstraint(
                "mapping", "good_external_id", name="integrations_good_link_mapping_good"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.good_external_id} → {self.mapping_id}"


class ShiftSync(WorkItem):
    """A closed shift booked into accounting exactly once: (mapping, shift) is unique and
    `report_number` is stable, so a retry finds the report it already sent."""

    mapping = models.ForeignKey(
        TradePointMapping,
        verbose_name=_("mapping"),
        on_delete=models.CASCADE,
        related_name="shift_syncs",
    )
    shift_external_id = models.CharField(_("shift id"), max_length=100)
    shift_number = models.PositiveIntegerField(_("shift number"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"))
    report_number = models.CharField(_("report number"), max_length=50)
    document_id = models.CharField(_("document id"), max_length=100, blank=True)
    revenue = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)
    receipts_count = models.PositiveIntegerField(_("receipts"), default=0)
    run = models.ForeignKey(
        SyncRun,
        verbose_name=_("run"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="shift_syncs",
    )
    # Set (under the lease) right before an attempt first creates anything in
    # accounting: from then on every attempt looks each of its documents up first.
    send_started_at = models.DateTimeField(_("sending started at"), null=True, blank=True)

    max_attempts = 8
    # A create's worst case: the takings' look-up, the takings and the report, three
    # calls of at most twice the client's timeout each (core/http.py: 2 x 20 s), 120 s;
    # the lease is renewed before it and between the takings and the report, and lasts
    # twice that and more, so no sweeper or chained task takes a row being sent.
    lease_seconds = 300
    requeue_after_seconds = 600

    class Meta:
        verbose_name = _("shift sync")
        verbose_name_plural = _("shift syncs")
        ordering = ["-closed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                "mapping", "shift_external_id", name="integrations_shift_sync_mapping_shift"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_number} ({self.state})"

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("integrations.sync_shift", [(pk,) for pk in pks])

    @classmethod
    def after_given_up(cls, pks: Sequence[int], *, error: str) -> None:
        """A shift no worker could finish waits for its owner, as every shift's dead
        letter does (the sync page lists, retries and discards those only), and its run
        counts the error."""
        rows = cls.objects.filter(pk__in=pks, state=WorkState.FAILED)
        given_up = list(rows.values_list("run_id", "report_number"))
        rows.update(state=WorkState.ATTENTION)
        for run_id, number in given_up:
            if run_id is not None:
                SyncRun.objects.filter(pk=run_id).update(
                    errors=F("errors") + 1, last_error=error_text(f"{number}: {error}")
                )


class ReportSend(models.Model):
    """A report whose sending to accounting has started, per owner and report number.
    It outlives the `ShiftSync` row (gone with its mapping when a trade point is
    unmapped, disconnected or the shop turned off), so a row made again for the same
    shift knows part of the report may be in accounting and looks everything up."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    report_number = models.CharField(_("report number"), max_length=50)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)

    class Meta:
        verbose_name = _("report send")
        verbose_name_plural = _("report sends")
        constraints = [
            models.UniqueConstraint(
                "owner", "report_number", name="integrations_report_send_owner_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_number} of {self.owner_id}"


class RevokedTokenEmail(WorkItem):
    """The email telling an owner that a system refused their token: one per revocation
    (unique on the connection and the moment it was marked revoked)."""

    connection = models.ForeignKey(
        Connection,
        verbose_name=_("connection"),
        on_delete=models.CASCADE,
        related_name="revoked_token_emails",
    )
    revoked_at = models.DateTimeField(_("revoked at"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    max_attempts = 8
    lease_seconds = 120
    requeue_after_seconds = 600

    class Meta:
        verbose_name = _("revoked token email")
        verbose_name_plural = _("revoked token emails")
        constraints = [
            models.UniqueConstraint(
                "connection", "revoked_at", name="integrations_revoked_email_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} at {self.revoked_at:%Y-%m-%d %H:%M} ({self.state})"

    @classmethod
    def queue_work(cls, pks: Sequence[int]) -> None:
        background.start_each("integrations.send_revoked_token_email", [(pk,) for pk in pks])
