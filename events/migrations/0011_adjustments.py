"""Manual adjustments (events.services.adjust): the `adjust_balance` permission and the built-in
ADJUSTMENT event type they are recorded as. The type is tracking-only, so that no campaign can
choose it as its trigger (campaigns.services.campaigns); the engine never evaluates campaigns
for it either way. `create` is the data step on its own (the tests put the row back after a
flush, as they do for the campaigns app's built-in types)."""

from django.db import migrations

ADJUSTMENT = "ADJUSTMENT"


def create(apps, schema_editor):
    EventType = apps.get_model("campaigns", "EventType")
    EventType.objects.update_or_create(name=ADJUSTMENT, defaults={"built_in": True, "tracking_only": True})


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0010_birthday_greetings"),
        ("campaigns", "0002_builtin_event_types"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="event",
            options={
                "ordering": ["-issued_at", "-created_at"],
                "permissions": [
                    ("reverse_event", "Can reverse or cancel events"),
                    ("fulfill_event", "Can fulfill events"),
                    ("adjust_balance", "Can adjust a customer's balance by hand"),
                ],
            },
        ),
        migrations.RunPython(create, migrations.RunPython.noop),
    ]
