"""Unrestricted is an explicit property of a key: the keys that had no brand so far were
unrestricted, and stay so; every other key is restricted for good."""
from django.db import migrations, models


def mark(apps, schema_editor):
    ApiKey = apps.get_model("campaigns", "ApiKey")
    ApiKey.objects.filter(brands__isnull=True).update(is_unrestricted=True)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0005_campaign_was_active")]
    operations = [
        migrations.AddField(
            model_name="apikey", name="is_unrestricted",
            field=models.BooleanField(default=False, help_text="May use every brand. Otherwise only the brands "
                                      "ticked below.", verbose_name="unrestricted"),
        ),
        migrations.RunPython(mark, migrations.RunPython.noop),
    ]
