"""Metric buckets gain a brand (issue 8, item 3): rebuild every bucket from the events, which
know their brand. Buckets so far were one per customer and month, built by the same rule
(events.metrics), so the rebuild changes no programme-wide figure."""

from django.db import migrations


def rebuild(apps, schema_editor):
    from events.metrics import buckets_expected

    Event = apps.get_model("events", "Event")
    MetricBucket = apps.get_model("wallets", "MetricBucket")
    expected = buckets_expected(Event.objects.all())
    MetricBucket.objects.filter(brand__isnull=True).delete()
    MetricBucket.objects.bulk_create(
        [
            MetricBucket(customer_id=customer_id, month=month, brand_id=brand_id, **figures)
            for (customer_id, month, brand_id), figures in expected.items()
        ],
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [("events", "0007_exact_decimal_json"), ("wallets", "0007_metric_bucket_brand")]
    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop)]
