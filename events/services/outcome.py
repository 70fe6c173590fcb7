"""What an event leaves behind besides ledger rows: the ledger block its undoing runs in, its
`result` (the lines it credited, what it redeemed, the wallet and customer after it) and its
metrics. Shared by every event service; none of these commits on its own."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal

from core.clock import month_of, month_shift, month_start
from core.fastrender import compiled
from core.json import jsonable
from events.metrics import BY_BRAND, NOT_COUNTED, counted, event_spend
from events.models import Event
from events.serializers import EventResultOut
from wallets.ledger import Ledger, wallet_ledger
from wallets.metrics import metrics_apply
from wallets.models import MetricBucket
from wallets.selectors import customer_metrics, wallet_view

Status = Event.Status
ZERO = Decimal(0)
NO_BEHAVIORAL_CONSENT = "no_behavioral_consent"  # result.campaigns_skipped (events.serializers.EventResultOut)


def event_ledger(event: Event, now: datetime, *, with_customer: bool = False) -> AbstractContextManager[Ledger]:
    """`with event_ledger(event, now) as ledger:` locks the event's wallet (after the event),
    preloads every reward the event moved, and writes on a clean exit (`with_customer`: see
    wallets.ledger.wallet_ledger)."""
    return wallet_ledger(
        customer_id=event.customer_id, event_id=event.id, now=now, event_rewards=True, with_customer=with_customer
    )


def render_result(value: dict) -> dict:
    """EventResultOut(value).data, from the serializer compiled once (core.fastrender): every
    path that stores a result renders it with this (event_result, the batched expiry)."""
    return _result_renderer()(value)


@functools.cache
def _result_renderer():
    return compiled(EventResultOut())


def event_result(
    event: Event,
    wallet_id,
    *,
    accumulations,
    redemptions: list,
    now: datetime,
    campaigns_skipped: str | None = None,
    ledger: Ledger | None = None,
    buckets: list[MetricBucket] | None = None,
) -> dict:
    """The stored `result`, rendered by EventResultOut: the lines credited, what was redeemed,
    the wallet's totals and the customer's lifetime metrics after the event, and why no campaign
    was evaluated (`campaigns_skipped`), when none was. With the event's `ledger` (written, its
    lock still held), the totals are the ledger's own rather than read again; with `buckets`
    (every metric bucket of the customer, as event_metrics_apply just read them), so are the metrics."""
    if buckets is None:
        buckets = list(MetricBucket.objects.filter(customer_id=event.customer_id))
    lifetime = customer_metrics(customer_id=event.customer_id, now=now, buckets=buckets)["lifetime"]
    # Each brand's part of the lifetime figures, kept beside them for brand-restricted keys
    # (events.selectors.result_for_brands); EventResultOut never shows it.
    by_brand = {
        brand_id: customer_metrics(
            customer_id=event.customer_id, now=now, buckets=[b for b in buckets if b.brand_id == brand_id]
        )["lifetime"]
        for brand_id in {b.brand_id for b in buckets if b.brand_id}
    }
    result = jsonable(
        exact=True,
        value=render_result(
            {
                "accumulations": accumulations,
                "redemptions": redemptions,
                "wallet": wallet_view(
                    wallet_id=wallet_id,
                    now=now,
                    with_lines=False,
                    totals=ledger.totals_with_rewards() if ledger else None,
                ),
                "customer": {"id": event.customer_id, "metrics": {"lifetime": lifetime}},
                **({"campaigns_skipped": campaigns_skipped} if campaigns_skipped else {}),
            }
        ),
    )
    result["customer"][BY_BRAND] = jsonable(by_brand, exact=True)
    return result


def event_metrics_apply(
    event: Event, payload: dict, *, sign: int, with_buckets: bool = False
) -> list[MetricBucket] | None:
    """Count (sign=1) or uncount (sign=-1) a RESOLVED event in its month's metrics. The caller
    holds the customer's wallet lock. The rule of what counts is events.metrics'. With
    `with_buckets`, every bucket of the customer after it, when the same statement could read
    them (wallets.metrics.metrics_apply), for event_result's `buckets`; else None."""
    if event.type_id in NOT_COUNTED:
        return None
    month = month_of(event.issued_at)
    last_visit_query = None
    if sign < 0:  # the bucket's last visit without this event: the latest other counted one of its month
        last_visit_query = (
            counted(Event.objects.filter(customer_id=event.customer_id, brand_id=event.brand_id))
            .exclude(pk=event.pk)
            .filter(issued_at__gte=month_start(month), issued_at__lt=month_start(month_shift(month, 1)))
            .order_by("-issued_at")
            .values_list("issued_at", flat=True)[:1]
            .query.sql_with_params()
        )
    return metrics_apply(
        customer_id=event.customer_id,
        brand_id=event.brand_id,
        month=month,
        event_type=event.type_id,
        is_purchase=event.type_id == "PURCHASE",
        spend=event_spend(event.type_id, payload),
        issued_at=event.issued_at,
        sign=sign,
        last_visit_query=last_visit_query,
        with_buckets=with_buckets,
    )


def unique(items: list[dict]) -> list[dict]:
    """The items in order, without repeats."""
    seen, out = set(), []
    for item in items:
        key = tuple(item.values())
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
