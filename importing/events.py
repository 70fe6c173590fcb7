"""Historical events (`POST /customers/migrate/events`, `import_programme --kind events`).

An imported event happened on the platform the programme comes from: it is stored RESOLVED at
its own `issued_at` and `resolved_at` (any age: the live API's 72-hour window does not apply),
with its one transition (source `import`), and it never evaluates a campaign, never moves a
wallet and sends no webhook. It counts in the customer's metrics like a live one, so after each
batch the metrics of the customers it touched are rebuilt from their events (events.metrics, the
rebuild `verify_ledger` checks), and their tier is recomputed (moved silently: no TIER_ADJUSTMENT
event, no TIER_UPGRADE webhook; the import's audit entry says who moved the programme in).

Imported metric figures that came with the customer (its brandless buckets, importing.customers)
stay for the months before the customer's first imported event and give way to the events from
that month on: the events are the finer account of the same history.

A record is keyed by its `id`, else by its brand, type and `order.purchase_id`, else by a digest
of the record: the same record sent again is "already imported". A record repeating a live
purchase (the same brand, type and purchase id as a live event) is refused, as the live API
refuses it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from campaigns.models import Brand, EventType
from core.api import flatten_errors
from core.clock import month_of
from events.api import OrderIn
from events.metrics import NOT_COUNTED, buckets_expected
from events.models import Event
from events.status import Source, events_record_history
from importing.models import ImportedEvent
from importing.records import (
    ALREADY_IMPORTED,
    MAX_KEY,
    BatchResult,
    Issue,
    RecordError,
    bounded_object,
    import_lock,
    moment,
    record,
    text,
)
from importing.tiers import tiers_recompute
from wallets.locks import wallets_lock
from wallets.models import Customer, MetricBucket

KEPT = ("platform", "metadata", "tags", "store_id", "channel_id")  # kept in the stored payload as sent


def event_record_clean(raw) -> dict:
    """One record of `{"events": [...]}`: `customer_id`, `brand_id`, `type` (required), `order`
    (as the live API's, required for a PURCHASE), `issued_at` (required, not in the future),
    `resolved_at` (not before `issued_at`; default `issued_at`), `fulfilled` (true or absent: a
    historical event is one that happened), `id`, `platform`, `metadata`, `tags`. Raises
    RecordError. Other fields are ignored."""
    raw = record(raw)
    out = {
        "customer_id": text(raw, "customer_id", required=True),
        "brand_id": text(raw, "brand_id", required=True),
        "type": text(raw, "type", required=True, max_length=64),
        "issued_at": moment(raw, "issued_at", required=True, past=True),
    }
    out["resolved_at"] = moment(raw, "resolved_at", past=True) or out["issued_at"]
    if out["resolved_at"] < out["issued_at"]:
        raise RecordError("invalid", "resolved_at: must not be before issued_at")
    if raw.get("fulfilled", True) is not True:
        raise RecordError("invalid", "fulfilled: a historical event is fulfilled (true)")
    if "order" in raw:
        order = OrderIn(data=raw["order"])
        if not order.is_valid():
            path, message = next(iter(flatten_errors(order.errors, "order").items()))
            raise RecordError("invalid", f"{path}: {message}")
        out["order"] = dict(order.validated_data)
    elif out["type"] == "PURCHASE":
        raise RecordError("required", "order: a PURCHASE event needs an order")
    for name in KEPT:
        if name == "platform" or name.endswith("_id"):
            if raw.get(name) not in (None, ""):
                out[name] = text(raw, name)
        elif name in raw:
            out[name] = bounded_object(raw, name)
    out["purchase_id"] = (out.get("order") or {}).get("purchase_id")
    out["key"] = _key(raw, out)
    return out


def _key(raw: dict, out: dict) -> str:
    if raw.get("id") not in (None, ""):
        return "id:" + text(raw, "id", max_length=MAX_KEY - 3)
    if out["purchase_id"]:
        key = f"purchase:{out['brand_id']}:{out['type']}:{out['purchase_id']}"
        if len(key) <= MAX_KEY:
            return key
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
    return "sha256:" + digest


def events_import(
    records: list[dict], *, api_key=None, brands: set[str] | None = None, now: datetime | None = None
) -> BatchResult:
    """Write a batch of cleaned records (event_record_clean) in one transaction, in a fixed number
    of statements plus one tier check per customer touched when the programme has tiers. What
    cannot be imported is answered per record (its index in `records`): "already_imported" (the
    same key imported before: skipped), "duplicate_record" (the same key earlier in the batch),
    "unknown_customer", "unknown_brand" (also a brand outside `brands`, a brand-restricted key's),
    "unknown_event_type" (or one only the engine records), "duplicate_purchase"."""
    now = now or timezone.now()
    result = BatchResult()
    with transaction.atomic():
        import_lock()
        keys = [r["key"] for r in records]
        done = set(ImportedEvent.objects.filter(key__in=keys).values_list("key", flat=True))
        customers = set(
            Customer.objects.filter(pk__in={r["customer_id"] for r in records}).values_list("pk", flat=True)
        )
        known_brands = set(Brand.objects.filter(pk__in={r["brand_id"] for r in records}).values_list("pk", flat=True))
        if brands is not None:
            known_brands &= brands
        types = set(EventType.objects.filter(pk__in={r["type"] for r in records}).values_list("pk", flat=True))
        types -= set(NOT_COUNTED)
        purchases = {(r["brand_id"], r["type"], r["purchase_id"]) for r in records if r["purchase_id"]}
        live = _live_purchases(purchases)
        seen: set[str] = set()
        accepted: list[tuple[dict, Event]] = []
        for index, rec in enumerate(records):
            problem = _refusal(rec, done, seen, customers, known_brands, types, live)
            if problem:
                result.answer(Issue(index, rec["key"], *problem))
                continue
            seen.add(rec["key"])
            if rec["purchase_id"]:
                live.add((rec["brand_id"], rec["type"], rec["purchase_id"]))
            accepted.append((rec, _event(rec)))
        if accepted:
            customer_ids = sorted({rec["customer_id"] for rec, _ in accepted})
            wallets_lock(customer_ids=customer_ids)  # no live event of theirs interleaves with the rebuild
            events = [event for _, event in accepted]
            events_record_history(events, source=Source.IMPORT, reason="imported")
            ImportedEvent.objects.bulk_create(ImportedEvent(key=rec["key"], event=event) for rec, event in accepted)
            metrics_rebuild(customer_ids=customer_ids)
            tiers_recompute(customer_ids=customer_ids, now=now)
        result.imported = len(accepted)
    return result


def _live_purchases(purchases: set[tuple]) -> set[tuple]:
    if not purchases:
        return set()
    rows = Event.objects.filter(
        status__in=Event.LIVE,
        purchase_id__in={p for _, _, p in purchases},
        brand_id__in={b for b, _, _ in purchases},
    ).values_list("brand_id", "type_id", "purchase_id")
    return set(rows) & purchases


def _refusal(rec, done, seen, customers, brands, types, live) -> tuple[str, str] | None:
    if rec["key"] in done:
        return ALREADY_IMPORTED, "this event was imported before"
    if rec["key"] in seen:
        return "duplicate_record", "the same event is earlier in this batch"
    if rec["customer_id"] not in customers:
        return "unknown_customer", f"customer {rec['customer_id']!r} not found (import the customers first)"
    if rec["brand_id"] not in brands:
        return "unknown_brand", f"brand {rec['brand_id']!r} not found"
    if rec["type"] not in types:
        return "unknown_event_type", f"event type {rec['type']!r} not found"
    if rec["purchase_id"] and (rec["brand_id"], rec["type"], rec["purchase_id"]) in live:
        return "duplicate_purchase", f"purchase {rec['purchase_id']!r} is already recorded by a live event"
    return None


def _event(rec: dict) -> Event:
    data = {name: rec[name] for name in ("customer_id", "brand_id", "type", "order", *KEPT) if name in rec}
    data["issued_at"] = rec["issued_at"].isoformat()
    return Event(
        id=uuid.uuid4(),
        customer_id=rec["customer_id"],
        brand_id=rec["brand_id"],
        type_id=rec["type"],
        fulfilled=True,
        purchase_id=rec["purchase_id"],
        platform=rec.get("platform", ""),
        data=data,
        result={"accumulations": [], "redemptions": [], "imported": True},
        issued_at=rec["issued_at"],
        resolved_at=rec["resolved_at"],
    )


def metrics_rebuild(*, customer_ids: list[str]) -> None:
    """The customers' metric buckets rebuilt from all their events (events.metrics); their
    imported figures (brandless buckets) kept for the months before their first imported event.
    The caller holds their wallet locks."""
    first = dict(
        ImportedEvent.objects.filter(event__customer_id__in=customer_ids)
        .values_list("event__customer_id")
        .annotate(first=Min("event__issued_at"))
    )
    buckets = MetricBucket.objects.filter(customer_id__in=customer_ids)
    buckets.filter(brand__isnull=False).delete()
    stale = [
        b.pk
        for b in buckets.filter(brand__isnull=True)
        if b.customer_id in first and b.month >= month_of(first[b.customer_id])
    ]
    MetricBucket.objects.filter(pk__in=stale).delete()
    rebuilt = buckets_expected(Event.objects.filter(customer_id__in=customer_ids))
    MetricBucket.objects.bulk_create(
        MetricBucket(customer_id=customer_id, month=month, brand_id=brand_id, **figures)
        for (customer_id, month, brand_id), figures in rebuilt.items()
    )
