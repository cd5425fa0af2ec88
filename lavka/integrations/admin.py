"""Django admin for bookkeeping (superusers): read-mostly. A token is never shown or
edited here, only its mask; connecting goes through the owner's page, which checks the
token with the system first."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from lavka.core.admin_base import ViewOnlyAdmin
from lavka.integrations.models import (
    Connection,
    ReferenceItem,
    ReportSend,
    RevokedTokenEmail,
    ShiftSync,
    SyncRun,
    SyncSchedule,
    TradePointMapping,
)


# Every model here is view-only: deleting goes through the owner's page (disconnect,
# remove a mapping), which removes the schedules with the last mapping.
@admin.register(Connection)
class ConnectionAdmin(ViewOnlyAdmin):
    list_display = ("owner", "role", "system", "account_name", "status", "masked_token")
    list_filter = ("role", "system", "status")
    search_fields = ("owner__email", "account_name", "account_external_id")
    # `token` is left out on purpose: the admin shows its mask, never the secret.
    fields = (
        "owner",
        "role",
        "system",
        "base_url",
        "masked_token",
        "account_external_id",
        "account_name",
        "status",
        "status_reason",
        "status_changed_at",
        "reference_refreshed_at",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description=_("token"))
    def masked_token(self, obj: Connection) -> str:
        return obj.masked_token


@admin.register(ReferenceItem)
class ReferenceItemAdmin(ViewOnlyAdmin):
    list_display = ("name", "kind", "external_id", "connection", "is_main", "gone_at")
    list_filter = ("kind",)
    search_fields = ("name", "external_id")


@admin.register(TradePointMapping)
class TradePointMappingAdmin(ViewOnlyAdmin):
    list_display = ("owner", "trade_point", "cash_desk", "warehouse", "sales_cursor")
    search_fields = ("owner__email",)


@admin.register(SyncSchedule)
class SyncScheduleAdmin(ViewOnlyAdmin):
    list_display = ("owner", "job", "interval_minutes", "next_run_at", "paused_at")
    list_filter = ("job",)


@admin.register(SyncRun)
class SyncRunAdmin(ViewOnlyAdmin):
    list_display = (
        "schedule",
        "trigger",
        "slot",
        "status",
        "shifts_booked",
        "goods_sent",
        "errors",
    )
    list_filter = ("status", "trigger")


@admin.register(ShiftSync)
class ShiftSyncAdmin(ViewOnlyAdmin):
    list_display = ("report_number", "mapping", "closed_at", "state", "document_id", "revenue")
    list_filter = ("state",)


@admin.register(ReportSend)
class ReportSendAdmin(ViewOnlyAdmin):
    """Which reports may be in accounting already: it is what makes a re-made shift look
    its report up before sending, so it is never edited or deleted by hand."""

    list_display = ("report_number", "owner", "started_at")
    search_fields = ("report_number",)


@admin.register(RevokedTokenEmail)
class RevokedTokenEmailAdmin(ViewOnlyAdmin):
    list_display = ("connection", "revoked_at", "state", "attempts")
    list_filter = ("state",)
