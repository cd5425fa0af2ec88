from django.contrib import admin

from lavka.core.models import OutboxMessage, WorkerHeartbeat


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("subject", "from_email", "created_at")
    search_fields = ("subject",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("hostname", "queues", "started_at", "last_seen_at")
    readonly_fields = ("hostname", "queues", "started_at", "last_seen_at")
