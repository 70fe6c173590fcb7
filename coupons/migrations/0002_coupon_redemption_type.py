"""The built-in COUPON_REDEMPTION event type: what a coupon's redemption is recorded as (the
trigger of every COUPONS campaign; campaigns.services.coupon_fields). Not tracking-only (it
rewards), never emitted by the API (events.api refuses it: coupons.services records it).
`create` is the data step on its own (the tests put the row back after a flush)."""

from django.db import migrations

COUPON_REDEMPTION = "COUPON_REDEMPTION"


def create(apps, schema_editor):
    EventType = apps.get_model("campaigns", "EventType")
    EventType.objects.update_or_create(name=COUPON_REDEMPTION, defaults={"built_in": True, "tracking_only": False})


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0001_initial"),
        ("campaigns", "0002_builtin_event_types"),
    ]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
