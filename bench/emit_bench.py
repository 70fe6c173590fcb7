"""Emit benchmark: how long one event takes end to end, and how much of it is rule evaluation.

Runs against its own database: var/bench.sqlite3 (recreated each run) or, with
BENCH_DATABASE_URL=postgres://..., that PostgreSQL database (its tables are flushed first).
Prints its figures; it asserts nothing. See bench/README.md.

    .venv/bin/python bench/emit_bench.py [--events 300] [--campaigns 30]
"""

import argparse
import statistics
import time
from decimal import Decimal

from benchdb import bench_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--campaigns", type=int, default=30)
    parser.add_argument(
        "--all-fire", action="store_true", help="every campaign matches every event (worst case) instead of 1 in 10"
    )
    args = parser.parse_args()

    bench_database("bench.sqlite3")
    from datetime import datetime, timezone

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from campaigns.cache import running_campaigns
    from campaigns.engine import evaluate
    from campaigns.models import Brand, Campaign, EventType, Reward
    from events.services import event_emit, event_fulfill
    from wallets.services import customer_register

    brand = Brand.objects.create(id="B1", name="Bench")
    reward = Reward.objects.create(brand=brand, name="Points", type="POINTS", decimals=2)
    purchase = EventType.objects.get(pk="PURCHASE")
    for i in range(args.campaigns):
        Campaign.objects.create(
            brand=brand,
            name=f"c{i}",
            trigger=purchase,
            start_date=datetime(2020, 1, 1, tzinfo=timezone.utc),
            rules=[
                {
                    "id": f"r{i}-{j}",
                    "conditions": [
                        [
                            {"field": "order.value", "operator": "gte", "value": j * 10},
                            *(
                                []
                                if args.all_fire
                                else [{"field": "order.store_id", "operator": "eq", "value": f"S{i % 10}"}]
                            ),
                            {"field": "order.payment_method", "operator": "in", "value": ["CREDIT", "DEBIT"]},
                        ]
                    ],
                    "effects": [
                        {
                            "reward_id": str(reward.pk),
                            "kind": "PER_VALUE",
                            "amount": 1,
                            "per": 10,
                            "expiration": "12/months",
                        }
                    ],
                }
                for j in range(3)
            ],
        )
    customers = [customer_register(id=f"bench-{i}") for i in range(20)]
    order = {
        "value": Decimal("250.00"),
        "payment_method": "CREDIT",
        "store_id": "S0",
        "products": [{"sku": f"SKU-{k}", "amount": Decimal(1), "value": Decimal("12.50")} for k in range(20)],
    }

    def payload(i, **extra):
        return {
            "customer_id": customers[i % len(customers)].pk,
            "brand_id": "B1",
            "type": "PURCHASE",
            "order": {**order, "purchase_id": f"P-{i}"},
            **extra,
        }

    # warm-up
    for i in range(10):
        event_emit(payload=payload(10_000 + i))

    timings, queries = [], []
    for i in range(args.events):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            event_emit(payload=payload(i))
            timings.append(time.perf_counter() - start)
        queries.append(len(ctx.captured_queries))

    held_timings = []
    for i in range(args.events // 3):
        event = event_emit(payload=payload(50_000 + i, fulfilled=False))
        start = time.perf_counter()
        event_fulfill(event_id=event.pk)
        held_timings.append(time.perf_counter() - start)

    campaigns, decimals = running_campaigns(brand_id="B1", trigger="PURCHASE", at=datetime.now(timezone.utc))
    from campaigns.engine import EventFacts

    context = EventFacts(
        event_type="PURCHASE",
        payload={"order": order, "issued_at": datetime.now(timezone.utc)},
        customer={"tags": {}, "tier_id": None, "tier_level": 1},
    )
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        grants = evaluate(campaigns, context, decimals)
    evaluation = (time.perf_counter() - start) / rounds

    def ms(values, q):
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    print(
        f"database: {connection.vendor}; {args.campaigns} running campaigns x 3 rules, 20-product order, "
        f"{len(grants)} grants per event"
    )
    print(
        f"emit (sync, service call): {args.events} events, median {ms(timings, 50):.2f} ms, "
        f"p95 {ms(timings, 95):.2f} ms, {args.events / sum(timings):.0f} events/s on one connection"
    )
    print(f"queries per emit: {min(queries)}-{max(queries)}")
    print(f"fulfil of a held event: median {ms(held_timings, 50):.2f} ms, p95 {ms(held_timings, 95):.2f} ms")
    print(f"rule evaluation alone: {evaluation * 1e6:.0f} us per event")


if __name__ == "__main__":
    main()
