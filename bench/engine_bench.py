"""Rule evaluation benchmark: time to evaluate one event against N running campaigns of R rules,
with a 20-product order. Pure engine (no database): what `evaluate` costs per event once the
programme is compiled (the cache keeps it compiled between requests). Prints; asserts nothing.

    .venv/bin/python bench/engine_bench.py [--campaigns 50] [--rules 3] [--products 20]
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--rules", type=int, default=3)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()

    import django

    django.setup()
    from campaigns.engine import EventFacts, compile_campaign, evaluate

    reward = "00000000-0000-4000-8000-000000000001"
    kinds = [
        lambda i: {"kind": "PER_VALUE", "amount": 1, "per": 10},
        lambda i: {"kind": "PER_PRODUCT", "amount": Decimal("0.5")},
        lambda i: {"kind": "FIXED", "amount": 5},
    ]
    conditions = [
        lambda i: [
            [
                {"field": "order.value", "operator": "gte", "value": 10 * i},
                {"field": "order.payment_method", "operator": "in", "value": ["CREDIT", "DEBIT"]},
            ]
        ],
        lambda i: [
            [
                {"field": "order.products.sku", "operator": "eq", "value": f"SKU-{i % 25}"},
                {"field": "order.products.tags.category", "operator": "eq", "value": "coffee"},
            ]
        ],
        lambda i: [
            [{"field": "order.store_id", "operator": "eq", "value": f"S{i % 10}"}],
            [
                {"field": "event.tags.channel", "operator": "eq", "value": "app"},
                {"field": "customer.tags.vip", "operator": "eq", "value": True},
            ],
        ],
    ]
    campaigns = [
        compile_campaign(
            id=i,
            brand_id="B1",
            rules=[
                {
                    "id": f"r{j}",
                    "conditions": conditions[j % 3](i),
                    "effects": [{"reward_id": reward, **kinds[j % 3](i)}],
                }
                for j in range(args.rules)
            ],
        )
        for i in range(args.campaigns)
    ]
    order = {
        "value": Decimal("250.00"),
        "payment_method": "CREDIT",
        "store_id": "S3",
        "products": [
            {
                "sku": f"SKU-{k}",
                "amount": Decimal(1 + k % 3),
                "value": Decimal("12.50"),
                "tags": {"category": "coffee" if k % 2 else "food"},
            }
            for k in range(args.products)
        ],
    }
    payload = {"order": order, "tags": {"channel": "app"}, "issued_at": datetime.now(UTC)}
    customer = {"tags": {"vip": True}, "tier_id": None, "tier_level": 1}
    decimals = {reward: 2}

    grants = []
    start = time.perf_counter()
    for _ in range(args.rounds):
        # a new EventFacts per event, as in production
        grants = evaluate(campaigns, EventFacts(event_type="PURCHASE", payload=payload, customer=customer), decimals)
    per_event = (time.perf_counter() - start) / args.rounds
    print(
        f"{args.campaigns} campaigns x {args.rules} rules, {args.products}-product order: "
        f"{per_event * 1e6:.0f} us per event ({len(grants)} grants), {1 / per_event:.0f} events/s on one core"
    )


if __name__ == "__main__":
    main()
