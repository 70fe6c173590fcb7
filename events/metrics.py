"""What a customer's metric buckets must hold, rebuilt from the events (issue 8, item 8).

A bucket (wallets.MetricBucket: customer, month, brand) counts the customer's RESOLVED events of
that month at that brand, the engine's own TIER_ADJUSTMENT events and the operators' manual
ADJUSTMENT events excepted: the purchases, the
spend (PURCHASE `order.value`), the count per event type and the last visit. Reversal takes back
what an event added, so the buckets always equal this rebuild; `manage.py verify_ledger` (and
the test suite after every test) checks that they do. Buckets without a brand (figures imported
from elsewhere) have no events to rebuild them from and are left out of the comparison.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from core.clock import month_of

ZERO = Decimal(0)
# The engine's own records (a tier move, events.rewarding.customer_tier_recompute): no customer
# event, so no visit and no metric; nobody emits one (events.services.emit) and nobody reverses
# one (events.services.transitions): reversing the customer's event that caused it recomputes
# the tier.
ENGINE_RECORDS = ("TIER_ADJUSTMENT",)
# An operator's correction of a balance (events.services.adjust): money moved by hand, not a
# customer's visit, so it counts in no metric either; unlike an engine record it is reversible.
MANUAL_RECORDS = ("ADJUSTMENT",)
# A referrer's reward for a referred customer's event (the referrals app): recorded by the engine,
# nobody emits one, no visit of the referrer's; reversed with the referred customer's event.
REWARD_RECORDS = ("REFERRAL",)
NOT_COUNTED = ENGINE_RECORDS + MANUAL_RECORDS + REWARD_RECORDS
BY_BRAND = "lifetime_by_brand"  # in a stored event result's `customer`: {brand id: lifetime metrics}


def event_spend(type_id: str, data: dict) -> Decimal:
    """What a counted event adds to `spend_total`: a PURCHASE's order value, exactly."""
    if type_id != "PURCHASE":
        return ZERO
    value = (data.get("order") or {}).get("value") or 0
    return value if isinstance(value, Decimal) else Decimal(str(value))


def counted(events):
    """The events that count in metrics, of an Event queryset (historical models welcome)."""
    return events.filter(status="RESOLVED").exclude(type_id__in=NOT_COUNTED)


def buckets_expected(events) -> dict[tuple, dict]:
    """{(customer_id, month, brand_id): {number_of_purchases, spend_total, events, last_visit}}
    rebuilt from an Event queryset (it is narrowed to the counted events)."""
    out: dict[tuple, dict] = defaultdict(
        lambda: {"number_of_purchases": 0, "spend_total": ZERO, "events": {}, "last_visit": None}
    )
    rows = counted(events).values_list("customer_id", "brand_id", "type_id", "issued_at", "data")
    for customer_id, brand_id, type_id, issued_at, data in rows.iterator(chunk_size=2000):
        bucket = out[(customer_id, month_of(issued_at), brand_id)]
        bucket["number_of_purchases"] += int(type_id == "PURCHASE")
        bucket["spend_total"] += event_spend(type_id, data)
        bucket["events"][type_id] = bucket["events"].get(type_id, 0) + 1
        if bucket["last_visit"] is None or issued_at > bucket["last_visit"]:
            bucket["last_visit"] = issued_at
    return dict(out)


def metrics_drift() -> list[str]:
    """Every bucket that differs from the events' rebuild ([] = clean)."""
    from events.models import Event
    from wallets.models import MetricBucket

    expected = buckets_expected(Event.objects.all())
    problems = []
    for bucket in MetricBucket.objects.filter(brand__isnull=False):
        key = (bucket.customer_id, bucket.month, bucket.brand_id)
        want = expected.pop(key, None)
        have = {
            "number_of_purchases": bucket.number_of_purchases,
            "spend_total": bucket.spend_total,
            "events": bucket.events,
            "last_visit": bucket.last_visit,
        }
        if want is None:
            want = {"number_of_purchases": 0, "spend_total": ZERO, "events": {}, "last_visit": None}
            if have == want:
                continue  # an emptied bucket (its events reversed)
        if have != want:
            problems.append(f"metrics of {key[0]!r} for {key[1]:%Y-%m} at brand {key[2]!r}: {have} != events {want}")
    for key, want in expected.items():
        problems.append(f"metrics of {key[0]!r} for {key[1]:%Y-%m} at brand {key[2]!r} missing: events {want}")
    return problems
