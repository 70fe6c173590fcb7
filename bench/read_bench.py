"""Issue 11, item 5: `GET /customers/{id}` takes within 1.5 times as long with 100,000 ledger rows
for that customer as with 10.

    .venv/bin/python bench/read_bench.py [--rows 100000] [--requests 400]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_wb .venv/bin/python bench/read_bench.py

PostgreSQL only (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/loyalty_wb:
created if missing, flushed first). Redis: BENCH_CACHE_URL (default DB 6) and BENCH_BROKER_URL
(default DB 7), the cache cleared first.

1. The programme: brand B1, one POINTS reward (2 decimals, conversion factor 0.01) and two running
   PER_VALUE campaigns on PURCHASE, 1 point per 10 spent that never expires and 1 per 20 that
   expires after 30 days: every purchase credits two lines.
2. Customer `small` and customer `big`. `big` first gets a history written with core/bulk.py's
   COPY writer (the rows the services write, simulated in time order over two years: PURCHASE
   events with their transition, both lines and their ACCUMULATION rows, redemptions that consume
   lines soonest expiration first and then oldest (one REDEMPTION row per line taken, partial
   takes included), lines that reached their date before being spent expire (an EXPIRATION row of
   what was left, at that date), the wallet total and a metric bucket per month). The last
   redemption of the history spends all but part of one line, so what `big` holds today is what
   `small` holds, give or take that line: the read is compared on the same current state and a
   history 10,000 times as long. (The response lists every live line, SPEC section 3: a wallet
   holding 50,000 spendable lines answers with 50,000 lines; that is the size of the answer,
   not of the history.)
3. Both customers then get the same few events through the API (config.settings.test, Django's
   test client): four purchases, one of them redeeming 10 points, and one held purchase. `small`
   ends with about 10 ledger rows.
4. Starts gunicorn as bench/http_bench.py does (config/gunicorn.conf.py, config.settings.bench,
   WEB_CONCURRENCY=1 unless set, so one worker serves every request) and times `GET
   /customers/{id}` on one keep-alive connection, alternating the two customers (after a warm-up),
   `--requests` each: median, p95 and the ratio big / small of both.
5. Lists the SQL statements of the big customer's read (captured in process through the test
   client) with EXPLAIN (ANALYZE, BUFFERS) of each SELECT, then runs `manage.py verify_ledger`.

Prints figures, asserts nothing (bench/README.md).
"""

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from benchdb import bench_database
from import_bench import ensure_database
from webhook_bench import gunicorn_server, wait_until

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_wb"
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/6")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/7")
CENT = Decimal("0.01")
DAY = timedelta(days=1)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def programme():
    """Brand B1, the reward and the two campaigns; (brand, reward, keeps, expires)."""
    from campaigns.models import Brand, Campaign, EventType, Reward

    brand = Brand.objects.create(id="B1", name="Read bench")
    reward = Reward.objects.create(
        brand=brand, name="Points", type="POINTS", decimals=2, attributes={"conversion_factor": "0.01"}
    )
    trigger = EventType.objects.get(pk="PURCHASE")

    def campaign(name, per, expiration):
        effect = {"reward_id": str(reward.pk), "kind": "PER_VALUE", "amount": 1, "per": per, "expiration": expiration}
        return Campaign.objects.create(
            brand=brand, name=name, trigger=trigger, start_date="2020-01-01T00:00:00Z",
            rules=[{"id": "r1", "conditions": [], "effects": [effect]}],
        )  # fmt: skip

    return brand, reward, campaign("points", 10, None), campaign("points that expire", 20, "30/days")


