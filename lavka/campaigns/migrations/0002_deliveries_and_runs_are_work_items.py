"""Deliveries and runs become the kernel's durable work rows (lavka.core.work.WorkItem).

A delivery's claim columns are renamed to the kernel's lease columns (their values
kept); its work state follows its outcome (failures of finished runs are done: history,
not work to retry). A run's work is preparing its deliveries:
a run still preparing is pending, every other run is done.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F, Q

WORK_STATES = [
    ("pending", "Pending"),
    ("claimed", "Claimed"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("attention", "Needs attention"),
]


def set_work_states(apps, schema_editor):
    Delivery = apps.get_model("campaigns", "Delivery")
    MailingRun = apps.get_model("campaigns", "MailingRun")
    Delivery.objects.filter(status__in=["sent", "skipped"]).update(
        state="done", lease_owner="", lease_expires_at=None
    )
    # Failures of runs already over are history, not work for an operator to retry.
    finished_runs = ["completed", "failed", "missed"]
    Delivery.objects.filter(status="failed", run__status__in=finished_runs).update(
        state="done", last_error=F("smtp_reply"), lease_owner="", lease_expires_at=None
    )
    Delivery.objects.filter(status="failed").exclude(run__status__in=finished_runs).update(
        state="failed", last_error=F("smtp_reply"), lease_owner="", lease_expires_at=None
    )
    Delivery.objects.filter(status="pending").exclude(
        Q(lease_owner="") | Q(lease_expires_at__isnull=True)
    ).update(state="claimed")
    MailingRun.objects.filter(status="preparing").update(queued_at=F("created_at"))
    MailingRun.objects.exclude(status="preparing").update(state="done")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
    ]

    operations = [
        migrations.RenameField("delivery", "claim_token", "lease_owner"),
        migrations.RenameField("delivery", "claimed_until", "lease_expires_at"),
        migrations.RenameField("delivery", "enqueued_at", "queued_at"),
        migrations.AlterField(
            model_name="delivery",
            name="lease_owner",
            field=models.CharField(blank=True, max_length=32, verbose_name="lease owner"),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="lease expires at"),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="queued_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="queued at"),
        ),
        migrations.AddField(
            model_name="delivery",
            name="idempotency_key",
            field=models.CharField(
                blank=True,
                max_length=200,
                null=True,
                unique=True,
                verbose_name="idempotency key",
            ),
        ),
        migrations.AddField(
            model_name="delivery",
            name="last_error",
            field=models.TextField(blank=True, verbose_name="last error"),
        ),
        migrations.AddField(
            model_name="delivery",
            name="state",
            field=models.CharField(
                choices=WORK_STATES,
                db_index=True,
                default="pending",
                max_length=16,
                verbose_name="work state",
            ),
        ),
        migrations.AddField(
            model_name="delivery",
            name="state_changed_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, verbose_name="state changed at"
            ),
        ),
        migrations.AddField(
            model_name="mailingrun",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="attempts"),
        ),
        migrations.AddField(
            model_name="mailingrun",
            name="idempotency_key",
            field=models.CharField(
                blank=True,
                max_length=200,
                null=True,
                unique=True,
                verbose_name="idempotency key",
            ),
        ),
        migrations.AddField(
            model_name="mailingrun",
            name="last_error",
            field=models.TextField(blank=True, verbose_name="last error"),
        ),
        migrations.AddField(
            model_name="mailingrun",
            name="lease_expires_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="lease expires at"),
        ),
        migrations.AddField(
            model_name="mailingrun",
            name="lease_owner",
            field=models.CharField(blank=True, max_length=32, verbose_name="lease owner"),
        ),
        migrations.AddField(
            model_name="mailingrun",
            name="not_before",
            field=models.DateTimeField(blank=True, null=True, verbose_name="not before"),
        ),
        migrations.AddField(
            model_name="mailingrun",
            name="queued_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="queued at"),
        ),
        migrations.AddField(
            model_name="mailingrun",
            name="state",
            field=models.CharField(
                choices=WORK_STATES,
                db_index=True,
                default="pending",
                max_length=16,
                verbose_name="work state",
            ),
        ),
        migrations.AddField(
            model_name="mailingrun",
            name="state_changed_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, verbose_name="state changed at"
            ),
        ),
        migrations.RunPython(set_work_states, migrations.RunPython.noop),
    ]
