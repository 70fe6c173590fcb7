"""The periodic expiry task exists after `migrate`, every minute, editable in the admin
(django-celery-beat's Periodic tasks)."""
from django.db import migrations


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.get_or_create(
        name="Expire due events and wallet lines",
        defaults={"task": "events.expire_due", "interval": every_minute, "enabled": True,
                  "description": "Expires held events past their reservation window and wallet lines past "
                                 "their date, in batches (SKIP LOCKED)."},
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="events.expire_due").delete()


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
