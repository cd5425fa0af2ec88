"""Every account holds a role: people created without one (in the admin) become
customers, as a sign-up does, since access now comes from the role's permissions. The
beat entry of the welcome-email sweeper, replaced by the kernel's sweeper, is removed
from the database scheduler (which keeps entries no longer in the settings)."""

from django.db import migrations


def give_roleless_users_the_customer_role(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Group = apps.get_model("auth", "Group")
    customer, _created = Group.objects.get_or_create(name="customer")
    roleless = User.objects.filter(is_superuser=False, groups__isnull=True)
    for user in roleless.iterator():
        user.groups.add(customer)


def forget_the_old_sweeper(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task="accounts.queue_lost_welcome_emails").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_welcome_email_work_rows"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(give_roleless_users_the_customer_role, migrations.RunPython.noop),
        migrations.RunPython(forget_the_old_sweeper, migrations.RunPython.noop),
    ]
