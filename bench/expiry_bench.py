"""Issue 11, item 4: expiring N due held events against one set-based UPDATE of the same status
change, in the same run (bench/README.md, "Expiry at scale").

    .venv/bin/python bench/expiry_bench.py [--events 100000] [--customers 10000] [--batch-size N] [--runs-only]

PostgreSQL only: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/loyalty_wa),
flushed first; a copy `<name>_ceiling` is made from it as a template database (and dropped).

1. Seeds, through the services (event_emit), a few template customers: each registered, one
   resolved purchase (an AVAILABLE line), then `events / customers` held purchases issued two
   days ago with a one-day window (so due now): every one holds its reward (a PENDING line, the
   campaign's budget held), and, by template, none, every other one or every one also reserves
   points on the resolved line (RESERVATION rows). Then the bulk: every template's rows (the
   customer, wallet, totals, lines, ledger rows, metric buckets, events and transitions) copied
   with the COPY writer (core.bulk.Table) under fresh ids, so the rows are exactly the services'.
   The campaign's budget counter is set to what its live grants hold. verify_ledger on the seed.
2. Ceiling: `CREATE DATABASE <name>_ceiling TEMPLATE <name>`; there, one
   `UPDATE events_event SET status = 'EXPIRED', expired_at = now() WHERE <events_due>`, timed
   three times, each rolled back (VACUUM between).
3. The engine: the Celery task's function (events.tasks.housekeeping, as the worker runs it)
   called until nothing is due; each run timed.
4. Checks: verify_ledger clean, every held event EXPIRED with one EXPIRED transition, no PENDING
   line or reserved amount left, nothing pending or reserved in the totals, one RELEASE row per
   reservation, the budget given back.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_wa"
os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)
if not os.environ["BENCH_DATABASE_URL"].startswith("postgres"):
    sys.exit("expiry_bench.py runs on PostgreSQL only (BENCH_DATABASE_URL)")

from benchdb import bench_database, per_value_programme  # noqa: E402

TEMPLATES = 4  # template customers: reservations on none, every other, every, every other held event


def _args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="due held events (default 100,000)")
    parser.add_argument("--customers", type=int, default=10_000, help="customers they belong to (default 10,000)")
    parser.add_argument("--batch-size", type=int, help="LOYALTY_EVENT_EXPIRY_BATCH_SIZE for the run (default 1000)")
    parser.add_argument("--ceiling-rounds", type=int, default=3)
    parser.add_argument("--ceiling-only", action="store_true", help="seed and time the UPDATE only")
    return parser.parse_args()


def _create_database(url: str) -> None:
    """The bench database, created if missing."""
    from urllib.parse import urlparse

    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    conninfo = {"host": parts.hostname, "port": parts.port or 5432, "user": parts.username or "postgres"}
    if parts.password:
        conninfo["password"] = parts.password
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


def _load():
    out = os.popen("uptime").read().strip()
    return out.split("load average:")[-1].strip()


# ---- seeding ------------------------------------------------------------------------------------


def seed_templates(*, brand, reward, per_customer: int, now):
    """TEMPLATES customers through the services. Returns their ids."""
    from datetime import timedelta
    from decimal import Decimal

    from events.services import event_emit
    from wallets.services import customer_register

    ids = []
    for t in range(TEMPLATES):
        customer = customer_register(id=f"tpl-{t}", name=f"Template {t}", email=f"tpl{t}@example.com")
        ids.append(customer.pk)

        def emit(value, *, pid, at, held=False, redeem=None, customer=customer):
            payload = {
                "customer_id": customer.pk,
                "brand_id": brand.pk,
                "type": "PURCHASE",
                "issued_at": at,
                "order": {"value": Decimal(value), "purchase_id": pid},
            }
            if held:
                payload["fulfilled"] = False
                payload["reserve"] = 1
            if redeem:
                payload["redeem"] = [{"id": reward.pk, "amount": Decimal(redeem)}]
            return event_emit(payload=payload)

        emit("2000", pid=f"t{t}-r0", at=now - timedelta(hours=70))  # 200 points, AVAILABLE
        for k in range(per_customer):
            reserves = {0: False, 1: k % 2 == 1, 2: True, 3: k % 2 == 0}[t]
            emit(
                str(50 + 10 * k),
                pid=f"t{t}-h{k}",
                at=now - timedelta(hours=60) + timedelta(seconds=37 * k + t),
                held=True,
                redeem="3" if reserves else None,
            )
    return ids


def _remap(value, maps, parent=None):
    """A template's JSON with the clone's ids: customer, events, lines, purchase ids."""
    if isinstance(value, list):
        return [_remap(v, maps, parent) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "customer_id" or (parent == "customer" and key == "id"):
            item = maps["customer"]
        elif key in ("event_id", "trigger_event_id", "cause_event_id") and item:
            item = str(maps["events"].get(uuid.UUID(item), item))
        elif key in ("line_id", "from_line", "restored_from_line") and item:
            item = maps["lines"].get(item, item)
        elif parent == "accumulations" and key == "id":
            item = maps["lines"][item]
        elif key == "purchase_id" and item:
            item = f"{maps['customer']}-{item}"
        else:
            item = _remap(item, maps, key)
        out[key] = item
    return out


def clone_customers(*, template_ids: list[str], customers: int) -> None:
    """Copy the templates' rows to `customers - len(template_ids)` new customers (COPY)."""
    from django.db import connection, transaction

    from core.bulk import Table, next_ids
    from core.json import StoredJSONEncoder
    from events.models import Event, EventTransition
    from wallets.models import Customer, MetricBucket, Transaction, Wallet, WalletLine, WalletTotal

    def rows(model, **filters):
        return list(model.objects.filter(**filters).order_by("pk").values())

    templates = []
    for cid in template_ids:
        wallet = Wallet.objects.get(customer_id=cid)
        templates.append(
            {
                "customer": rows(Customer, pk=cid),
                "wallet": rows(Wallet, pk=wallet.pk),
                "totals": rows(WalletTotal, wallet_id=wallet.pk),
                "lines": rows(WalletLine, wallet_id=wallet.pk),
                "rows": rows(Transaction, wallet_id=wallet.pk),
                "buckets": rows(MetricBucket, customer_id=cid),
                "events": rows(Event, customer_id=cid),
                "transitions": rows(EventTransition, event__customer_id=cid),
            }
        )

    def table(model, sample, *, keep_id):
        columns = [c for c in sample if keep_id or c != "id"]
        return Table(model, columns), columns

    first = templates[0]
    writers = {
        name: table(model, first[name][0], keep_id=keep)
        for name, model, keep in (
            ("customer", Customer, True),
            ("wallet", Wallet, True),
            ("totals", WalletTotal, False),
            ("lines", WalletLine, True),
            ("rows", Transaction, False),
            ("buckets", MetricBucket, False),
            ("events", Event, True),
            ("transitions", EventTransition, False),
        )
    }
    json_columns = {"tags", "metadata", "platforms", "consent", "events", "data", "result", "details"}
    json_columns |= {"rewarding_campaigns"}
    with transaction.atomic():
        line_ids = iter(
            next_ids(WalletLine, sum(len(templates[i % len(templates)]["lines"]) for i in range(customers)))
        )
        for i in range(len(template_ids), customers):
            tpl = templates[i % len(templates)]
            maps = {
                "customer": f"c{i}",
                "wallet": uuid.uuid4(),
                "events": {e["id"]: uuid.uuid4() for e in tpl["events"]},
                "lines": {line["id"]: next(line_ids) for line in tpl["lines"]},
            }
            for name, records in tpl.items():
                writer, columns = writers[name]
                for record in records:
                    values = []
                    for column in columns:
                        value = record[column]
                        if column in ("customer_id",) or (name == "customer" and column == "id"):
                            value = maps["customer"]
                        elif column == "wallet_id" or (name == "wallet" and column == "id"):
                            value = maps["wallet"]
                        elif column == "event_id" and value is not None:
                            value = maps["events"].get(value, value)
                        elif (name == "events" and column == "id") or (name == "events" and column == "replaces_id"):
                            value = maps["events"].get(value, value)
                        elif (name == "lines" and column == "id") or column == "line_id":
                            value = maps["lines"].get(value, value)
                        elif column == "purchase_id" and value:
                            value = f"{maps['customer']}-{value}"
                        if column in json_columns and value is not None:
                            value = json.dumps(_remap(value, maps), cls=StoredJSONEncoder)
                        values.append(value)
                    writer.add(*values)
        for writer, _ in writers.values():
            writer.write()
        # The campaign's budget holds what its live (PENDING or RESOLVED) events' lines were granted.
        with connection.cursor() as cursor:
            cursor.execute(
                """UPDATE campaigns_campaign c SET budget_used = COALESCE((
                       SELECT SUM(l.amount) FROM wallets_walletline l JOIN events_event e ON e.id = l.event_id
                       WHERE l.campaign_id = c.id AND l.budgeted AND e.status IN ('PENDING', 'RESOLVED')), 0)"""
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def verify_ledger() -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("verify_ledger", stdout=out, stderr=out)
    return out.getvalue().strip().splitlines()[-1]


# ---- the ceiling ---------------------------------------------------------------------------------

CEILING_SQL = (
    "UPDATE events_event SET status = 'EXPIRED', expired_at = now() "
    "WHERE status = 'PENDING' AND fulfilled = false AND queued = false AND reservation_expires_at <= now()"
)


def ceiling(*, rounds: int) -> list[float]:
    """The same status change as one UPDATE, on a copy of the seed, each round rolled back."""
    import psycopg
    from django.db import connection

    name = connection.settings_dict["NAME"]
    params = {k: connection.settings_dict[k] for k in ("HOST", "PORT", "USER", "PASSWORD")}
    conninfo = {"host": params["HOST"], "port": params["PORT"] or 5432, "user": params["USER"]}
    if params["PASSWORD"]:
        conninfo["password"] = params["PASSWORD"]
    copy = f"{name}_ceiling"
    connection.close()  # a template database must have no other session
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    times = []
    try:
        with psycopg.connect(dbname=copy, autocommit=True, **conninfo) as db:
            db.execute("VACUUM ANALYZE events_event")
            for _ in range(rounds):
                db.execute("CHECKPOINT")
                db.execute("BEGIN")
                start = time.perf_counter()
                count = db.execute(CEILING_SQL).rowcount
                times.append(time.perf_counter() - start)
                db.execute("ROLLBACK")
                db.execute("VACUUM events_event")
                print(f"  ceiling UPDATE: {count:,} rows in {times[-1]:.2f} s (load {_load()})", flush=True)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{copy}"')
    return times


# ---- the engine ------------------------------------------------------------------------------------


def engine_expiry() -> tuple[float, list[tuple[int, float]]]:
    from django.db import connection

    from events.selectors import events_due
    from events.tasks import housekeeping

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    runs = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        counts = housekeeping()  # the task's function, as the worker calls it
        runs.append((counts["events_expired"], time.perf_counter() - t0))
        print(f"  housekeeping run {len(runs)}: {runs[-1][0]:,} expired in {runs[-1][1]:.2f} s", flush=True)
        if not events_due().exists():
            break
    return time.perf_counter() - start, runs


def check(*, events: int, reservations: int) -> list[str]:
    from django.db.models import Q, Sum

    from campaigns.models import Campaign
    from events.models import Event, EventTransition
    from wallets.models import Transaction, WalletLine, WalletTotal

    problems = []
    expired = Event.objects.filter(status="EXPIRED").count()
    if expired != events or Event.objects.filter(status="PENDING").exists():
        problems.append(f"{expired:,} EXPIRED events, {events:,} expected, none PENDING")
    transitions = EventTransition.objects.filter(from_status="PENDING", to_status="EXPIRED").count()
    if transitions != events:
        problems.append(f"{transitions:,} EXPIRED transitions, {events:,} expected")
    if WalletLine.objects.filter(Q(state="PENDING") | Q(reserved__gt=0)).exists():
        problems.append("a PENDING line or a reserved amount is left")
    dropped = WalletLine.objects.filter(state="EXPIRED", event_id__in=Event.objects.filter(status="EXPIRED")).count()
    if dropped != events:
        problems.append(f"{dropped:,} lines of expired events dropped, {events:,} expected")
    left = WalletTotal.objects.aggregate(p=Sum("pending"), r=Sum("reserved"))
    if left["p"] or left["r"]:
        problems.append(f"totals still hold {left}")
    releases = Transaction.objects.filter(type="RELEASE").count()
    if releases != reservations:
        problems.append(f"{releases:,} RELEASE rows, {reservations:,} reservations")
    held = Campaign.objects.aggregate(s=Sum("budget_used"))["s"]
    resolved = WalletLine.objects.filter(state="AVAILABLE", budgeted=True).aggregate(s=Sum("amount"))["s"]
    if held != resolved:
        problems.append(f"budget_used {held}, live grants {resolved}")
    return problems


def main() -> None:
    args = _args()
    if args.batch_size:
        os.environ["LOYALTY_EVENT_EXPIRY_BATCH_SIZE"] = str(args.batch_size)
    _create_database(os.environ["BENCH_DATABASE_URL"])
    bench_database("expiry_bench.sqlite3")
    from django.conf import settings
    from django.utils import timezone

    from campaigns.models import Campaign
    from events.models import Event
    from wallets.models import Transaction

    customers = min(args.customers, args.events)
    per_customer = max(1, args.events // customers)
    print(
        f"expiry bench: {customers * per_customer:,} due held events of {customers:,} customers, "
        f"batch size {settings.LOYALTY_EVENT_EXPIRY_BATCH_SIZE}, load {_load()}",
        flush=True,
    )
    brand, reward = per_value_programme("expiry bench points")
    Campaign.objects.update(budget=10**12)  # budgeted: each held grant holds budget until it expires
    t0 = time.perf_counter()
    template_ids = seed_templates(brand=brand, reward=reward, per_customer=per_customer, now=timezone.now())
    clone_customers(template_ids=template_ids, customers=customers)
    due = Event.objects.filter(status="PENDING").count()
    reservations = Transaction.objects.filter(type="RESERVATION").count()
    print(f"seeded {due:,} held events ({reservations:,} reservations) in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    print(f"verify_ledger on the seed: {verify_ledger()} ({time.perf_counter() - t0:.1f} s)", flush=True)

    ceilings = ceiling(rounds=args.ceiling_rounds)
    if args.ceiling_only:
        return
    took, runs = engine_expiry()
    base = statistics.median(ceilings)
    print(f"verify_ledger after: {verify_ledger()}", flush=True)
    problems = check(events=due, reservations=reservations)
    print()
    print(f"load average {_load()}")
    print(
        f"ceiling, one UPDATE of {due:,} rows: median {base:.2f} s (min {min(ceilings):.2f}, max {max(ceilings):.2f})"
    )
    print(f"engine, {len(runs)} housekeeping run(s): {took:.2f} s ({due / took:,.0f} events/s)")
    print(f"ratio engine / ceiling: {took / base:.2f} (target <= 3)")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