def history(*, customer_id: str, wallet_id, brand, reward, keeps, expires, rows: int, now: datetime) -> dict:
    """About `rows` ledger rows of two years of purchases of one customer, written set-based in
    one transaction (core.bulk) as the services would have written them; what was written."""
    from django.db import transaction

    from core.amounts import cost_of
    from core.bulk import Table, next_ids
    from core.clock import month_of
    from events.models import Event, EventTransition
    from wallets.models import MetricBucket, Transaction, WalletLine, WalletTotal

    rng = random.Random(11)
    factor = reward.conversion_factor
    L, T = WalletLine.State, Transaction.Type
    t_events = Table(
        Event, ["id", "customer_id", "brand_id", "type_id", "status", "fulfilled", "purchase_id", "data", "issued_at",
                "created_at", "resolved_at"],
    )  # fmt: skip
    t_moves = Table(EventTransition, ["event_id", "from_status", "to_status", "at", "source"])
    t_lines = Table(
        WalletLine, ["id", "wallet_id", "reward_id", "campaign_id", "rule_id", "brand_id", "event_id", "amount",
                     "remaining", "state", "issued_at", "expiration_date", "created_at", "updated_at"],
    )  # fmt: skip
    t_rows = Table(
        Transaction, ["type", "amount", "wallet_id", "reward_id", "line_id", "event_id", "campaign_id", "brand_id",
                      "cost", "created_at", "details"],
    )  # fmt: skip
    balance = Decimal(0)
    buckets: dict = {}
    open_lines: list[dict] = []  # AVAILABLE with something left, in the order a redemption takes them
    ids: list[int] = []
    written = 0
    counts: dict = defaultdict(int)

    def row(type_, amount, line, event_id, at, details="{}"):
        nonlocal balance, written
        t_rows.add(type_, amount, wallet_id, reward.pk, line["id"], event_id, line["campaign"], brand.pk,
                   cost_of(amount, factor), at, details)  # fmt: skip
        balance += amount
        written += 1
        counts[type_] += 1

    def close(line, state=L.AVAILABLE):
        if state == L.AVAILABLE and line["remaining"] == 0 and line["expires"] and line["expires"] <= now:
            state, line["updated"] = L.EXPIRED, line["expires"]  # spent, then the sweep passed at its date
        t_lines.add(line["id"], wallet_id, reward.pk, line["campaign"], "r1", brand.pk, line["event"], line["amount"],
                    line["remaining"], state, line["issued"], line["expires"], line["issued"], line["updated"])  # fmt: skip

    def take(amount, event_id, at):
        """A redemption of `amount`: soonest expiration first (never last), then oldest."""
        open_lines.sort(key=lambda x: (x["expires"] is None, x["expires"] or at, x["issued"], x["id"]))
        while amount > 0:
            line = open_lines[0]
            part = min(amount, line["remaining"])
            line["remaining"] -= part
            line["updated"] = at
            amount -= part
            row(T.REDEMPTION, -part, line, event_id, at, '{"place": "redeem"}')
            if line["remaining"] == 0:
                close(open_lines.pop(0))

    start = now - 730 * DAY
    at = start
    step = (now - 2 * DAY - start) / (rows / 3.8)  # about 3.8 rows per purchase
    next_redeem = start + 5 * DAY

    def sweep(at):
        """The expiry sweep passed at each line's date: what is left of it expires."""
        for line in [x for x in open_lines if x["expires"] is not None and x["expires"] <= at]:
            open_lines.remove(line)
            row(T.EXPIRATION, -line["remaining"], line, line["event"], line["expires"])
            line["remaining"], line["updated"] = Decimal(0), line["expires"]
            close(line, L.EXPIRED)

    with transaction.atomic():
        while written < rows - 4:
            at += step * (0.5 + rng.random())
            sweep(at)
            eid = uuid.uuid4()
            value = Decimal(rng.randrange(2000, 30000)).scaleb(-2)
            spendable = sum((x["remaining"] for x in open_lines), Decimal(0))
            redeem = None
            if at >= next_redeem and spendable > 1:
                redeem = (spendable * Decimal(rng.choice((1, 0.6, 0.3)))).quantize(CENT, rounding=ROUND_DOWN)
                # mostly within a week, at times after a break long enough for lines to expire
                gap = rng.expovariate(1 / 5) if rng.random() < 0.6 else rng.uniform(35, 80)
                next_redeem = at + gap * DAY
            data = {"order": {"purchase_id": f"h-{eid.hex[:12]}", "value": float(value)}}
            if redeem:
                data["redeem"] = [{"id": str(reward.pk), "amount": float(redeem)}]
                take(redeem, eid, at)
            t_events.add(eid, customer_id, brand.pk, "PURCHASE", Event.Status.RESOLVED, True,
                         data["order"]["purchase_id"], json.dumps(data), at, at, at)  # fmt: skip
            t_moves.add(eid, "", Event.Status.RESOLVED, at, EventTransition.Source.API)
            for campaign, per, life in ((keeps, 10, None), (expires, 20, 30 * DAY)):
                amount = (value / per).quantize(CENT, rounding=ROUND_DOWN)
                if not ids:
                    ids = next_ids(WalletLine, 10_000)[::-1]
                line = {"id": ids.pop(), "campaign": campaign.pk, "event": eid, "amount": amount, "remaining": amount,
                        "issued": at, "updated": at, "expires": at + life if life else None}  # fmt: skip
                row(T.ACCUMULATION, amount, line, eid, at)
                open_lines.append(line)
            b = buckets.setdefault(month_of(at), [0, Decimal(0), at])
            b[0], b[1], b[2] = b[0] + 1, b[1] + value, at
            counts["events"] += 1
        # The last redemption of the history: everything but 1.00 of the newest line.
        at += step
        sweep(at)
        eid = uuid.uuid4()
        spendable = sum((x["remaining"] for x in open_lines), Decimal(0))
        data = {"order": {"purchase_id": f"h-{eid.hex[:12]}", "value": 10.0}, "redeem": [
            {"id": str(reward.pk), "amount": float(spendable - 1)}]}  # fmt: skip
        take(spendable - 1, eid, at)
        t_events.add(eid, customer_id, brand.pk, "PURCHASE", Event.Status.RESOLVED, True, data["order"]["purchase_id"],
                     json.dumps(data), at, at, at)  # fmt: skip
        t_moves.add(eid, "", Event.Status.RESOLVED, at, EventTransition.Source.API)
        b = buckets.setdefault(month_of(at), [0, Decimal(0), at])
        b[0], b[1], b[2] = b[0] + 1, b[1] + Decimal(10), at
        counts["events"] += 1
        for line in open_lines:
            close(line)
        for table in (t_events, t_moves, t_lines, t_rows):
            table.write()
        t_totals = Table(WalletTotal, ["wallet_id", "reward_id", "balance"])
        t_totals.add(wallet_id, reward.pk, balance)
        t_totals.write()
        t_buckets = Table(
            MetricBucket,
            ["customer_id", "month", "brand_id", "number_of_purchases", "spend_total", "events", "last_visit"],
        )
        for month, (n, spend, last) in buckets.items():
            t_buckets.add(customer_id, month, brand.pk, n, spend, json.dumps({"PURCHASE": n}), last)
        t_buckets.write()
    return {**counts, "rows": written, "lines": t_lines.count, "buckets": t_buckets.count, "live": len(open_lines)}


