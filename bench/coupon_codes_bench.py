"""Coupon code generation benchmark (issue 13): a million codes for one campaign, timed.

Times, on its own database (see benchdb.py):
- drawing the random codes alone (coupons.codes.random_codes: Python, no database);
- `coupon_codes_add(quantity=N)`, the service the API and the admin call: drawing, COPY into a
  temporary table, one INSERT ... ON CONFLICT DO NOTHING, top-up rounds, in one transaction;
- the ceiling, measured in the same run: a bare `INSERT ... SELECT ... FROM generate_series` of
  the same number of rows into the same table (same indexes, constraints and foreign key), in a
  transaction rolled back: what the database alone costs for those rows;
- the same service again with N codes already in the table (every candidate checked against a
  unique index of N entries);
- reading a page of the codes list and the codes summary at 2N codes.

Prints the figures and the ratio service / ceiling. Asserts nothing. See bench/README.md.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/coupon_codes_bench.py [--codes 1000000]
    .venv/bin/python bench/coupon_codes_bench.py --codes 100000       # SQLite, var/coupon_bench.sqlite3
"""

import argparse
import time

from benchdb import bench_database


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--length", type=int, default=10)
    args = parser.parse_args()

    bench_database("coupon_bench.sqlite3")
    from datetime import datetime, timezone

    from django.db import connection, transaction
    from django.test import Client

    from campaigns.models import Brand, Campaign, EventType, Reward
    from campaigns.services import api_key_create
    from coupons.codes import random_codes
    from coupons.models import CouponCode
    from coupons.selectors import codes_summary
    from coupons.services import coupon_codes_add

    n = args.codes
    brand = Brand.objects.create(id="B1", name="Bench")
    reward = Reward.objects.create(brand=brand, name="Stars", type="POINTS", decimals=0)
    EventType.objects.get_or_create(name="COUPON_REDEMPTION", defaults={"built_in": True})
    campaign = Campaign.objects.create(
        brand=brand,
        name="A million codes",
        type="COUPONS",
        trigger_id="COUPON_REDEMPTION",
        start_date=datetime(2020, 1, 1, tzinfo=timezone.utc),
        rules=[
            {"id": "r1", "conditions": [], "effects": [{"reward_id": str(reward.pk), "kind": "FIXED", "amount": 5}]}
        ],
    )
    print(f"database: {connection.vendor}; {n:,} codes of length {args.length}")

    start = time.perf_counter()
    drawn = random_codes(n, length=args.length, prefix="")
    print(f"random codes alone:        {time.perf_counter() - start:7.2f} s ({len(drawn):,})")
    del drawn

    start = time.perf_counter()
    added = coupon_codes_add(campaign_id=campaign.pk, quantity=n, length=args.length)
    service = time.perf_counter() - start
    print(f"coupon_codes_add:          {service:7.2f} s ({added:,} added)")

    ceiling = None
    if connection.vendor == "postgresql":
        start = time.perf_counter()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO coupons_couponcode (campaign_id, code, max_uses, max_uses_per_customer, uses_count, "
                    "created_at) SELECT %s, 'Z' || lpad(g::text, 10, '0'), 1, 1, 0, now() FROM generate_series(1, %s) g",
                    [campaign.pk, n],
                )
                raise Rollback
        except Rollback:
            pass
        ceiling = time.perf_counter() - start
        print(f"ceiling (bare INSERT ... SELECT generate_series): {ceiling:7.2f} s; ratio {service / ceiling:.2f}")

    start = time.perf_counter()
    added = coupon_codes_add(campaign_id=campaign.pk, quantity=n, length=args.length)
    print(f"again, into {n:,} codes:   {time.perf_counter() - start:7.2f} s ({added:,} added)")
    assert CouponCode.objects.filter(campaign=campaign).count() == 2 * n

    _key, raw = api_key_create(name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    start = time.perf_counter()
    response = client.get(f"/api/v1/campaigns/{campaign.pk}/codes?from={n}&to={n + 99}")
    print(f"GET codes page of 100 at row {n:,}: {time.perf_counter() - start:6.3f} s ({response.status_code})")
    start = time.perf_counter()
    summary = codes_summary(campaign=campaign)
    print(f"codes summary at {2 * n:,} codes: {time.perf_counter() - start:6.3f} s {summary}")


if __name__ == "__main__":
    main()
