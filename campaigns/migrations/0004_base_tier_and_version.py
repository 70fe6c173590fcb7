import uuid

from django.db import migrations

BASE_TIER_ID = uuid.UUID("7a1e0000-0000-4000-8000-000000000001")


def create(apps, schema_editor):
    apps.get_model("campaigns", "Tier").objects.get_or_create(
        level=1, defaults={"id": BASE_TIER_ID, "name": "Base", "entry_conditions": []})
    apps.get_model("campaigns", "ProgrammeVersion").objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0003_tiers_budgets_limits")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
