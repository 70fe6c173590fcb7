"""The periodic task does four jobs: it is named for what it is (`events.housekeeping`), and its
schedule says all four. Also: transition sources are a fixed set (api, admin, command, task, engine)."""
from django.db import migrations, models

DESCRIPTION = ("Every minute: expires held events past their reservation window, expires wallet lines past "
               "their date (both in batches, FOR UPDATE SKIP LOCKED), re-sends queued events whose task was lost, "
               "and purges idempotency records older than 24 hours.")


def rename(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="events.expire_due").update(
        task="events.housekeeping", name="Housekeeping: expiry, lost tasks, idempotency records",
        description=DESCRIPTION)


def unrename(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="events.housekeeping").update(
        task="events.expire_due", name="Expire due events and wallet lines")


class Migration(migrations.Migration):
    dependencies = [("events", "0005_event_replaces"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [
        migrations.RunPython(rename, unrename),
        migrations.AlterField(
            model_name="eventtransition", name="source",
            field=models.CharField(choices=[("api", "api"), ("admin", "admin"), ("command", "command"),
                                            ("task", "task"), ("engine", "engine")], default="api", max_length=32),
        ),
    ]
