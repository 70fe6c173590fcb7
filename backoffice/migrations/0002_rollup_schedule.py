"""The dashboard rollup runs every 5 minutes after `migrate` (today's and yesterday's summary
rows), editable in the admin (Periodic tasks); and its one RollupRun row exists."""

from django.db import migrations


def create(apps, schema_editor):
    apps.get_model("backoffice", "RollupRun").objects.get_or_create(pk=1)
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Roll up the dashboard",
        defaults={
            "task": "backoffice.rollup_dashboard",
            "interval": every,
            "enabled": True,
            "description": "Recomputes today's and yesterday's rows of the admin dashboard's summary tables "
            "from the ledger and the event transitions.",
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="backoffice.rollup_dashboard").delete()


class Migration(migrations.Migration):
    dependencies = [("backoffice", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
