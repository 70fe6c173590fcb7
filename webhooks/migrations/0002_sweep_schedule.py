"""The webhook sweep runs every 30 seconds after `migrate` (retries whose time came, and what a
lost task or a killed worker left behind), editable in the admin (Periodic tasks)."""
from django.db import migrations


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.get_or_create(
        name="Send due webhook deliveries",
        defaults={"task": "webhooks.sweep", "interval": every, "enabled": True,
                  "description": "Queues the sending of webhook deliveries that are due: retries, and "
                                 "whatever a lost task or a killed worker left behind."},
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="webhooks.sweep").delete()


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
