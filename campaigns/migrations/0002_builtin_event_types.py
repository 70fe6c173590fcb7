from django.db import migrations

BUILT_IN = ("PURCHASE", "REGISTRATION", "BIRTHDAY", "ADD_TO_CART", "TIER_ADJUSTMENT")


def create(apps, schema_editor):
    EventType = apps.get_model("campaigns", "EventType")
    for name in BUILT_IN:
        EventType.objects.update_or_create(name=name, defaults={"built_in": True, "tracking_only": False})


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
