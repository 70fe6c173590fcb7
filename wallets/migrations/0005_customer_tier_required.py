"""Every customer is in a tier: the ones registered before tiers existed move to the base tier
(level 1), and the column becomes required, so no code needs a "no tier means base" branch."""
import django.db.models.deletion
from django.db import migrations, models


def to_base(apps, schema_editor):
    base, _ = apps.get_model("campaigns", "Tier").objects.get_or_create(
        level=1, defaults={"name": "Base", "entry_conditions": []})
    apps.get_model("wallets", "Customer").objects.filter(tier__isnull=True).update(tier=base)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0004_base_tier_and_version"), ("wallets", "0004_line_budgeted")]
    operations = [
        migrations.RunPython(to_base, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="customer", name="tier",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="customers",
                                    to="campaigns.tier"),
        ),
    ]
