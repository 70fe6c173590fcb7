"""The built-in REFERRAL event type: a referrer's reward for a referred customer's event
(referrals.rewarding), tracking-only like ADJUSTMENT so that no campaign takes it as its trigger
(campaigns.services refuses tracking-only triggers), and never emitted by a client
(events.metrics.REWARD_RECORDS). `create` is the data step on its own (the tests put the row
back after a flush: tests/conftest.py SEEDING_MIGRATIONS)."""

from django.db import migrations

REFERRAL = "REFERRAL"


def create(apps, schema_editor):
    EventType = apps.get_model("campaigns", "EventType")
    EventType.objects.update_or_create(name=REFERRAL, defaults={"built_in": True, "tracking_only": True})


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0001_initial"),
        ("campaigns", "0009_campaign_referrals"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