def tail(client, key: str, customer_id: str, tag: str) -> None:
    """The same few events for each customer, through the API."""
    from campaigns.models import Reward

    reward = str(Reward.objects.get(name="Points").pk)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    for i, (value, extra) in enumerate(
        [("120.00", {}), ("80.00", {}), ("64.00", {}), ("50.00", {"redeem": [{"id": reward, "amount": 10}]}),
         ("40.00", {"fulfilled": False})]
    ):  # fmt: skip
        body = {"customer_id": customer_id, "brand_id": "B1", "type": "PURCHASE",
                "order": {"purchase_id": f"{tag}-{i}", "value": value, "payment_method": "CREDIT"}, **extra}  # fmt: skip
        response = client.post("/api/v1/behavior/events", body, content_type="application/json", **headers)
        if response.status_code != 201:
            raise SystemExit(f"emit answered {response.status_code}: {response.content[:500]!r}")


def timed_reads(port: int, key: str, ids: list[str], requests: int, warm: int = 30) -> dict[str, list[float]]:
    """`GET /customers/{id}` on one keep-alive connection, the customers alternated; seconds each."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"authorization": f"Bearer {key}"}
    took: dict[str, list[float]] = {cid: [] for cid in ids}
    sizes = {}
    for i in range(warm + requests):
        for cid in ids if i % 2 else ids[::-1]:
            start = time.perf_counter()
            conn.request("GET", f"/api/v1/customers/{cid}", headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - start
            if response.status != 200:
                raise SystemExit(f"GET answered {response.status}: {body[:300]!r}")
            sizes[cid] = len(body)
            if i >= warm:
                took[cid].append(elapsed)
    conn.close()
    took["sizes"] = sizes
    return took


def timed_in_process(client, key: str, ids: list[str], requests: int, warm: int = 30) -> dict[str, list[float]]:
    """The same reads through Django's test client in this process (no server, no new database
    connection per request): the read path alone; seconds each."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    took: dict[str, list[float]] = {cid: [] for cid in ids}
    for i in range(warm + requests):
        for cid in ids if i % 2 else ids[::-1]:
            start = time.perf_counter()
            response = client.get(f"/api/v1/customers/{cid}", **headers)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"GET answered {response.status_code}: {response.content[:300]!r}")
            if i >= warm:
                took[cid].append(elapsed)
    return took


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def explain(client, key: str, customer_id: str) -> None:
    """The SQL of one read, each SELECT with EXPLAIN (ANALYZE, BUFFERS)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    client.get(f"/api/v1/customers/{customer_id}", **headers)  # warm: the key cache
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/customers/{customer_id}", **headers)
    assert response.status_code == 200, response.content[:300]
    print(f"\nSQL of `GET /customers/{customer_id}` ({len(ctx.captured_queries)} statements):")
    with connection.cursor() as cursor:
        for n, q in enumerate(ctx.captured_queries, 1):
            print(f"\n{n}. ({float(q['time']) * 1000:.2f} ms) {q['sql']}")
            if q["sql"].lstrip().upper().startswith("SELECT"):
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {q['sql']}")
                for (line,) in cursor.fetchall():
                    print(f"     {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="ledger rows of the big customer (about)")
    parser.add_argument("--requests", type=int, default=400, help="timed reads of each customer")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()
    url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["CACHE_URL"] = CACHE_URL
    os.environ["CELERY_BROKER_URL"] = BROKER_URL
    ensure_database(url)
    print(f"read_bench: {os.cpu_count()} cores; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {load()}")
    bench_database("unused.sqlite3")
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from campaigns.services.programme import api_key_create
    from wallets.models import Customer, Transaction, WalletLine
    from wallets.services import customer_register

    cache.clear()
    now = datetime.now(UTC)
    brand, reward, keeps, expires = programme()
    for cid in ("small", "big"):
        customer_register(id=cid, record_event=False)
    big = Customer.objects.select_related("wallet").get(pk="big")
    t0 = time.monotonic()
    seeded = history(customer_id="big", wallet_id=big.wallet.pk, brand=brand, reward=reward, keeps=keeps,
                     expires=expires, rows=args.rows, now=now)  # fmt: skip
    print(f"history of `big` written in {time.monotonic() - t0:.1f} s: {seeded}")
    _key, key = api_key_create(name="read bench")
    client = Client()
    for cid in ("small", "big"):
        tail(client, key, cid, f"t-{cid}")
    with_rows = {}
    for cid in ("small", "big"):
        wallet = Customer.objects.get(pk=cid).wallet
        with_rows[cid] = Transaction.objects.filter(wallet=wallet).count()
        live = WalletLine.objects.filter(wallet=wallet, state="AVAILABLE", remaining__gt=0).count()
        print(f"  {cid}: {with_rows[cid]:,} ledger rows, {WalletLine.objects.filter(wallet=wallet).count():,} "
              f"lines ({live} spendable)")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have by then

    server, port, env = gunicorn_server(url, WEB_CONCURRENCY=os.environ.get("WEB_CONCURRENCY", "1"))
    try:

        def up() -> bool:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/v1/customers/small", headers={"authorization": f"Bearer {key}"})
                return conn.getresponse().status == 200
            except OSError:
                return False

        wait_until(up, 60, "gunicorn", server)
        print(f"gunicorn on port {port}, {env['WEB_CONCURRENCY']} worker(s); load average {load()}")
        took = timed_reads(port, key, ["small", "big"], args.requests)
    finally:
        server.stop()

    sizes = took.pop("sizes")
    local = timed_in_process(client, key, ["small", "big"], args.requests)
    print(f"\nFigures ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {load()} at the end), "
          f"{args.requests} reads of each:\n")  # fmt: skip
    print("| customer | ledger rows | response bytes | gunicorn: median ms | p95 ms | in process: median ms | p95 ms |")
    print("|---|---|---|---|---|---|---|")
    fig = {}
    for cid in ("small", "big"):
        fig[cid] = [
            f(v[cid]) for v in (took, local) for f in (lambda x: statistics.median(x) * 1000, lambda x: p(x, 95))
        ]
        ms = " | ".join(f"{x:.2f}" for x in fig[cid])
        print(f"| {cid} | {with_rows[cid]:,} | {sizes[cid]:,} | {ms} |")
    ratios = " | ".join(f"{b / s:.2f}" for b, s in zip(fig["big"], fig["small"], strict=True))
    print(f"| ratio big / small (target <= 1.5) | {with_rows['big'] / with_rows['small']:,.0f} "
          f"| {sizes['big'] / sizes['small']:.2f} | {ratios} |")  # fmt: skip
    if not args.no_explain:
        explain(client, key, "big")
    print("\nverify_ledger:")
    sys.stdout.flush()
    call_command("verify_ledger")


if __name__ == "__main__":
    main()
