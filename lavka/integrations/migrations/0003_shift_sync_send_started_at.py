from django.db import migrations, models
from django.db.models import F


def mark_unfinished_rows(apps, schema_editor):
    """Rows not yet done may have sent part of their documents already (before this
    field existed): they look everything up, as every attempt did until now."""
    ShiftSync = apps.get_model("integrations", "ShiftSync")
    ShiftSync.objects.exclude(state="done").update(send_started_at=F("state_changed_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_shop_connection_without_token"),
    ]

    operations = [
        migrations.AddField(
            model_name="shiftsync",
            name="send_started_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="sending started at"),
        ),
        migrations.RunPython(mark_unfinished_rows, migrations.RunPython.noop),
    ]
