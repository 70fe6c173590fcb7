"""An event's month bucket is counted the same whichever way it is written: on PostgreSQL one
INSERT ... ON CONFLICT DO UPDATE (wallets.metrics._metrics_add_upsert), elsewhere a get-or-create
and an update. Both partial unique constraints (brand set, brand null) are conflict targets."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.clock import month_of
from events.services import event_reverse
from tests.factories import BrandFactory, CustomerFactory
from tests.helpers import emit
from wallets.metrics import metrics_apply
from wallets.models import MetricBucket

pytestmark = pytest.mark.django_db


def _bucket(customer, brand, month):
    bucket = MetricBucket.objects.get(customer=customer, brand=brand, month=month)
    bucket.events.pop("REGISTRATION", None)  # the factory's customer may have registered there
    return bucket


def test_events_add_up_in_their_brand_and_month_bucket():
    brand, other = BrandFactory(), BrandFactory()
    customer = CustomerFactory()
    now = timezone.now()
    first = emit(customer, brand, value="10.5", issued_at=now - timedelta(minutes=5))
    emit(customer, brand, value="4.25", issued_at=now - timedelta(minutes=1))
    emit(customer, brand, type="ADD_TO_CART")
    emit(customer, other, value=7)

    bucket = _bucket(customer, brand, month_of(now))
    assert (bucket.number_of_purchases, bucket.spend_total) == (2, Decimal("14.75"))
    assert bucket.events == {"PURCHASE": 2, "ADD_TO_CART": 1}
    assert bucket.last_visit >= now - timedelta(minutes=1)
    assert _bucket(customer, other, month_of(now)).events == {"PURCHASE": 1}

    event_reverse(event_id=first.pk, reason="test")
    bucket = _bucket(customer, brand, month_of(now))
    assert (bucket.number_of_purchases, bucket.spend_total) == (1, Decimal("4.25"))
    assert bucket.events == {"PURCHASE": 1, "ADD_TO_CART": 1}


def test_a_brandless_bucket_is_one_per_month():
    customer = CustomerFactory()
    now = timezone.now()
    month = month_of(now)
    for spend in ("1", "2"):
        metrics_apply(
            customer_id=customer.pk, brand_id=None, month=month, event_type="PURCHASE",
            is_purchase=True, spend=Decimal(spend), issued_at=now, sign=1,
        )  # fmt: skip
    bucket = MetricBucket.objects.get(customer=customer, brand=None, month=month)
    assert (bucket.number_of_purchases, bucket.spend_total, bucket.events) == (2, Decimal(3), {"PURCHASE": 2})


def test_taking_events_back_restores_the_months_last_visit_and_drops_a_type_at_zero():
    brand = BrandFactory()
    customer = CustomerFactory(record_event=False)
    now = timezone.now()
    older = emit(customer, brand, value="3", issued_at=now - timedelta(minutes=30))
    cart = emit(customer, brand, type="ADD_TO_CART", issued_at=now - timedelta(minutes=20))
    latest = emit(customer, brand, value="5", issued_at=now - timedelta(minutes=10))
    month = month_of(now)

    event_reverse(event_id=cart.pk, reason="test")
    bucket = _bucket(customer, brand, month)
    assert bucket.events == {"PURCHASE": 2}  # the type's count reached zero: the key is gone
    assert bucket.last_visit == latest.issued_at

    event_reverse(event_id=latest.pk, reason="test")
    bucket = _bucket(customer, brand, month)
    assert (bucket.number_of_purchases, bucket.spend_total, bucket.events) == (1, Decimal(3), {"PURCHASE": 1})
    assert bucket.last_visit == older.issued_at  # the latest other counted event of the month

    event_reverse(event_id=older.pk, reason="test")
    bucket = _bucket(customer, brand, month)
    assert (bucket.number_of_purchases, bucket.spend_total, bucket.events, bucket.last_visit) == (0, 0, {}, None)


def test_taking_back_from_a_brandless_bucket_returns_every_bucket_of_the_customer():
    customer = CustomerFactory(record_event=False)
    brand = BrandFactory()
    now = timezone.now()
    month = month_of(now)
    emit(customer, brand, value=2)
    common = dict(customer_id=customer.pk, brand_id=None, month=month, event_type="PURCHASE", is_purchase=True)
    metrics_apply(**common, spend=Decimal("7.5"), issued_at=now, sign=1)
    metrics_apply(**common, spend=Decimal("2.5"), issued_at=now, sign=1)
    buckets = metrics_apply(**common, spend=Decimal("2.5"), issued_at=now, sign=-1, last_visit=now, with_buckets=True)

    bucket = MetricBucket.objects.get(customer=customer, brand=None, month=month)
    assert (bucket.number_of_purchases, bucket.spend_total, bucket.events) == (1, Decimal("7.5"), {"PURCHASE": 1})
    assert bucket.last_visit == now
    stored = {
        (b.pk, b.brand_id, b.number_of_purchases, b.spend_total) for b in MetricBucket.objects.filter(customer=customer)
    }
    if buckets is not None:  # PostgreSQL: the statement itself answers every bucket after it
        assert {(b.pk, b.brand_id, b.number_of_purchases, b.spend_total) for b in buckets} == stored
        assert len(buckets) == 2
