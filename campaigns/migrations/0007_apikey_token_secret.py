"""Each API key signs its tokens with a secret of its own (issue 8, item 11). The column is added
with a placeholder, then every existing key gets its own random secret (a callable default on
AddField would give all existing rows the same one). Tokens issued before keep nothing: they
were signed with SECRET_KEY and are refused from now on; clients re-authorise (401 -> authorize)."""

import secrets

from django.db import migrations, models

import campaigns.models


def give_each_key_its_secret(apps, schema_editor):
    ApiKey = apps.get_model("campaigns", "ApiKey")
    for key in ApiKey.objects.only("pk"):
        ApiKey.objects.filter(pk=key.pk).update(token_secret=secrets.token_hex(32))


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0006_apikey_is_unrestricted")]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="token_secret",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(give_each_key_its_secret, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apikey",
            name="token_secret",
            field=models.CharField(default=campaigns.models.new_token_secret, editable=False, max_length=64),
        ),
    ]
