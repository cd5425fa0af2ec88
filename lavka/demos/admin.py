from django.contrib import admin

from lavka.demos.models import Demo, DemoRun, DemoSample


class DemoSampleInline(admin.TabularInline):
    model = DemoSample
    extra = 0


@admin.register(Demo)
class DemoAdmin(admin.ModelAdmin):
    list_display = ["product", "kind", "service_url", "health_status", "health_checked_at"]
    list_filter = ["kind", "health_status"]
    readonly_fields = ["health_status", "health_checked_at", "health_reason"]
    inlines = [DemoSampleInline]


@admin.register(DemoRun)
class DemoRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "demo", "state", "attempts", "created_at", "expires_at"]
    list_filter = ["state"]
    readonly_fields = ["share_token", "result", "last_error"]
    exclude = ["session_key"]
