"""Issue 11, item 6: a gunicorn worker's resident memory stays within 10% over 100,000 emits.

    .venv/bin/python bench/memory_bench.py [--emits 100000] [--warmup 2000] [--every 10000] [--threads 4]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/loyalty_wb .venv/bin/python bench/memory_bench.py --emits 20000

PostgreSQL only (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/loyalty_wb:
created if missing, flushed first); Redis BENCH_CACHE_URL (default DB 6, cleared first) and
BENCH_BROKER_URL (default DB 7).

1. Seeds, through the services, the programme of bench/http_bench.py (brand B1, one POINTS reward,
   one PER_VALUE campaign that every purchase matches), `--customers` customers (bench-0 ...) and
   an API key.
2. Starts gunicorn as bench/http_bench.py does (config/gunicorn.conf.py: the configured worker
   class and threads, config.settings.bench: production's settings) with WEB_CONCURRENCY=1, so
   one worker (the master's only child) serves every request.
3. `--warmup` emits, then reads the worker's VmRSS (/proc/<pid>/status), then `--emits` emits
   (`POST /behavior/events`, fulfilled, a purchase of 120 with three products, a random
   customer, a unique purchase id each) from `--threads` threads, each on its own keep-alive
   connection (http.client), reading VmRSS every `--every` emits. Prints the start, the samples,
   the end and the growth in % (the target: at most 10%), with the rate and any non-201 answer.
   With `--max-minutes`, it stops at the first sample past that time (on a machine too loaded to
   finish) and reports what it reached.
4. Stops the server and runs `manage.py verify_ledger`.

Prints figures, asserts nothing (bench/README.md).
"""

import argparse
import http.client
import json
import os
import random
import secrets
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from benchdb import bench_database, per_value_programme
from import_bench import ensure_database
from webhook_bench import gunicorn_server, wait_until

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/loyalty_wb"
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/6")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/7")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Client:
    """One keep-alive connection that emits purchases with unique ids."""

    def __init__(self, port: int, key: str, customers: int, tag: str, seed: int):
        self.port, self.customers, self.tag = port, customers, tag
        self.headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        self.rng = random.Random(seed)
        self.conn = None
        self.sent = 0

    def emit(self) -> int:
        self.sent += 1
        body = json.dumps({
            "customer_id": f"bench-{self.rng.randrange(self.customers)}", "brand_id": "B1", "type": "PURCHASE",
            "order": {"purchase_id": f"{self.tag}-{self.sent}", "value": "120.00", "payment_method": "CREDIT",
                      "products": [{"sku": "LATTE", "amount": 2, "value": "60.00"},
                                   {"sku": "MUFFIN", "amount": 1, "value": "35.00"},
                                   {"sku": "JUICE", "amount": 1, "value": "25.00"}]},
        })  # fmt: skip
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request("POST", "/api/v1/behavior/events", body=body, headers=self.headers)
            response = self.conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException) as exc:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return type(exc).__name__


def drive(clients: list[Client], count: int, statuses: Counter) -> float:
    """`count` emits shared among the clients' threads; seconds taken."""
    lock = threading.Lock()
    left = [count]

    def run(client):
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            status = client.emit()
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - start


def seed(customers: int) -> str:
    from django.db import transaction

    from campaigns.services.programme import api_key_create
    from wallets.services import customer_register

    per_value_programme("bench points")
    with transaction.atomic():
        for i in range(customers):
            customer_register(id=f"bench-{i}", record_event=False)
    _key, raw = api_key_create(name="memory bench")
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emits", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--every", type=int, default=10_000, help="emits between two RSS samples")
    parser.add_argument("--threads", type=int, default=4, help="client threads (keep-alive connections)")
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument(
        "--max-minutes", type=float, default=None, help="stop at the first sample after this long (a loaded machine)"
    )
    args = parser.parse_args()
    url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["CACHE_URL"] = CACHE_URL
    os.environ["CELERY_BROKER_URL"] = BROKER_URL
    ensure_database(url)
    started = datetime.now(UTC)
    print(f"memory_bench: {os.cpu_count()} cores; {started:%Y-%m-%d %H:%M} UTC; load average {load()}")
    bench_database("unused.sqlite3")
    from django.core.cache import cache
    from django.core.management import call_command

    cache.clear()
    t0 = time.monotonic()
    key = seed(args.customers)
    print(f"seeded {args.customers:,} customers in {time.monotonic() - t0:.1f} s")

    server, port, env = gunicorn_server(url, WEB_CONCURRENCY="1")
    tag = secrets.token_hex(3)
    clients = [Client(port, key, args.customers, f"m{tag}-{n}", seed=n) for n in range(args.threads)]
    statuses: Counter = Counter()
    samples = []
    try:
        wait_until(lambda: len(children(server.proc.pid)) == 1 and clients[0].emit() == 201, 60, "gunicorn", server)
        (worker,) = children(server.proc.pid)
        print(f"gunicorn on port {port}: master {server.proc.pid}, worker {worker}; {args.threads} client threads")
        took = drive(clients, args.warmup, statuses)
        print(f"  warm-up: {args.warmup:,} emits in {took:.1f} s ({args.warmup / took:.0f}/s), {dict(statuses)}")
        statuses.clear()
        start_rss = rss_kib(worker)
        samples.append((0, start_rss, 0.0, load()))
        done, began = 0, time.monotonic()
        while done < args.emits:
            if args.max_minutes is not None and time.monotonic() - began > args.max_minutes * 60:
                print(f"  stopped after {args.max_minutes:g} minutes (--max-minutes): {done:,} of {args.emits:,} emits")
                break
            n = min(args.every, args.emits - done)
            took = drive(clients, n, statuses)
            done += n
            samples.append((done, rss_kib(worker), n / took, load()))
            print(f"  {done:,} emits: RSS {samples[-1][1] / 1024:.1f} MiB, {n / took:.0f}/s, load {samples[-1][3]}")
            sys.stdout.flush()
        if children(server.proc.pid) != [worker]:
            print(f"  the worker was replaced: children now {children(server.proc.pid)}")
    finally:
        for client in clients:
            if client.conn is not None:
                client.conn.close()
        server.stop()

    end_rss = samples[-1][1]
    print(f"\nFigures ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {load()} at the end):\n")
    print("| emits after the warm-up | worker VmRSS MiB | growth since the start | emits/s | load average |")
    print("|---|---|---|---|---|")
    for n, rss, rate, avg in samples:
        print(f"| {n:,} | {rss / 1024:.1f} | {(rss - start_rss) / start_rss * 100:+.1f}% | "
              f"{f'{rate:.0f}' if n else '(start)'} | {avg} |")  # fmt: skip
    peak = max(rss for _n, rss, _r, _a in samples)
    print(f"\nstart {start_rss / 1024:.1f} MiB, end {end_rss / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB: "
          f"growth **{(end_rss - start_rss) / start_rss * 100:+.1f}%** (target <= 10%); answers {dict(statuses)}")  # fmt: skip
    print("\nverify_ledger:")
    sys.stdout.flush()
    call_command("verify_ledger")


if __name__ == "__main__":
    main()
