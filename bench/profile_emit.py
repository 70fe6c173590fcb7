"""Profile the hot path in-process (issue 11, item 7): `POST /behavior/events` through Django's
test client with the whole middleware stack and the production-like settings of the HTTP bench
(DEBUG off), on PostgreSQL, for the programme `make bench` drives (one PER_VALUE campaign, a
three-product purchase, random customers). No server, no network: what it shows is the engine's
own CPU per request, by function.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_prof .venv/bin/python bench/profile_emit.py [--emits 500] [--mode emit|held|reverse|get] [--sort tottime]

Prints the wall time per request, the statements per request, then cProfile's top functions.
"""

import argparse
import cProfile
import json
import os
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loyalty_prof")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

from benchdb import bench_database, per_value_programme  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--emits", type=int, default=500)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--mode", default="emit", choices=["emit", "held", "reverse", "get"])
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--callers", default="", help="print the callers of the functions matching this")
    parser.add_argument("--sql", action="store_true", help="print the statements of one request")
    parser.add_argument("--no-profile", action="store_true", help="time only (cProfile roughly doubles the time)")
    args = parser.parse_args()
    bench_database("profile.sqlite3")

    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from campaigns.services.programme import api_key_create
    from wallets.services import customer_register

    per_value_programme()
    with transaction.atomic():
        for i in range(args.customers):
            customer_register(id=f"bench-{i}", record_event=False)
    _, raw = api_key_create(name="profile")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_HOST="localhost")

    counter = iter(range(10**9))

    def body(fulfilled: bool = True) -> str:
        i = next(counter)
        return json.dumps(
            {
                "customer_id": f"bench-{random.randrange(args.customers)}",
                "brand_id": "B1",
                "type": "PURCHASE",
                "fulfilled": fulfilled,
                "order": {  # the purchase bench/http_bench.lua sends
                    "purchase_id": f"p-{i}",
                    "value": 120.00,
                    "payment_method": "CREDIT",
                    "products": [
                        {"sku": "LATTE", "amount": 2, "value": 60.00},
                        {"sku": "MUFFIN", "amount": 1, "value": 35.00},
                        {"sku": "JUICE", "amount": 1, "value": 25.00},
                    ],
                },
            }
        )

    def one() -> None:
        if args.mode == "get":
            r = client.get(f"/api/v1/customers/bench-{random.randrange(args.customers)}")
            assert r.status_code == 200, r.content
            return
        r = client.post("/api/v1/behavior/events", body(args.mode != "held"), content_type="application/json")
        assert r.status_code in (200, 201), r.content
        if args.mode == "held":
            event_id = r.json()["data"]["id"]
            r = client.patch(f"/api/v1/behavior/events/{event_id}/fulfill", "{}", content_type="application/json")
            assert r.status_code == 200, r.content
        elif args.mode == "reverse":
            event_id = r.json()["data"]["id"]
            r = client.post(
                f"/api/v1/behavior/events/{event_id}/reverse",
                json.dumps({"reason": "bench"}),
                content_type="application/json",
            )
            assert r.status_code == 200, r.content

    with override_settings(DEBUG=False, LOYALTY_API_RATE="100000000/min"):
        for _ in range(50):  # warm-up: caches, first customers' rows
            one()
        with CaptureQueriesContext(connection) as queries:
            for _ in range(20):
                one()
        statements = len(queries) / 20
        if args.sql:
            with CaptureQueriesContext(connection) as one_request:
                one()
            for number, query in enumerate(one_request.captured_queries, 1):
                print(f"{number:3}. {query['sql'][:400]}")
        profiler = cProfile.Profile()
        started = time.perf_counter()
        cpu = time.process_time()
        if not args.no_profile:
            profiler.enable()
        for _ in range(args.emits):
            one()
        profiler.disable()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    under = "" if args.no_profile else " (under cProfile)"
    print(
        f"{args.mode}: {args.emits} in {wall:.2f} s: {1000 * wall / args.emits:.2f} ms each{under}, "
        f"{1000 * cpu / args.emits:.2f} ms of this process's CPU each, {statements:.1f} statements each"
    )
    if not args.no_profile:
        stats = pstats.Stats(profiler)
        by_package: dict[str, float] = {}
        for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
            package = _package(filename)
            by_package[package] = by_package.get(package, 0.0) + tottime
        total = sum(by_package.values())
        print("own time by package (cProfile's tottime):")
        for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {package:40} {100 * seconds / total:5.1f}%  {1000 * seconds / args.emits:6.2f} ms per request")
        stats.sort_stats(args.sort).print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)


def _package(filename: str) -> str:
    """django/db, rest_framework, psycopg, events, ... for a profiled function's file."""
    if "site-packages/" in filename:
        parts = filename.split("site-packages/")[1].split("/")
        return "/".join(parts[:2]) if parts[0] == "django" else parts[0]
    if "/work/" in filename and "/.venv/" not in filename:
        return "engine: " + filename.split("/")[3] if filename.count("/") > 3 else filename
    return "python: " + filename.rsplit("/", 1)[-1]


if __name__ == "__main__":
    main()
