"""Import benchmark (issue 14): one million customers with two balance lines each imported by
`manage.py import_programme` in at most 10 minutes on a 2-core machine, then `verify_ledger`
clean.

Runs against PostgreSQL only (the COPY path), on a database of its own, created if missing and
flushed first (bench/benchdb.py): BENCH_DATABASE_URL, by default
postgres://postgres@127.0.0.1:5432/loyalty_wb_bench. It

- writes var/import_bench.jsonl: N customers (`--customers`, default 1,000,000), each with a
  name, an e-mail, a registration date, lifetime and one month's metrics, and two balance lines
  (one of each of two rewards, one of them expiring next year, half of them issued in the past
  with a channel and a store); the file's writing is not timed;
- times `import_programme` on it (`--batch`, default 5000): elapsed, records/s, rows written;
- for the ceiling, times a bare COPY of the same number of rows (customers, wallets, lines,
  ledger rows, totals and buckets together) into a scratch table without index or constraint,
  from the same Python process (psycopg's write_row): what moving that many rows costs at all;
- prints the ratio of the import to the ceiling and to the issue's 10-minute target;
- times `verify_ledger` on the result (must be clean).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_wb_bench .venv/bin/python bench/import_bench.py
    .venv/bin/python bench/import_bench.py --customers 100000 [--batch 5000] [--keep-file]
"""

import argparse
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

from benchdb import ROOT, bench_database

TARGET = 600.0  # seconds, for one million customers (the issue's)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_wb_bench"


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def write_file(path: Path, customers: int, rewards: list[str], brand: str) -> None:
    rng = random.Random(14)
    now = datetime.now(UTC).replace(microsecond=0)
    with open(path, "w") as out:
        for i in range(customers):
            registered = now - timedelta(days=rng.randrange(60, 2000))
            month = (now - timedelta(days=40)).strftime("%Y-%m")
            lines = [
                {"reward_id": rewards[0], "amount": rng.randrange(1, 5000),
                 "expiration_date": (now + timedelta(days=rng.randrange(30, 365))).isoformat()},
                {"reward_id": rewards[1], "amount": f"{rng.randrange(1, 100000) / 100:.2f}", "brand_id": brand},
            ]  # fmt: skip
            if i % 2:
                lines[1].update(issued_at=(now - timedelta(days=10)).isoformat(), channel_id="web", store_id="s-1")
            record = {
                "id": f"bench-{i:07d}",
                "name": f"Customer {i}",
                "email": f"c{i}@example.com",
                "registration_date": registered.isoformat(),
                "balance": lines,
                "metrics": {
                    "lifetime": {"number_of_purchases": 12, "spend_total": "480.50", "events": {"PURCHASE": 12}},
                    month: {"number_of_purchases": 2, "spend_total": "60.00", "events": {"PURCHASE": 2}},
                },
            }
            out.write(json.dumps(record) + "\n")


def ceiling(rows: int) -> float:
    """A bare COPY of `rows` ledger-like rows into a scratch table (no index, no constraint)."""
    from decimal import Decimal
    from uuid import uuid4

    from django.db import connection, transaction

    wallet, reward, at = uuid4(), uuid4(), datetime.now(UTC)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE import_ceiling (type varchar(16), amount numeric(20,4), wallet_id uuid, "
            "reward_id uuid, line_id bigint, brand_id varchar(255), cost numeric(20,4), created_at timestamptz, "
            "details jsonb) ON COMMIT DROP"
        )
        started = time.perf_counter()
        with cursor.cursor.copy("COPY import_ceiling FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row(("MIGRATION", Decimal(i % 5000), wallet, reward, i, "BENCH", Decimal(i % 50), at, "{}"))
        took = time.perf_counter() - started
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--keep-file", action="store_true", help="keep var/import_bench.jsonl")
    args = parser.parse_args()
    url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        raise SystemExit("import_bench runs on PostgreSQL (BENCH_DATABASE_URL=postgres://...)")
    ensure_database(url)
    bench_database("unused.sqlite3")

    from django.core.management import call_command
    from django.db import connection

    from campaigns.models import Brand, Reward
    from wallets.models import Customer, MetricBucket, Transaction, WalletLine, WalletTotal

    brand = Brand.objects.create(id="BENCH", name="Import bench")
    points = Reward.objects.create(brand=brand, name="Points", type="POINTS", decimals=0,
                                   attributes={"conversion_factor": "0.01"})  # fmt: skip
    miles = Reward.objects.create(brand=None, name="Miles", type="POINTS", decimals=2,
                                  attributes={"conversion_factor": "0.1"})  # fmt: skip
    path = ROOT / "var" / "import_bench.jsonl"
    started = time.perf_counter()
    write_file(path, args.customers, [str(points.pk), str(miles.pk)], brand.pk)
    print(f"file: {args.customers:,} customers, {path.stat().st_size / 2**20:,.0f} MiB, written in "
          f"{time.perf_counter() - started:.1f} s (not timed)")  # fmt: skip

    out = StringIO()
    started = time.perf_counter()
    call_command("import_programme", str(path), batch=args.batch, stdout=out, stderr=StringIO())
    took = time.perf_counter() - started
    print(out.getvalue().strip().splitlines()[-1])
    counts = {
        "customers": Customer.objects.count(),
        "lines": WalletLine.objects.count(),
        "ledger rows": Transaction.objects.count(),
        "totals": WalletTotal.objects.count(),
        "buckets": MetricBucket.objects.count(),
    }
    rows = 2 * counts["customers"] + sum(v for k, v in counts.items() if k != "customers")  # wallets too
    print(", ".join(f"{v:,} {k}" for k, v in counts.items()) + f" ({rows:,} rows with the wallets)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    floor = ceiling(rows)
    budget = TARGET * args.customers / 1_000_000
    print(f"import: {took:.1f} s, {args.customers / took:,.0f} customers/s, {rows / took:,.0f} rows/s")
    print(f"ceiling (bare COPY of {rows:,} rows, no index): {floor:.1f} s; import / ceiling = {took / floor:.1f}")
    print(f"target: {budget:.0f} s for {args.customers:,} customers (10 min a million); import / target = "
          f"{took / budget:.2f}")  # fmt: skip

    out = StringIO()
    started = time.perf_counter()
    call_command("verify_ledger", stdout=out, stderr=StringIO())
    print(f"verify_ledger: {out.getvalue().strip().splitlines()[-1]} in {time.perf_counter() - started:.1f} s")
    if not args.keep_file:
        path.unlink()


if __name__ == "__main__":
    main()
